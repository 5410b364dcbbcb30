"""The Opay digital-wallet deposit notification (a flat body with depositAmount) mapped onto a notice."""

from __future__ import annotations

from flux_recon import NoticeStatus, Payer, PaymentNotice

from .fields import OpayFields, method_of

DEPOSIT_AMOUNT = "depositAmount"
# Opay's digital wallets (static deposit codes) are a Nigerian offline product, like POS.
DEFAULT_CURRENCY = "NGN"
MAX_ID = 180
# Opay's order states, case-insensitively, with the spellings its offline products use.
STATUSES = {
    "SUCCESS": NoticeStatus.SUCCEEDED,
    "SUCCESSFUL": NoticeStatus.SUCCEEDED,
    "FAIL": NoticeStatus.FAILED,
    "FAILED": NoticeStatus.FAILED,
    "CLOSE": NoticeStatus.FAILED,
    "CLOSED": NoticeStatus.FAILED,
    "INITIAL": NoticeStatus.PENDING,
    "PENDING": NoticeStatus.PENDING,
    "PROCESSING": NoticeStatus.PENDING,
}
# Which field names the transaction, best first: Opay's order number, else what the
# notification calls its transaction.
ID_FIELDS = ("orderNo", "transactionId", "payNo")
# When the money moved, best first; epoch milliseconds (as Opay's other offline
# notifications) or ISO 8601.
TIME_FIELDS = ("completedTime", "depositTime", "transactionTime", "createTime", "timestamp")


def parse(body: dict) -> list[PaymentNotice]:
    """One payment into a digital wallet: the deposit code is the account paid into."""
    reader = OpayFields(body)
    external_id = _first_id(reader)
    currency = reader.currency(default=DEFAULT_CURRENCY)
    amount = reader.amount(DEPOSIT_AMOUNT, currency)
    fee = reader.amount("fee", currency, required=False, positive=False)
    status = reader.choice("status", STATUSES)
    occurred_at = _occurred_at(reader)
    deposit_code = reader.text("depositCode", max_length=64)
    references = tuple(value for value in (reader.text("outOrderNo"), reader.text("refId")) if value)
    payer = Payer(
        name=reader.text("senderName"),
        account_number=reader.text("senderAccount", max_length=64),
        bank=reader.text("senderBank"),
    )
    reader.check("the Opay digital-wallet deposit notification is not valid")
    return [
        PaymentNotice(
            external_id=external_id,
            status=status,
            amount=amount,
            currency=currency,
            occurred_at=occurred_at,
            # How the wallet was funded is not documented; payMethod is read when present.
            method=method_of(body.get("payMethod")),
            references=references,
            payer=payer,
            destination_account=deposit_code,
            fee=fee,
            raw=body,
        )
    ]


def _first_id(reader: OpayFields) -> str | None:
    for name in ID_FIELDS:
        if reader.present(name):
            return reader.text(name, max_length=MAX_ID)
    reader.error(ID_FIELDS[0], f"is required (or {' or '.join(ID_FIELDS[1:])}): the deposit's transaction id")
    return None


def _occurred_at(reader: OpayFields):
    for name in TIME_FIELDS:
        value = reader.data.get(name)
        if reader.present(name) and value not in ("0", 0):
            return reader.instant(name)
    reader.error(TIME_FIELDS[0], f"is required (or {', '.join(TIME_FIELDS[1:])}): when the deposit was made")
    return None
