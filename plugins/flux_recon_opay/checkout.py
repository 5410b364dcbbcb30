"""The Opay checkout/cashier callback ("type": "transaction-status") mapped onto notices."""

from __future__ import annotations

from flux_recon import Ignored, NoticeKind, NoticeStatus, PayloadError, PaymentNotice
from flux_recon.money import to_minor

from .fields import OpayFields, method_of

TRANSACTION_STATUS = "transaction-status"

# CLOSE is Opay closing an order that was never paid (it expired, or the merchant closed
# it): no money moved and the order will not be paid under this transaction, so it is a
# final failure, like FAIL.
STATUSES = {
    "SUCCESS": NoticeStatus.SUCCEEDED,
    "FAIL": NoticeStatus.FAILED,
    "CLOSE": NoticeStatus.FAILED,
    "INITIAL": NoticeStatus.PENDING,
    "PENDING": NoticeStatus.PENDING,
}
# A refund id is at most this plus ":refund:<kobo>", within the 200 characters an id may have.
MAX_TRANSACTION_ID = 150


def parse(body: dict) -> list[PaymentNotice] | Ignored:
    """One notice for a transaction-status callback; Ignored for other event types and
    for refunds that have not (yet) succeeded."""
    if "data" in body:
        raise PayloadError(
            "a body is either a checkout callback (payload) or a POS/transfer notification (data), not both",
            {"data": ["is not allowed in a checkout callback"]},
        )
    event_type = body.get("type")
    if isinstance(event_type, str) and event_type.strip() and event_type != TRANSACTION_STATUS:
        return Ignored(f"Opay event type {event_type[:60]!r} carries no payment")
    if event_type != TRANSACTION_STATUS:
        raise PayloadError("not an Opay checkout callback", {"type": [f'must be "{TRANSACTION_STATUS}"']})
    fields = body.get("payload")
    if not isinstance(fields, dict):
        raise PayloadError("not an Opay checkout callback", {"payload": ["must be an object"]})
    return _notices(fields, body)


def _notices(fields: dict, body: dict) -> list[PaymentNotice] | Ignored:
    reader = OpayFields(fields, "payload")
    transaction_id = reader.text("transactionId", required=True, max_length=MAX_TRANSACTION_ID)
    reference = reader.text("reference", required=True)
    currency = reader.currency()
    amount = reader.minor_amount("amount", currency)
    fee = _fee(reader, currency)
    status = reader.choice("status", STATUSES)
    refunded = reader.flag("refunded")
    occurred_at = reader.instant("timestamp")
    reader.check("the Opay checkout callback is not valid")

    common = {
        "amount": amount,
        "currency": currency,
        "occurred_at": occurred_at,
        "method": method_of(fields.get("instrumentType")),
        "references": (reference,),
        "raw": body,
    }
    if not refunded:
        return [PaymentNotice(external_id=transaction_id, status=status, fee=fee, **common)]
    if status != NoticeStatus.SUCCEEDED:
        return Ignored(f"refund of {transaction_id} is {fields['status']}: nothing has been taken back")
    # The callback carries no refund id of its own. The amount makes two partial refunds of
    # one transaction two refunds, while a retried callback (same amount) stays a duplicate.
    return [
        PaymentNotice(
            external_id=f"{transaction_id}:refund:{to_minor(amount, currency)}",
            kind=NoticeKind.REFUND,
            parent_external_id=transaction_id,
            **common,
        )
    ]


def _fee(reader: OpayFields, currency: str | None):
    fee = reader.minor_amount("fee", currency, required=False, positive=False)
    fee_currency = reader.data.get("feeCurrency")
    # A payment's fee is stored in the payment's currency; one charged in another is left
    # in the raw payload rather than converted.
    if fee_currency not in (None, "") and str(fee_currency).strip().upper() != currency:
        return None
    return fee
