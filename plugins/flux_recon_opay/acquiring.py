"""The Opay checkout callback v2 ("type": "MACQUIRING_CALLBACK", signed in headers) mapped onto a notice."""

from __future__ import annotations

from flux_recon import NoticeStatus, PayloadError, PaymentNotice, Unrecognized

from .fields import OpayFields, method_of

MACQUIRING_CALLBACK = "MACQUIRING_CALLBACK"
# The same vocabulary as the v1 callback (Opay's checkout order states), read case-insensitively.
STATUSES = {
    "SUCCESS": NoticeStatus.SUCCEEDED,
    "SUCCESSFUL": NoticeStatus.SUCCEEDED,
    "FAIL": NoticeStatus.FAILED,
    "FAILED": NoticeStatus.FAILED,
    "CLOSE": NoticeStatus.FAILED,
    "CLOSED": NoticeStatus.FAILED,
    "INITIAL": NoticeStatus.PENDING,
    "PENDING": NoticeStatus.PENDING,
}
MAX_ORDER_NO = 180
KOBO_HINT = "; amount.total is in minor units (cents/kobo) in Opay's callback v2, e.g. 400 for 4.00 EGP"


def parse(body: dict) -> list[PaymentNotice] | Unrecognized:
    """One payment notice for a MACQUIRING_CALLBACK: the order's status change. One that
    says it is about a refund is Unrecognized: Opay documents no refund in this form, and
    reading it as a payment would count money the wrong way."""
    for field in ("payload", "data"):
        if field in body:
            raise PayloadError(
                "a callback v2 (MACQUIRING_CALLBACK) carries its fields at the top level",
                {field: ["is not allowed in a MACQUIRING_CALLBACK"]},
            )
    if body.get("refunded") not in (None, False) or any("refund" in key.lower() for key in body):
        return Unrecognized("a MACQUIRING_CALLBACK about a refund: Opay documents none, so it is kept for review")
    reader = OpayFields(body)
    order_no = reader.text("orderNo", required=True, max_length=MAX_ORDER_NO)
    reference = reader.text("reference", required=True)
    amount_fields = reader.nested("amount")
    currency = amount_fields.currency()
    amount = amount_fields.minor_amount("total", currency, hint=KOBO_HINT)
    status = reader.choice("status", STATUSES)
    occurred_at = reader.instant("timestamp")
    reader.check("the Opay callback v2 (MACQUIRING_CALLBACK) is not valid")
    return [
        PaymentNotice(
            external_id=order_no,
            status=status,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            # Not in Opay's documented example; read when a callback carries it.
            method=method_of(body.get("payMethod") or body.get("instrumentType")),
            references=(reference,),
            raw=body,
        )
    ]
