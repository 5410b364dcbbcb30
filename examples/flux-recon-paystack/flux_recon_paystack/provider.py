"""Paystack's webhook: its auth declaration, and charges and refunds mapped onto notices."""

from __future__ import annotations

import datetime as dt

from flux_recon import (
    CredentialField,
    HeaderHmac,
    Ignored,
    IpAllowlist,
    NoticeKind,
    Payer,
    PayloadError,
    PaymentMethod,
    PaymentNotice,
    Provider,
    secret_of,
    to_minor,
)

from .fields import PaystackFields
from .samples import sample_payloads

SECRET_KEY = "secret_key"  # noqa: S105 - the credential field's name, not a secret
# Paystack's published webhook source addresses (the same for test and live mode).
PAYSTACK_ADDRESSES = ("52.31.139.75/32", "52.49.173.169/32", "52.214.14.220/32")

CHARGE_SUCCESS = "charge.success"
REFUND_PROCESSED = "refund.processed"
# A Paystack reference is at most 100 characters; a refund's id adds ":refund:<id>".
MAX_REFERENCE = 100
MAX_REFUND_ID = 60

# Events that move no customer money into or out of a payment, by prefix: acknowledged
# (200) so Paystack stops retrying, kept in the inbox with the reason.
IGNORED = (
    ("refund.", "only a processed refund (refund.processed) takes money back"),
    ("transfer.", "a transfer is a payout from the merchant's balance, not a customer payment"),
    ("charge.dispute.", "a dispute moves no money until its refund is processed"),
    ("subscription.", "a subscription's payments arrive as their own charge.success"),
    ("invoice.", "an invoice's payment arrives as its own charge.success"),
    ("paymentrequest.", "a payment request's payment arrives as its own charge.success"),
    ("customeridentification.", "customer identification carries no payment"),
    ("dedicatedaccount.", "assigning a dedicated account carries no payment"),
)

CHANNELS = {
    "card": PaymentMethod.CARD,
    "pos": PaymentMethod.CARD,
    "bank": PaymentMethod.BANK_TRANSFER,
    "bank_transfer": PaymentMethod.BANK_TRANSFER,
    "dedicated_nuban": PaymentMethod.BANK_TRANSFER,
    "eft": PaymentMethod.BANK_TRANSFER,
    "ussd": PaymentMethod.USSD,
    "mobile_money": PaymentMethod.WALLET,
    "apple_pay": PaymentMethod.WALLET,
}


class PaystackProvider(Provider):
    name = "paystack"
    title = "Paystack"
    description = (
        "Paystack webhooks: charge.success records a payment, refund.processed a refund; other events are "
        "acknowledged and ignored. Sent from Paystack's published addresses with header x-paystack-signature "
        "= lowercase hex HMAC-SHA512 of the raw body, keyed with the secret key."
    )
    auth = (
        IpAllowlist(),
        HeaderHmac("x-paystack-signature", "sha512", "hex", keys=secret_of(SECRET_KEY)),
    )
    credentials = (
        CredentialField(
            SECRET_KEY,
            "Paystack secret key",
            description=(
                "Settings > API Keys & Webhooks in the Paystack dashboard: sk_live_... for live mode, sk_test_... "
                "for test mode (Paystack signs each mode's webhooks with that mode's key)"
            ),
        ),
    )
    default_allowlist = PAYSTACK_ADDRESSES

    def parse(self, webhook):
        payload = webhook.payload
        event = payload.get("event") if isinstance(payload, dict) else None
        if not isinstance(event, str) or not event.strip():
            raise PayloadError("not a Paystack event", {"event": ["is required: a Paystack event name"]})
        event = event.strip()
        if event == CHARGE_SUCCESS:
            return _charge(payload)
        if event == REFUND_PROCESSED:
            return _refund(payload)
        for prefix, reason in IGNORED:
            if event.startswith(prefix):
                return Ignored(f"{event[:80]}: {reason}")
        return Ignored(f"{event[:80]}: not an event this integration handles")

    @classmethod
    def sample_payloads(cls):
        return sample_payloads()


def _charge(payload: dict) -> list[PaymentNotice] | Ignored:
    """Money received. ``data.reference`` is the key: it is what a later refund names."""
    data = PaystackFields(payload).nested("data")
    status = data.text("status")
    if status is not None and status.lower() != "success":
        return Ignored(f"charge.success with status {status[:40]!r}: no money arrived")
    reference = data.text("reference", required=True, max_length=MAX_REFERENCE)
    currency = data.settlement_currency()
    amount = data.subunits("amount", currency)
    fee = data.quietly().subunits("fees", currency, required=False)  # a fee we cannot read blocks nothing
    occurred_at = data.first_time("paid_at", "paidAt")
    if occurred_at is None and not data.errors:
        data.error("paid_at", "is required")
    data.check("the Paystack charge.success event is not valid")
    authorization = data.nested("authorization")
    return [
        PaymentNotice(
            external_id=reference,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            method=CHANNELS.get((data.text("channel", max_length=40) or "").lower(), PaymentMethod.OTHER),
            references=(reference,),
            payer=_payer(data, authorization),
            destination_account=authorization.text("receiver_bank_account_number", max_length=64),
            fee=fee,
            raw=payload,
        )
    ]


def _refund(payload: dict) -> list[PaymentNotice] | Ignored:
    """Money sent back from a payment, which Paystack names by its reference."""
    data = PaystackFields(payload).nested("data")
    status = data.text("status")
    if status is not None and status.lower() != "processed":
        return Ignored(f"refund.processed with status {status[:40]!r}: nothing was taken back yet")
    parent = data.text("transaction_reference", required=True, max_length=MAX_REFERENCE)
    refund_id = data.text("refund_reference", max_length=MAX_REFUND_ID) or data.text("id", max_length=MAX_REFUND_ID)
    currency = data.settlement_currency()
    amount = data.subunits("amount", currency)
    # The refund event carries no time of its own in Paystack's examples: then it
    # happened when it arrived, the one clock read a parse may make.
    occurred_at = data.first_time("refunded_at", "updated_at", "updatedAt", "created_at", "createdAt")
    data.check("the Paystack refund.processed event is not valid")
    # Without a refund id, the amount tells two partial refunds apart; a retried event stays a duplicate.
    suffix = refund_id or str(to_minor(amount, currency))
    return [
        PaymentNotice(
            external_id=f"{parent}:refund:{suffix}",
            kind=NoticeKind.REFUND,
            parent_external_id=parent,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at or dt.datetime.now(dt.UTC),
            references=(parent,),
            payer=_payer(data, data.nested("authorization")),
            raw=payload,
        )
    ]


def _payer(data: PaystackFields, authorization: PaystackFields) -> Payer:
    customer = data.nested("customer")
    full_name = " ".join(n for n in (customer.text("first_name"), customer.text("last_name")) if n)
    email = customer.text("email", max_length=320)
    return Payer(
        name=full_name or authorization.text("sender_name") or authorization.text("account_name"),
        email=email.lower() if email else None,
        phone=customer.text("phone", max_length=40),
        customer_id=customer.text("customer_code", max_length=64),
        account_number=authorization.text("sender_bank_account_number", max_length=64),
        bank=authorization.text("sender_bank") or authorization.text("bank"),
    )


__all__ = ["PAYSTACK_ADDRESSES", "PaystackProvider"]
