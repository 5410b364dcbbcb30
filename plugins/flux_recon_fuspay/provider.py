"""Fuspay (IntraPay P2P) collection notifications mapped onto payment notices."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flux_recon import (
    CredentialField,
    Fields,
    Ignored,
    IpAllowlist,
    MoneyError,
    NoticeKind,
    NoticeStatus,
    OptionField,
    OptionsError,
    PayloadError,
    PaymentMethod,
    PaymentNotice,
    Provider,
    Unrecognized,
    normalize_currency,
    parse_decimal,
    to_minor,
    utc_time,
)

from . import remote
from .signature import (
    BASE_URL_OPTION,
    LOCAL,
    MERCHANT_CREDENTIAL,
    PARTNER_CREDENTIAL,
    REMOTE,
    VERIFICATION_OPTION,
    FuspaySignature,
    is_payout,
)

DEFAULT_CURRENCY = "NGN"

# Fuspay's own spellings; the wire values are matched case-insensitively.
PAYMENT_STATUSES = ("Pending", "Paid", "Refund")
ORDER_STATUSES = ("Pending", "Completed", "Mismatched", "Expired", "Abandoned", "Claimed")
# What an order status says about the money when the notification gives no payment status.
# Claimed: the buyer says they have paid and Fuspay has not confirmed it yet.
PAYMENT_STATUS_OF_ORDER = {"Pending": "Pending", "Claimed": "Pending", "Completed": "Paid", "Mismatched": "Paid"}
# Orders that closed without a payment: a notification about one with nothing paid is ignored.
UNPAID_ORDER_STATUSES = ("Expired", "Abandoned")
# The flat form has one status field, which may hold either vocabulary ("Pending" is in both).
FLAT_STATUSES = PAYMENT_STATUSES + tuple(s for s in ORDER_STATUSES if s not in PAYMENT_STATUSES)
INVALID = "not a valid Fuspay collection notification"
# Every status this adapter knows, with what it carries (GET /providers, README): the payment
# status first, the order status when there is none. Any other value is Unrecognized.
EVENT_TYPES = {
    "Paid": "payment",
    "Pending": "payment",  # recorded as pending, never allocated
    "Refund": "refund",
    "Completed": "payment",
    "Mismatched": "payment",
    "Claimed": "payment",  # pending: the buyer says they paid
    "Expired": "no_money",
    "Abandoned": "no_money",
    "payout": "no_money",  # a withdrawal_reference: money leaving the merchant, never a collection
}
ACCOUNT = "data.payment.virtual_account"
# Epoch milliseconds below this (March 1973) are almost certainly seconds sent by mistake.
MIN_EPOCH_MS = 10**11
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Wire:
    """The fields of either wire form, with the paths to name in an error."""

    payment_status: str | None
    order_status: str | None
    status_path: str
    partner_order_id: str | None
    intrapay_reference: str | None
    id_paths: tuple[str, str]
    amount: object
    amount_path: str
    destination: str | None
    method: PaymentMethod
    # Objects to search, in order, for currency and time.
    places: tuple[Fields, ...]


class FuspayProvider(Provider):
    name = "fuspay"
    title = "Fuspay (IntraPay P2P)"
    description = (
        "Fuspay IntraPay P2P collection-order payment notifications. Body field signature = lowercase hex "
        "HMAC-SHA512 over the canonical JSON of the body without the signature field; the key is the merchant "
        "secret followed by the partner secret (payout notifications: the merchant secret alone; they are ignored)."
    )
    auth = (IpAllowlist(), FuspaySignature())
    credentials = (
        CredentialField(
            MERCHANT_CREDENTIAL,
            "Merchant secret",
            description="IntraPay dashboard: the partner mapping screen (click your name in the partner list); "
            "one per currency wallet",
        ),
        CredentialField(
            PARTNER_CREDENTIAL,
            "Partner secret",
            description="your partner secret key (sk_partner_...) from Fuspay partner onboarding",
        ),
    )
    # Fuspay publishes no fixed source addresses: add the ones Fuspay gives you.
    default_allowlist = ()
    option_fields = (
        OptionField(
            VERIFICATION_OPTION,
            "How the signature is verified",
            default=LOCAL,
            choices=(LOCAL, REMOTE),
            description="local: computed here (Fuspay's algorithm as inferred, see the plugin README); remote: "
            "Fuspay's own signing endpoint signs the body and the signatures are compared (Fuspay's documented "
            "method; each webhook then waits on that endpoint, and answers 503 when it cannot be reached)",
        ),
        OptionField(
            BASE_URL_OPTION,
            "Fuspay signing endpoint base URL",
            default=remote.DEFAULT_BASE_URL,
            description=f"remote mode posts to <this>{remote.SIGNING_PATH}; https (http only to a loopback address)",
        ),
    )
    event_types = EVENT_TYPES
    # Fuspay documents no retry schedule; an unrecognized notification is kept in the inbox
    # for replay once the adapter knows it, so it is acknowledged rather than resent.
    unrecognized_status = 200

    @classmethod
    def validate_options(cls, options):
        checked = super().validate_options(options)
        problems = remote.base_url_problems(checked.get(BASE_URL_OPTION) or remote.DEFAULT_BASE_URL)
        if problems:
            raise OptionsError("invalid integration options", {BASE_URL_OPTION: problems})
        return checked

    def parse(self, webhook):
        payload = webhook.payload
        if not isinstance(payload, dict):
            raise PayloadError("the body must be a JSON object")
        if is_payout(payload):
            return Ignored("payout notification: money leaving the merchant, not a collection")
        if not any(name in payload for name in ("data", "partner_order_id", "amount_to_collect")):
            # Neither form this adapter reads; signed by Fuspay, so it may be money.
            return Unrecognized(
                "neither Fuspay's payment notification (data.payment, data.order_details) "
                "nor a collection order (partner_order_id)"
            )
        fields = Fields(payload)
        try:
            wire = _read_wire(fields)
        except _UnknownStatus as unknown:
            return Unrecognized(f"{unknown.path} {unknown.value[:40]!r}: not a Fuspay status this adapter knows")
        meaning = _meaning(wire, fields) if wire else None
        if fields.errors or meaning is None:
            raise PayloadError(INVALID, fields.errors)
        if isinstance(meaning, Ignored):
            return meaning
        notice = _notice(wire, meaning, fields)
        if fields.errors or notice is None:
            raise PayloadError(INVALID, fields.errors)
        return notice if isinstance(notice, Ignored) else [notice]

    @classmethod
    def sample_payloads(cls):
        return copy.deepcopy(SAMPLE_PAYLOADS)


def _read_wire(fields: Fields) -> _Wire | None:
    if "data" in fields.data:
        return _nested(fields)
    if "partner_order_id" in fields.data or "amount_to_collect" in fields.data:
        return _flat(fields)
    fields.error("data", "is required: a notification has data.payment and data.order_details")
    return None


def _nested(fields: Fields) -> _Wire | None:
    """The payment notification posted to partner_callback_url: ``{status, message, data{...}, signature}``."""
    if not isinstance(fields.data["data"], dict):
        fields.error("data", "must be an object")
        return None
    data = fields.nested("data")
    if "order_details" in data.data and "Order_details" in data.data:
        data.error("Order_details", "give order_details or Order_details, not both")
    key = "order_details" if "order_details" in data.data or "Order_details" not in data.data else "Order_details"
    order = data.nested(key)
    payment = data.nested("payment")
    account = payment.nested("virtual_account")
    return _Wire(
        payment_status=_choice(payment, "status", PAYMENT_STATUSES),
        order_status=_choice(order, "status", ORDER_STATUSES),
        status_path="data.payment.status",
        partner_order_id=order.text("partner_order_id"),
        intrapay_reference=order.text("intrapay_order_reference"),
        id_paths=(order.where("intrapay_order_reference"), order.where("partner_order_id")),
        amount=account.data.get("amount"),
        amount_path=account.where("amount"),
        destination=account.text("account_number", max_length=64),
        method=PaymentMethod.BANK_TRANSFER,
        places=(order, payment, data, fields),
    )


def _flat(fields: Fields) -> _Wire:
    """The collection-order fields Fuspay signs for partners, with the order's ``status``."""
    status = _choice(fields, "status", FLAT_STATUSES)
    amount, amount_path = _flat_amount(fields, status)
    destination = fields.text("assigned_virtual_account_number", max_length=64)
    return _Wire(
        payment_status=status if status in PAYMENT_STATUSES else None,
        order_status=status if status not in PAYMENT_STATUSES else None,
        status_path="status",
        partner_order_id=fields.text("partner_order_id"),
        intrapay_reference=fields.text("intrapay_order_reference"),
        id_paths=("intrapay_order_reference", "partner_order_id"),
        amount=amount,
        amount_path=amount_path,
        destination=destination,
        method=PaymentMethod.BANK_TRANSFER if destination else PaymentMethod.OTHER,
        places=(fields,),
    )


