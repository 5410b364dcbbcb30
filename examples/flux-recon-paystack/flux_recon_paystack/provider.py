"""Paystack's webhook: its auth declaration, and charges and refunds mapped onto notices."""

from __future__ import annotations

import datetime as dt

from flux_recon import (
    CredentialField,
    HeaderHmac,
    Ignored,
    IpAllowlist,
    NoticeKind,
    OptionField,
    OptionsError,
    Payer,
    PayloadError,
    PaymentMethod,
    PaymentNotice,
    Provider,
    Unrecognized,
    api_base_url_problems,
    secret_of,
    to_minor,
)

from .api import BASE_URL_OPTION, DEFAULT_BASE_URL, PaystackSettlementApi
from .fields import PaystackFields
from .samples import sample_payloads
from .settlements import PaystackPayoutExport

SECRET_KEY = "secret_key"  # noqa: S105 - the credential field's name, not a secret
# Paystack's published webhook source addresses (the same for test and live mode).
PAYSTACK_ADDRESSES = ("52.31.139.75/32", "52.49.173.169/32", "52.214.14.220/32")

CHARGE_SUCCESS = "charge.success"
REFUND_PROCESSED = "refund.processed"
# A Paystack reference is at most 100 characters; a refund's id adds ":refund:<id>".
MAX_REFERENCE = 100
MAX_REFUND_ID = 60

_DISPUTE = "a dispute moves no money until its refund is processed"
_OWN_CHARGE = "its payment arrives as its own charge.success"
_REFUND_NOT_YET = "only a processed refund (refund.processed) takes money back"
_PAYOUT = "a transfer is a payout from the merchant's balance, not a customer payment"

# Paystack's documented events (paystack.com/docs/payments/webhooks, "Types of events") that
# move no customer money into or out of a payment: acknowledged (200) so Paystack stops
# retrying, kept in the inbox with the reason. Any other event is unrecognized, never ignored.
NO_MONEY = {
    "charge.dispute.create": _DISPUTE,
    "charge.dispute.remind": _DISPUTE,
    "charge.dispute.resolve": _DISPUTE,
    "customeridentification.failed": "customer identification carries no payment",
    "customeridentification.success": "customer identification carries no payment",
    "dedicatedaccount.assign.failed": "assigning a dedicated account carries no payment",
    "dedicatedaccount.assign.success": "assigning a dedicated account carries no payment",
    "invoice.create": _OWN_CHARGE,
    "invoice.payment_failed": _OWN_CHARGE,
    "invoice.update": _OWN_CHARGE,
    "paymentrequest.pending": _OWN_CHARGE,
    "paymentrequest.success": _OWN_CHARGE,
    "refund.failed": _REFUND_NOT_YET,
    "refund.pending": _REFUND_NOT_YET,
    "refund.processing": _REFUND_NOT_YET,
    "subscription.create": _OWN_CHARGE,
    "subscription.disable": _OWN_CHARGE,
    "subscription.enable": _OWN_CHARGE,
    "subscription.expiring_cards": _OWN_CHARGE,
    "subscription.not_renew": _OWN_CHARGE,
    "transfer.failed": _PAYOUT,
    "transfer.reversed": _PAYOUT,
    "transfer.success": _PAYOUT,
}
EVENT_TYPES = {CHARGE_SUCCESS: "payment", REFUND_PROCESSED: "refund", **dict.fromkeys(NO_MONEY, "no_money")}
# Statuses Paystack documents for a transaction and a refund that mean no money moved.
CHARGE_NOT_PAID = ("failed", "abandoned")
REFUND_NOT_DONE = ("pending", "processing", "failed")

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
        "Paystack webhooks: charge.success records a payment, refund.processed a refund; Paystack's other "
        "documented events are acknowledged and ignored, any other is kept as unrecognized. Sent from "
        "Paystack's published addresses with header x-paystack-signature "
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
    event_types = EVENT_TYPES
    # Paystack retries a non-200 answer for 72 hours; a retry of an event this plugin cannot read
    # would fail the same way, and the inbox keeps it for a replay: answered 200.
    unrecognized_status = 200
    statement_formats = (PaystackPayoutExport(),)
    option_fields = (
        OptionField(
            BASE_URL_OPTION,
            "Paystack API base URL",
            default=DEFAULT_BASE_URL,
            description="for settlement pulls (GET /settlement, /settlement/:id/transactions with the secret key)",
        ),
    )
    settlement_api = PaystackSettlementApi(CHANNELS)

    @classmethod
    def validate_options(cls, options):
        checked = super().validate_options(options)
        problems = api_base_url_problems(checked.get(BASE_URL_OPTION) or DEFAULT_BASE_URL)
        if problems:
            raise OptionsError("invalid integration options", {BASE_URL_OPTION: problems})
        return checked

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
        if event in NO_MONEY:
            return Ignored(f"{event}: {NO_MONEY[event]}")
        return Unrecognized(f"{event[:80]!r} is not a Paystack event this plugin knows")

    @classmethod
    def sample_payloads(cls):
        return sample_payloads()


def _charge(payload: dict) -> list[PaymentNotice] | Ignored | Unrecognized:
    """Money received. ``data.reference`` is the key: it is what a later refund names."""
    data = PaystackFields(payload).nested("data")
    status = data.text("status")
    if status is not None and status.lower() in CHARGE_NOT_PAID:
        return Ignored(f"charge.success with status {status[:40]!r}: no money arrived")
    if status is not None and status.lower() != "success":
        return Unrecognized(f"charge.success with status {status[:40]!r}, which this plugin does not know")
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


def _refund(payload: dict) -> list[PaymentNotice] | Ignored | Unrecognized:
    """Money sent back from a payment, which Paystack names by its reference."""
    data = PaystackFields(payload).nested("data")
    status = data.text("status")
    if status is not None and status.lower() in REFUND_NOT_DONE:
        return Ignored(f"refund.processed with status {status[:40]!r}: nothing was taken back yet")
    if status is not None and status.lower() != "processed":
        return Unrecognized(f"refund.processed with status {status[:40]!r}, which this plugin does not know")
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
