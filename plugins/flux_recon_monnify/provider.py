"""The Monnify webhook: its auth declaration and the mapping of each event onto PaymentNotices."""

from __future__ import annotations

from decimal import Decimal

from flux_recon import (
    CredentialField,
    Ignored,
    IpAllowlist,
    NoticeKind,
    NoticeStatus,
    OptionField,
    OptionsError,
    Payer,
    PayloadError,
    PaymentMethod,
    PaymentNotice,
    Provider,
    Unrecognized,
    api_base_url_problems,
)

from . import legacy
from .auth import MonnifySignature
from .fields import MonnifyFields
from .samples import sample_payloads
from .settlement import API_KEY, BASE_URL_OPTION, DEFAULT_BASE_URL, MonnifySettlementApi, settlement_notice

# Monnify's published webhook source address.
MONNIFY_ADDRESS = "35.242.133.146/32"

PAYMENT_EVENT = "SUCCESSFUL_TRANSACTION"
REFUND_EVENT = "SUCCESSFUL_REFUND"
REJECTED_EVENT = "REJECTED_PAYMENT"
SETTLEMENT_EVENT = "SETTLEMENT"

# Events that move no money into or out of a customer payment: acknowledged (200) so
# Monnify stops retrying, and kept in the inbox with the reason.
IGNORED_EVENTS = {
    "SUCCESSFUL_DISBURSEMENT": "a disbursement is money paid out, not a customer payment",
    "FAILED_DISBURSEMENT": "a disbursement is money paid out, not a customer payment",
    "REVERSED_DISBURSEMENT": "a disbursement is money paid out, not a customer payment",
    "FAILED_REFUND": "a failed refund returns no money, so the payment stands",
    "MANDATE_UPDATE": "a direct-debit mandate status change carries no payment",
    "ACCOUNT_ACTIVITY": "wallet activity is the merchant's own account, not a customer payment",
    "LOW_BALANCE_ALERT": "a wallet balance alert carries no payment",
}
# Refund statuses Monnify documents; only COMPLETED took money back.
REFUND_STATUSES = ("COMPLETED", "PENDING", "IN_PROGRESS", "FAILED")

# Every event this adapter knows and what it carries (GET /providers, README). Anything else
# is Unrecognized: kept, announced and replayable, never silently acknowledged.
EVENT_TYPES = {
    PAYMENT_EVENT: "payment",
    REFUND_EVENT: "refund",
    REJECTED_EVENT: "payment",  # recorded as a failed payment, never allocated
    legacy.EVENT: "payment",  # the flat v1 notification, which names no event type
    SETTLEMENT_EVENT: "settlement",
    **{event: "no_money" for event in IGNORED_EVENTS},
}

METHODS = {
    "CARD": PaymentMethod.CARD,
    "ACCOUNT_TRANSFER": PaymentMethod.BANK_TRANSFER,
    "BANK_TRANSFER": PaymentMethod.BANK_TRANSFER,
    "CASH": PaymentMethod.CASH,
    "USSD": PaymentMethod.USSD,
    # Monnify's checkout: "the customer enters their phone number to initiate a payment
    # session from their mobile wallet".
    "PHONE_NUMBER": PaymentMethod.WALLET,
    "WALLET": PaymentMethod.WALLET,
}

# paymentStatus of a SUCCESSFUL_TRANSACTION: money arrived in every one of these; an
# over- or underpayment is still the amount paid, and allocation shows the difference.
PAYMENT_STATUSES = {
    "PAID": NoticeStatus.SUCCEEDED,
    "OVERPAID": NoticeStatus.SUCCEEDED,
    "PARTIALLY_PAID": NoticeStatus.SUCCEEDED,
    "PENDING": NoticeStatus.PENDING,
}