def _flat_amount(fields: Fields, status: str | None) -> tuple[object, str]:
    """The amount actually paid: ``amount_paid`` or ``amount`` when given, else ``amount_to_collect``."""
    for name in ("amount_paid", "amount"):
        if fields.data.get(name) is not None:
            return fields.data[name], name
    if status == "Mismatched":
        # amount_to_collect is what the order asked for, which a Mismatched payment is not.
        fields.error("amount_paid", "is required when status is Mismatched: the amount actually paid")
    return fields.data.get("amount_to_collect"), "amount_to_collect"


class _UnknownStatus(Exception):
    """A status Fuspay may have added: the notification is Unrecognized, not refused."""

    def __init__(self, path: str, value: str):
        super().__init__(path)
        self.path = path
        self.value = value


def _choice(fields: Fields, name: str, allowed: tuple[str, ...]) -> str | None:
    """Fuspay's own spelling of a status matched case-insensitively; absent or "" is None.
    A text status outside ``allowed`` raises _UnknownStatus (it may mean money moved); a
    value that is not text at all is a field error."""
    value = fields.data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        fields.error(name, f"must be one of: {', '.join(allowed)}")
        return None
    for option in allowed:
        if value.strip().lower() == option.lower():
            return option
    raise _UnknownStatus(fields.where(name), value)


