"""Fuspay (IntraPay P2P) collection notifications mapped onto payment notices."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flux_recon import (
    CredentialField,
    Ignored,
    IpAllowlist,
    NoticeKind,
    NoticeStatus,
    PayloadError,
    PaymentMethod,
    PaymentNotice,
    Provider,
)
from flux_recon.money import MoneyError, normalize_currency, parse_decimal, to_minor
from flux_recon.providers import utc_time

from .signature import MERCHANT_CREDENTIAL, PARTNER_CREDENTIAL, FuspaySignature, is_payout

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
ACCOUNT = "data.payment.virtual_account"
# Epoch milliseconds below this (March 1973) are almost certainly seconds sent by mistake.
MIN_EPOCH_MS = 10**11
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class _Errors:
    """Collects field errors so one 422 names every problem at once."""

    def __init__(self):
        self.errors: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def object(self, container: dict, key: str, path: str) -> dict:
        value = container.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(path, "must be an object")
            return {}
        return value

    def text(self, container: dict, key: str, path: str, *, max_length: int = 200) -> str | None:
        value = container.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.add(path, "must be a string")
            return None
        value = str(value).strip()
        if len(value) > max_length:
            self.add(path, f"must be at most {max_length} characters")
            return None
        return value

    def choice(self, container: dict, key: str, path: str, allowed: tuple[str, ...]) -> str | None:
        value = container.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            for option in allowed:
                if value.strip().lower() == option.lower():
                    return option
        self.add(path, f"must be one of: {', '.join(allowed)}")
        return None


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
    # Objects to search, in order, for currency and time: (object, path prefix).
    places: tuple[tuple[dict, str], ...]


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

    def parse(self, webhook):
        payload = webhook.payload
        if not isinstance(payload, dict):
            raise PayloadError("the body must be a JSON object")
        if is_payout(payload):
            return Ignored("payout notification: money leaving the merchant, not a collection")
        errors = _Errors()
        wire = _read_wire(payload, errors)
        meaning = _meaning(wire, errors) if wire else None
        if errors.errors or meaning is None:
            raise PayloadError(INVALID, errors.errors)
        if isinstance(meaning, Ignored):
            return meaning
        notice = _notice(wire, meaning, payload, errors)
        if errors.errors or notice is None:
            raise PayloadError(INVALID, errors.errors)
        return notice if isinstance(notice, Ignored) else [notice]

    @classmethod
    def sample_payloads(cls):
        return copy.deepcopy(SAMPLE_PAYLOADS)


def _read_wire(payload: dict, errors: _Errors) -> _Wire | None:
    if "data" in payload:
        return _nested(payload, errors)
    if "partner_order_id" in payload or "amount_to_collect" in payload:
        return _flat(payload, errors)
    errors.add("data", "is required: a notification has data.payment and data.order_details")
    return None


def _nested(payload: dict, errors: _Errors) -> _Wire | None:
    """The payment notification posted to partner_callback_url: ``{status, message, data{...}, signature}``."""
    if not isinstance(payload["data"], dict):
        errors.add("data", "must be an object")
        return None
    data = payload["data"]
    if "order_details" in data and "Order_details" in data:
        errors.add("data.Order_details", "give order_details or Order_details, not both")
    key = "order_details" if "order_details" in data or "Order_details" not in data else "Order_details"
    order = errors.object(data, key, f"data.{key}")
    payment = errors.object(data, "payment", "data.payment")
    account = errors.object(payment, "virtual_account", ACCOUNT)
    return _Wire(
        payment_status=errors.choice(payment, "status", "data.payment.status", PAYMENT_STATUSES),
        order_status=errors.choice(order, "status", f"data.{key}.status", ORDER_STATUSES),
        status_path="data.payment.status",
        partner_order_id=errors.text(order, "partner_order_id", f"data.{key}.partner_order_id"),
        intrapay_reference=errors.text(order, "intrapay_order_reference", f"data.{key}.intrapay_order_reference"),
        id_paths=(f"data.{key}.intrapay_order_reference", f"data.{key}.partner_order_id"),
        amount=account.get("amount"),
        amount_path=f"{ACCOUNT}.amount",
        destination=errors.text(account, "account_number", f"{ACCOUNT}.account_number", max_length=64),
        method=PaymentMethod.BANK_TRANSFER,
        places=((order, f"data.{key}."), (payment, "data.payment."), (data, "data."), (payload, "")),
    )


def _flat(payload: dict, errors: _Errors) -> _Wire:
    """The collection-order fields Fuspay signs for partners, with the order's ``status``."""
    status = errors.choice(payload, "status", "status", FLAT_STATUSES)
    amount, amount_path = _flat_amount(payload, status, errors)
    account = "assigned_virtual_account_number"
    destination = errors.text(payload, account, account, max_length=64)
    return _Wire(
        payment_status=status if status in PAYMENT_STATUSES else None,
        order_status=status if status not in PAYMENT_STATUSES else None,
        status_path="status",
        partner_order_id=errors.text(payload, "partner_order_id", "partner_order_id"),
        intrapay_reference=errors.text(payload, "intrapay_order_reference", "intrapay_order_reference"),
        id_paths=("intrapay_order_reference", "partner_order_id"),
        amount=amount,
        amount_path=amount_path,
        destination=destination,
        method=PaymentMethod.BANK_TRANSFER if destination else PaymentMethod.OTHER,
        places=((payload, ""),),
    )