class MonnifyProvider(Provider):
    name = "monnify"
    title = "Monnify"
    description = (
        "Monnify (Moniepoint) collection webhooks: successful transactions, refunds and rejected payments, "
        "and the legacy (v1) transaction notification. Sent from Monnify's published address; once the client "
        "secret is set, the monnify-signature header = hex HMAC-SHA512(client secret, raw body) is required, or "
        "for a legacy notification the body field transactionHash = hex SHA-512 of "
        "clientSecret|paymentReference|amountPaid|paidOn|transactionReference."
    )
    auth = (IpAllowlist(), MonnifySignature())
    credentials = (
        CredentialField(
            "client_secret",
            "Monnify client secret",
            required=False,
            description=(
                "the Secret Key under Developer > API Keys & Contracts in the Monnify dashboard; once set, "
                "every webhook must carry a valid monnify-signature header"
            ),
        ),
        CredentialField(
            API_KEY,
            "Monnify API key",
            required=False,
            description=(
                "the API Key under Developer > API Keys & Contracts; with the client secret it lets flux-recon "
                "fetch settlement transactions from Monnify's API (scheduled pulls)"
            ),
        ),
    )
    option_fields = (
        OptionField(
            BASE_URL_OPTION,
            "Monnify API base URL",
            default=DEFAULT_BASE_URL,
            description="for settlement pulls: https://api.monnify.com (live) or https://sandbox.monnify.com",
        ),
    )
    default_allowlist = (MONNIFY_ADDRESS,)
    event_types = EVENT_TYPES
    # Monnify documents no retry schedule to rely on; the inbox keeps an unrecognized
    # notification for replay, so it is acknowledged rather than left to be resent.
    unrecognized_status = 200
    settlement_api = MonnifySettlementApi(METHODS)

    @classmethod
    def validate_options(cls, options):
        checked = super().validate_options(options)
        problems = api_base_url_problems(checked.get(BASE_URL_OPTION) or DEFAULT_BASE_URL)
        if problems:
            raise OptionsError("invalid integration options", {BASE_URL_OPTION: problems})
        return checked

    def parse(self, webhook):
        payload = webhook.payload
        if not isinstance(payload, dict):
            raise PayloadError(
                "a Monnify webhook is a JSON object", {"body": ["must be an object with eventType and eventData"]}
            )
        if legacy.is_legacy(payload):
            return legacy.legacy_payment(payload, METHODS)
        if "eventType" not in payload and "eventData" not in payload:
            # Neither a v2 event nor a v1 notification (a v1 settlement, say): it may carry money.
            return Unrecognized(
                "neither a Monnify event (eventType, eventData) nor a legacy notification (transactionHash)"
            )
        event_type = _event_type(payload)
        if event_type in IGNORED_EVENTS:
            return Ignored(f"{event_type}: {IGNORED_EVENTS[event_type]}")
        mapper = MAPPERS.get(event_type)
        if mapper is None:
            # An event Monnify adds later may carry money: kept for a person and for replay
            # once this adapter knows it, never acknowledged as nothing.
            return Unrecognized(f"{event_type[:80]}: not a Monnify event type this adapter knows")
        root = MonnifyFields(payload)
        data = root.nested("eventData")
        if not data.data and "eventData" not in root.errors:
            root.error("eventData", "is required")
        return mapper(data, payload)

    @classmethod
    def sample_payloads(cls):
        return sample_payloads()


def _event_type(payload: dict) -> str:
    value = payload.get("eventType")
    if not isinstance(value, str) or not value.strip():
        raise PayloadError("the Monnify webhook has no eventType", {"eventType": ["is required"]})
    return value.strip().upper()


def _successful_transaction(data: MonnifyFields, payload: dict) -> list[PaymentNotice] | Unrecognized:
    """Money received: a card, transfer, USSD, cash or phone-number payment."""
    status = _payment_status(data)
    if isinstance(status, Unrecognized):
        return status
    external_id = data.text("transactionReference", required=True)
    currency = data.currency_or_naira()
    amount = data.amount("amountPaid", currency)
    settlement = data.amount("settlementAmount", currency, required=False, positive=False)
    occurred_at = data.monnify_time("paidOn")
    return _payment_notice(
        data,
        payload,
        PAYMENT_EVENT,
        external_id=external_id,
        amount=amount,
        currency=currency,
        occurred_at=occurred_at,
        status=status,
        fee=_fee(amount, settlement),
        settlement_amount=settlement,
    )


def _successful_refund(data: MonnifyFields, payload: dict) -> list[PaymentNotice] | Ignored | Unrecognized:
    """Money sent back to the customer from a payment (``transactionReference``)."""
    refund_status = data.text("refundStatus")
    if refund_status is not None and refund_status.upper() not in REFUND_STATUSES:
        return Unrecognized(f"{REFUND_EVENT} with refundStatus {refund_status[:40]}: not a status this adapter knows")
    if refund_status is not None and refund_status.upper() != "COMPLETED":
        # Only a completed refund took money back; releasing an allocation earlier would
        # reopen an order that is still paid.
        return Ignored(f"{REFUND_EVENT} with refundStatus {refund_status}: only a COMPLETED refund is applied")
    external_id = data.text("refundReference", required=True)
    parent_id = data.text("transactionReference", required=True)
    currency = data.currency_or_naira()
    amount = data.amount("refundAmount", currency)
    # completedOn is when the money went back; createdOn only when it was asked for.
    occurred_at = data.monnify_time("completedOn" if data.present("completedOn") else "createdOn")
    data.check(f"the Monnify {REFUND_EVENT} event is not valid")
    return [
        PaymentNotice(
            external_id=external_id,
            kind=NoticeKind.REFUND,
            parent_external_id=parent_id,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            raw=payload,
        )
    ]