def _meaning(wire: _Wire, fields: Fields) -> str | Ignored | None:
    """What happened to the money: "Paid", "Pending" or "Refund"; Ignored when nothing was paid."""
    if wire.payment_status is None and wire.order_status is None:
        if wire.status_path not in fields.errors:
            fields.error(
                wire.status_path, "is required: the payment status (Pending, Paid, Refund) or the order status"
            )
        return None
    if wire.order_status in UNPAID_ORDER_STATUSES and wire.payment_status in (None, "Pending"):
        return Ignored(f"order {wire.order_status} with no confirmed payment: nothing was paid")
    return wire.payment_status or PAYMENT_STATUS_OF_ORDER[wire.order_status]


def _notice(wire: _Wire, meaning: str, fields: Fields) -> PaymentNotice | Ignored | None:
    currency = _currency(wire)
    amount = _amount(wire, currency, meaning, fields)
    if meaning == "Pending" and amount == 0 and not fields.errors:
        return Ignored("payment Pending: nothing has been paid into the virtual account yet")
    ids = _ids(wire, meaning, fields)
    occurred_at = _occurred_at(wire)
    if fields.errors or ids is None or amount is None or occurred_at is None:
        return None
    external_id, parent_external_id = ids
    return PaymentNotice(
        external_id=external_id,
        amount=amount,
        currency=currency,
        occurred_at=occurred_at,
        kind=NoticeKind.REFUND if meaning == "Refund" else NoticeKind.PAYMENT,
        status=NoticeStatus.PENDING if meaning == "Pending" else NoticeStatus.SUCCEEDED,
        method=wire.method,
        references=tuple(dict.fromkeys(r for r in (wire.partner_order_id, wire.intrapay_reference) if r)),
        destination_account=wire.destination,
        parent_external_id=parent_external_id,
        raw=fields.data,
    )


def _ids(wire: _Wire, meaning: str, fields: Fields) -> tuple[str, str | None] | None:
    """(external_id, parent_external_id).

    intrapay_order_reference names the collection order at Fuspay, so its Pending and Paid
    notifications are one payment moving forward; its refund is ``<reference>:refund``.
    Without it, partner_order_id (the merchant's own order id) is combined with the payment
    status: each Fuspay retry of a notification stays a duplicate, while a Pending, a Paid
    and a Refund notification of one order stay distinct records.
    """
    reference, order_id = wire.intrapay_reference, wire.partner_order_id
    if reference:
        return (f"{reference}:refund", reference) if meaning == "Refund" else (reference, None)
    if order_id:
        return (f"{order_id}:Refund", f"{order_id}:Paid") if meaning == "Refund" else (f"{order_id}:{meaning}", None)
    for path in wire.id_paths:
        if path not in fields.errors:
            fields.error(path, "is required: intrapay_order_reference, or at least partner_order_id")
    return None


def _currency(wire: _Wire) -> str:
    for place in wire.places:
        if place.data.get("currency") is not None:
            try:
                return normalize_currency(place.data["currency"])
            except MoneyError as exc:
                place.error("currency", str(exc))
                return DEFAULT_CURRENCY
    return DEFAULT_CURRENCY