def _flat_amount(payload: dict, status: str | None, errors: _Errors) -> tuple[object, str]:
    """The amount actually paid: ``amount_paid`` or ``amount`` when given, else ``amount_to_collect``."""
    for name in ("amount_paid", "amount"):
        if payload.get(name) is not None:
            return payload[name], name
    if status == "Mismatched":
        # amount_to_collect is what the order asked for, which a Mismatched payment is not.
        errors.add("amount_paid", "is required when status is Mismatched: the amount actually paid")
    return payload.get("amount_to_collect"), "amount_to_collect"


def _meaning(wire: _Wire, errors: _Errors) -> str | Ignored | None:
    """What happened to the money: "Paid", "Pending" or "Refund"; Ignored when nothing was paid."""
    if wire.payment_status is None and wire.order_status is None:
        if wire.status_path not in errors.errors:
            errors.add(wire.status_path, "is required: the payment status (Pending, Paid, Refund) or the order status")
        return None
    if wire.order_status in UNPAID_ORDER_STATUSES and wire.payment_status in (None, "Pending"):
        return Ignored(f"order {wire.order_status} with no confirmed payment: nothing was paid")
    return wire.payment_status or PAYMENT_STATUS_OF_ORDER[wire.order_status]


def _notice(wire: _Wire, meaning: str, payload: dict, errors: _Errors) -> PaymentNotice | Ignored | None:
    currency = _currency(wire, errors)
    amount = _amount(wire, currency, meaning, errors)
    if meaning == "Pending" and amount == 0 and not errors.errors:
        return Ignored("payment Pending: nothing has been paid into the virtual account yet")
    ids = _ids(wire, meaning, errors)
    occurred_at = _occurred_at(wire, errors)
    if errors.errors or ids is None or amount is None:
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
        raw=payload,
    )


def _ids(wire: _Wire, meaning: str, errors: _Errors) -> tuple[str, str | None] | None:
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
        if path not in errors.errors:
            errors.add(path, "is required: intrapay_order_reference, or at least partner_order_id")
    return None


def _currency(wire: _Wire, errors: _Errors) -> str:
    for place, prefix in wire.places:
        if place.get("currency") is not None:
            try:
                return normalize_currency(place["currency"])
            except MoneyError as exc:
                errors.add(f"{prefix}currency", str(exc))
                return DEFAULT_CURRENCY
    return DEFAULT_CURRENCY


def _amount(wire: _Wire, currency: str, meaning: str, errors: _Errors) -> Decimal | None:
    """The amount paid; a Pending notification without one has nothing paid yet (zero)."""
    if wire.amount is None or wire.amount == "":
        if meaning == "Pending":
            return Decimal(0)
        errors.add(wire.amount_path, "is required")
        return None
    try:
        amount = parse_decimal(wire.amount)
        if amount < 0 or (amount == 0 and meaning != "Pending"):
            raise MoneyError("amount must be greater than zero")
        to_minor(amount, currency)  # refuse more decimals than the currency has, never round
        return amount
    except MoneyError as exc:
        errors.add(wire.amount_path, str(exc))
        return None


def _occurred_at(wire: _Wire, errors: _Errors) -> dt.datetime:
    """``timestamp`` (epoch milliseconds, GMT) or ``updated_at`` (ISO 8601), first found.

    Fuspay's documented notification carries no time at all: it then happened when it
    arrived. Reading the clock is this adapter's only impure step.
    """
    for name, read in (("timestamp", _epoch_ms), ("updated_at", _iso_time)):
        for place, prefix in wire.places:
            if place.get(name) is not None:
                return read(place[name], f"{prefix}{name}", errors)
    return dt.datetime.now(dt.UTC)


def _epoch_ms(value: object, path: str, errors: _Errors) -> dt.datetime:
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 16):
        errors.add(path, "must be whole epoch milliseconds, e.g. 1795338903000")
        return dt.datetime.now(dt.UTC)
    milliseconds = int(text)
    if milliseconds < MIN_EPOCH_MS:
        errors.add(path, "must be epoch milliseconds, not seconds")
        return dt.datetime.now(dt.UTC)
    try:
        return utc_time(EPOCH + dt.timedelta(milliseconds=milliseconds))
    except OverflowError:
        errors.add(path, "is too far in the future")
    except ValueError as exc:
        errors.add(path, str(exc))
    return dt.datetime.now(dt.UTC)


def _iso_time(value: object, path: str, errors: _Errors) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(path, "must be an ISO 8601 date and time, e.g. 2026-11-22T09:15:03.568Z")
        return dt.datetime.now(dt.UTC)
    try:
        return utc_time(moment)  # without an offset, GMT: Fuspay documents its times so
    except ValueError as exc:
        errors.add(path, str(exc))
        return dt.datetime.now(dt.UTC)


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
