"""The Opay POS terminal / bank transfer notification ({"data": {...}}) mapped onto a notice."""

from __future__ import annotations

from flux_recon import NoticeKind, NoticeStatus, Payer, PayloadError, PaymentNotice

from .fields import OpayFields, method_of

# Opay's POS terminals and static virtual accounts are Nigerian products: naira unless
# the notification says otherwise.
DEFAULT_CURRENCY = "NGN"
# Leaves room for a suffix the engine may add to a reversal's id ("<orderNo>:reversal")
# within the 200 characters an id may have.
MAX_ORDER_NO = 180

PAID = (NoticeKind.PAYMENT, NoticeStatus.SUCCEEDED)
FAILED = (NoticeKind.PAYMENT, NoticeStatus.FAILED)
PENDING = (NoticeKind.PAYMENT, NoticeStatus.PENDING)
# A card payment the acquirer took back after it succeeded: a reversal of the whole
# payment, under the payment's own orderNo.
REVERSED = (NoticeKind.REVERSAL, NoticeStatus.SUCCEEDED)

# Opay's own vocabulary (INITIAL, PENDING, SUCCESS, FAIL, CLOSE), the spellings its other
# products use for the same states, and REVERSED for POS card reversals.
STATUSES = {
    "SUCCESS": PAID,
    "SUCCESSFUL": PAID,
    "FAIL": FAILED,
    "FAILED": FAILED,
    "CLOSE": FAILED,
    "CLOSED": FAILED,
    "INITIAL": PENDING,
    "PENDING": PENDING,
    "PROCESSING": PENDING,
    "REVERSED": REVERSED,
}


def parse(body: dict) -> list[PaymentNotice]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise PayloadError("not an Opay POS/transfer notification", {"data": ["must be an object"]})
    fields = OpayFields(data, "data")
    order_no = fields.text("orderNo", required=True, max_length=MAX_ORDER_NO)
    out_order_no = fields.text("outOrderNo")
    currency = fields.currency(default=DEFAULT_CURRENCY)
    amount = fields.amount("amount", currency)
    fee = fields.amount("fee", currency, required=False, positive=False)
    settlement = fields.amount("settlementAmount", currency, required=False, positive=False)
    kind_and_status = fields.choice("status", STATUSES)
    occurred_at = _occurred_at(fields)
    payer = Payer(
        name=fields.text("senderName"),
        account_number=fields.text("senderAccount", max_length=64),
        bank=fields.text("senderBank"),
    )
    destination = fields.text("receiptAccount", max_length=64)
    fields.check("the Opay POS/transfer notification is not valid")

    kind, status = kind_and_status
    return [
        PaymentNotice(
            external_id=order_no,
            kind=kind,
            status=status,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            method=method_of(data.get("payMethod")),
            references=(out_order_no,) if out_order_no else (),
            payer=payer,
            destination_account=destination,
            parent_external_id=order_no if kind == NoticeKind.REVERSAL else None,
            fee=fee,
            settlement_amount=settlement,
            raw=body,
        )
    ]


def _occurred_at(fields: OpayFields):
    # When the money moved; a notification sent before completion has only transactionTime.
    known_errors = len(fields.errors)
    completed = fields.epoch_millis("completedTime")
    started = fields.epoch_millis("transactionTime")
    if completed is None and started is None and len(fields.errors) == known_errors:
        fields.error("completedTime", "is required (or transactionTime): epoch milliseconds")
    return completed or started