def _amount(wire: _Wire, currency: str, meaning: str, fields: Fields) -> Decimal | None:
    """The amount paid; a Pending notification without one has nothing paid yet (zero)."""
    if wire.amount is None or wire.amount == "":
        if meaning == "Pending":
            return Decimal(0)
        fields.error(wire.amount_path, "is required")
        return None
    try:
        amount = parse_decimal(wire.amount)
        if amount < 0 or (amount == 0 and meaning != "Pending"):
            raise MoneyError("amount must be greater than zero")
        to_minor(amount, currency)  # refuse more decimals than the currency has, never round
        return amount
    except MoneyError as exc:
        fields.error(wire.amount_path, str(exc))
        return None


def _occurred_at(wire: _Wire) -> dt.datetime | None:
    """``timestamp`` (epoch milliseconds, GMT) or ``updated_at`` (ISO 8601), first found;
    None when the one found is not a time (its error is recorded).

    Fuspay's documented notification carries no time at all: it then happened when it
    arrived. Reading the clock is this adapter's only impure step.
    """
    for place in wire.places:
        if place.data.get("timestamp") is not None:
            return _epoch_ms(place, "timestamp")
    for place in wire.places:
        if place.data.get("updated_at") is not None:
            # Without an offset, GMT: Fuspay documents its times so.
            return place.time("updated_at", example="2026-11-22T09:15:03.568Z")
    return dt.datetime.now(dt.UTC)


def _epoch_ms(fields: Fields, name: str) -> dt.datetime | None:
    value = fields.data[name]
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 16):
        fields.error(name, "must be whole epoch milliseconds, e.g. 1795338903000")
        return None
    milliseconds = int(text)
    if milliseconds < MIN_EPOCH_MS:
        fields.error(name, "must be epoch milliseconds, not seconds")
        return None
    try:
        return utc_time(EPOCH + dt.timedelta(milliseconds=milliseconds))
    except OverflowError:
        fields.error(name, "is too far in the future")
    except ValueError as exc:
        fields.error(name, str(exc))
    return None


def _notification(payment_status, order_status, amount, account_number, order_key="order_details", **order):
    """A nested sample: Fuspay's payment notification for one collection order."""
    return {
        "status": "success",
        "message": "Payment notification",
        "data": {
            "payment": {
                "status": payment_status,
                "virtual_account": {
                    "amount": amount,
                    "account_name": "FLUXVEND LTD-INTRAPAY",
                    "bank_name": "Wema Bank",
                    "account_number": account_number,
                },
            },
            order_key: {"status": order_status, **order},
        },
    }


SAMPLE_PAYLOADS = {
    "paid_completed": _notification(
        "Paid",
        "Completed",
        "15000.00",
        "9923456781",
        partner_order_id="INV-1001",
        intrapay_order_reference="IPR-7F3KQ9X2M1",
    ),
    "paid_mismatched": _notification(
        "Paid",
        "Mismatched",
        "12000.00",
        "9923456785",
        order_key="Order_details",
        partner_order_id="INV-1002",
        intrapay_order_reference="IPR-8H2LM4Z7Q5",
    ),
    "pending_claimed": _notification(
        "Pending",
        "Claimed",
        "15000.00",
        "9923456783",
        partner_order_id="INV-1003",
        intrapay_order_reference="IPR-2C9VN6T8W3",
    ),
    "refund": _notification(
        "Refund",
        "Completed",
        "15000.00",
        "9923456781",
        partner_order_id="INV-1001",
        intrapay_order_reference="IPR-7F3KQ9X2M1",
    ),
    "expired": _notification(
        "Pending",
        "Expired",
        "0.00",
        "9923456784",
        partner_order_id="INV-1004",
        intrapay_order_reference="IPR-5D1RB8K4P6",
    ),
    "collection_order": {
        "partner_order_id": "INV-1005",
        "intrapay_order_reference": "IPR-9J4WS2F7H8",
        "amount_to_collect": "25000.00",
        "currency": "NGN",
        "timestamp": 1795338903000,
        "order_expiration": "1795340703000",
        "intrapay_merchant_id": "intra_merchant_954512",
        "assigned_virtual_account_number": "9923456782",
        "partner_callback_url": "https://recon.example.com/webhooks/fuspay/your-integration-token",
        "partner_redirect_url": "https://shop.example.com/orders/INV-1005",
        "status": "Completed",
    },
    "payout": {
        "status": "COMPLETED",
        "message": "Payout notification",
        "withdrawal_reference": "P1795337103000KXYZab",
        "amount": "50000.00",
        "currency": "NGN",
        "channel": "BANK",
        "type": "CREDIT",
        "customer": {"accountName": "ADA OBI", "accountNumber": "0123456789"},
        "created_at": "2026-11-22T08:45:03.568Z",
        "updated_at": "2026-11-22T08:45:09.114Z",
    },
}


__all__ = ["FuspayProvider", "SAMPLE_PAYLOADS"]
