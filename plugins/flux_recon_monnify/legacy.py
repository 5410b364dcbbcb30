"""Monnify's legacy (v1) notification: a flat body whose transactionHash covers five of its fields."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from flux_recon import NoticeStatus, Payer, PaymentMethod, PaymentNotice

from .fields import DEFAULT_CURRENCY, MonnifyFields

HASH_FIELD = "transactionHash"
# The fields the hash covers, in the order Monnify joins them with "|" after the client secret.
HASHED_FIELDS = ("paymentReference", "amountPaid", "paidOn", "transactionReference")
EVENT = "V1_TRANSACTION_COMPLETION"
INVALID = "the Monnify legacy (v1) transaction notification is not valid"
# paymentStatus of a v1 notification. Monnify sends v1 notifications on completion only, and
# paymentStatus is not covered by the hash: it may say the money arrived, never that it did not.
PAID_STATUSES = ("PAID", "OVERPAID", "PARTIALLY_PAID")


def is_legacy(payload: Any) -> bool:
    """A v1 notification is a JSON object with ``transactionHash`` and no ``eventType``.

    The auth check and ``parse`` decide with this one function: a body with an ``eventType``
    is a v2 event whatever else it carries, so a v1 hash can never vouch for one.
    """
    return isinstance(payload, dict) and "eventType" not in payload and HASH_FIELD in payload


class _NumberText(str):
    """A JSON number kept as the exact characters it was sent as."""


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def hashed_message(body: bytes, secret: str) -> bytes | None:
    """``clientSecret|paymentReference|amountPaid|paidOn|transactionReference`` from the raw
    body: each field's text exactly as sent (``"100.00"`` stays ``100.00``; a JSON number
    ``100.00`` too, never ``100``). None when a field is missing or not a string or number."""
    try:
        document = json.loads(
            body.decode("utf-8"), parse_int=_NumberText, parse_float=_NumberText, parse_constant=_refuse_constant
        )
    except (ValueError, UnicodeError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    parts = [secret]
    for name in HASHED_FIELDS:
        value = document.get(name)
        if not isinstance(value, str):  # _NumberText is a str: the number's own digits
            return None
        parts.append(str(value))
    try:
        return "|".join(parts).encode("utf-8")
    except UnicodeError:  # an unpaired surrogate: no bytes Monnify could have hashed
        return None


def transaction_hash(body: bytes, secret: str) -> str | None:
    """The lowercase hex SHA-512 Monnify puts in ``transactionHash`` for ``body``."""
    message = hashed_message(body, secret)
    return None if message is None else hashlib.sha512(message).hexdigest()


def hash_matches(provided: str, body: bytes, secret: str) -> bool:
    """``provided`` equals the body's hash (hex, any case), compared in constant time."""
    expected = transaction_hash(body, secret)
    if expected is None:
        return False
    try:
        candidate = provided.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(candidate, expected.encode("ascii"))


def legacy_payment(payload: dict, methods: dict) -> list[PaymentNotice]:
    """A v1 transaction notification as a payment.

    What identifies and values the payment (transaction reference, payment reference,
    amount, time) is what the hash covers; nothing outside it may change the notice's
    identity, amount, currency, status or references. Payer and method are descriptive.
    """
    data = MonnifyFields(payload)
    external_id = data.text("transactionReference", required=True)
    reference = data.text("paymentReference", required=True)
    # The hash does not cover the currency: v1 notifications are naira, and any other value
    # would change the payment's meaning without a signature behind it.
    currency = DEFAULT_CURRENCY
    if data.present("currency") and data.currency(default=DEFAULT_CURRENCY) != DEFAULT_CURRENCY:
        data.error("currency", "a legacy (v1) notification's hash does not cover its currency: only NGN is accepted")
    amount = data.amount("amountPaid", currency)
    settlement = data.amount("settlementAmount", currency, required=False, positive=False)
    occurred_at = data.monnify_time("paidOn")
    _check_status(data)
    payer = _payer(data)
    method = _method(data, methods)
    data.check(INVALID)
    fee = amount - settlement if amount is not None and settlement is not None and settlement <= amount else None
    return [
        PaymentNotice(
            external_id=external_id,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            status=NoticeStatus.SUCCEEDED,
            method=method,
            references=(reference,),
            payer=payer,
            fee=fee,
            settlement_amount=settlement,
            raw=payload,
        )
    ]


def _check_status(data: MonnifyFields) -> None:
    status = data.text("paymentStatus", max_length=64)
    if status is not None and status.upper() not in PAID_STATUSES:
        paid = ", ".join(PAID_STATUSES)
        data.error("paymentStatus", f"must be one of: {paid} (a v1 notification reports money paid)")


def _payer(data: MonnifyFields) -> Payer:
    customer = data.nested("customer")
    # accountDetails is the paying account; accountPayments lists every account that paid.
    source = data.nested("accountDetails")
    if not source.data:
        source = data.first_of_list_or_object("accountPayments")
    email = customer.text("email", max_length=320)
    return Payer(
        name=customer.text("name") or source.text("accountName"),
        email=email.lower() if email else None,
        account_number=source.text("accountNumber", max_length=64),
        bank=source.text("bankName") or source.text("bankCode"),
    )


def _method(data: MonnifyFields, methods: dict) -> PaymentMethod:
    raw = data.text("paymentMethod", max_length=64)
    if raw is None:
        return PaymentMethod.OTHER
    return methods.get(raw.upper(), PaymentMethod.OTHER)


__all__ = ["EVENT", "HASH_FIELD", "HASHED_FIELDS", "hash_matches", "is_legacy", "legacy_payment", "transaction_hash"]