def _rejected_payment(data: MonnifyFields, payload: dict) -> list[PaymentNotice] | Ignored:
    """A transfer Monnify refused (e.g. an underpayment) and sent back: recorded as failed."""
    external_id = data.text("transactionReference", required=True)
    currency = data.currency_or_naira()
    source = data.first_of_list_or_object("paymentSourceInformation")
    rejection = data.nested("paymentRejectionInformation")
    # What the customer actually sent (and got back); eventData.amount is what was expected.
    if source.present("amountPaid"):
        amount = source.amount("amountPaid", currency)
    else:
        amount = data.amount("amountPaid" if data.present("amountPaid") else "amount", currency)
    occurred_at = data.monnify_time(_first_present(data, ("created_on", "createdOn", "paidOn"), default="created_on"))
    return _payment_notice(
        data,
        payload,
        REJECTED_EVENT,
        rejection=rejection,
        external_id=external_id,
        amount=amount,
        currency=currency,
        occurred_at=occurred_at,
        status=NoticeStatus.FAILED,
    )


def _payment_notice(
    data: MonnifyFields, payload: dict, event: str, *, rejection: MonnifyFields | None = None, **notice
) -> list[PaymentNotice]:
    """A payment's notice: reads what every payment event carries (references, destination
    account, payer, method) after the caller's own fields, raises the event's field errors
    if any, and builds the notice from both. A rejected payment may name its destination
    account only in its ``rejection`` information."""
    references = _references(data)
    destination = data.nested("destinationAccountInformation").text("accountNumber", max_length=64)
    if rejection is not None:
        destination = destination or rejection.text("destinationAccountNumber", max_length=64)
    payer = _payer(data)
    method = _method(data)
    data.check(f"the Monnify {event} event is not valid")
    return [
        PaymentNotice(
            method=method,
            references=references,
            payer=payer,
            destination_account=destination,
            raw=payload,
            **notice,
        )
    ]


def _settlement(data: MonnifyFields, payload: dict):
    """Collected money paid out to the merchant's account, with the transactions it covers."""
    return settlement_notice(data, METHODS)


MAPPERS = {
    SETTLEMENT_EVENT: _settlement,
    PAYMENT_EVENT: _successful_transaction,
    REFUND_EVENT: _successful_refund,
    REJECTED_EVENT: _rejected_payment,
}


def _first_present(data: MonnifyFields, names: tuple[str, ...], *, default: str) -> str:
    return next((name for name in names if data.present(name)), default)


def _payment_status(data: MonnifyFields) -> NoticeStatus | Unrecognized | None:
    """The notice's status; Unrecognized for a status this adapter does not know (whatever
    else the event says: it may be money arriving in a way Monnify added later)."""
    if not data.present("paymentStatus"):
        return NoticeStatus.SUCCEEDED  # the event type itself says the money arrived
    raw = data.data["paymentStatus"]
    if not isinstance(raw, str):
        data.error("paymentStatus", f"must be a string, one of: {', '.join(PAYMENT_STATUSES)}")
        return None
    status = PAYMENT_STATUSES.get(raw.strip().upper())
    if status is None:
        return Unrecognized(
            f"{PAYMENT_EVENT} with {data.where('paymentStatus')} {raw.strip()[:40]!r}: "
            "not a payment status this adapter knows"
        )
    return status


def _references(data: MonnifyFields) -> tuple[str, ...]:
    """paymentReference and product.reference, best first.

    For a reserved account the payment reference is Monnify's own transaction reference
    and the product reference is the account's (the merchant's customer or order), so
    the product reference leads; elsewhere the payment reference is the merchant's own.
    """
    payment_reference = data.text("paymentReference")
    product = data.nested("product")
    product_reference = product.text("reference")
    ordered = [payment_reference, product_reference]
    if (product.text("type", max_length=64) or "").upper() == "RESERVED_ACCOUNT":
        ordered.reverse()
    return tuple(dict.fromkeys(r for r in ordered if r))


def _method(data: MonnifyFields) -> PaymentMethod:
    raw = data.text("paymentMethod", max_length=64)
    if raw is None:
        # A rejected payment names no method, but its payer is a bank account.
        source = data.first_of_list_or_object("paymentSourceInformation")
        return PaymentMethod.BANK_TRANSFER if source.present("accountNumber") else PaymentMethod.OTHER
    return METHODS.get(raw.upper(), PaymentMethod.OTHER)


def _payer(data: MonnifyFields) -> Payer:
    customer = data.nested("customer")
    source = data.first_of_list_or_object("paymentSourceInformation")
    email = customer.text("email", max_length=320)
    return Payer(
        name=customer.text("name") or source.text("accountName"),
        email=email.lower() if email else None,
        account_number=source.text("accountNumber", max_length=64),
        bank=source.text("bankName") or source.text("bankCode"),
    )


def _fee(amount: Decimal | None, settlement: Decimal | None) -> Decimal | None:
    """Monnify documents settlementAmount as "the amount paid minus the merchant's fee"."""
    if amount is None or settlement is None or settlement > amount:
        # Settled more than was paid: there is no merchant fee to derive.
        return None
    return amount - settlement


__all__ = ["EVENT_TYPES", "IGNORED_EVENTS", "METHODS", "MONNIFY_ADDRESS", "MonnifyProvider"]
