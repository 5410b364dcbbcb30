"""Paystack's payout export (Dashboard > Payouts > a payout > Export) as a settlement statement."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from flux_recon import (
    RowReader,
    SettlementLineRecord,
    SettlementRecord,
    StatementContext,
    StatementFormat,
    csv_rows,
    parse_time,
)

from .fields import CURRENCIES

REFERENCE = "Reference number"
PAID_AT = "Transaction date"
EMAIL = "Customer email"
AMOUNT = "Amount paid"
FEE = "Paystack fee"
NET = "Amount due to merchant"
SETTLED_ON = "Settlement date"
CURRENCY = "Currency"
REQUIRED = (REFERENCE, AMOUNT, FEE, NET, SETTLED_ON, CURRENCY)
# The dashboard writes times without an offset, in the merchant's (Lagos) time.
LAGOS = "+01:00"
# A settlement date is a day, which Paystack's API writes as that day's 00:00 UTC: so here too.
SETTLEMENT_DAY = "+00:00"


class PaystackPayoutExport(StatementFormat):
    name = "paystack_payout"
    title = "Paystack payout export"
    description = (
        "The spreadsheet of a payout's transactions exported from the Paystack dashboard (as CSV): Reference "
        "number, Transaction date, Customer email, Amount paid, Paystack fee, Amount due to merchant, Settlement "
        "date, ..., Transaction ID, ..., Currency. Amounts in naira (cedis, rand...), not kobo. Each row's "
        "Reference number is the transaction as Paystack's webhooks name it. One payout per settlement date and "
        "currency; its reference is the import's reference= (the payout's pstk-... reference) or "
        "<settlement date>/<currency>."
    )
    content_types = ("text/csv",)

    def parse(self, stream: BinaryIO, context: StatementContext) -> Iterator[SettlementRecord | SettlementLineRecord]:
        given = context.options.get("reference")
        payouts: dict[tuple[str, str], str] = {}  # (settlement date, currency) -> settlement reference
        for line, row in csv_rows(stream, context, REQUIRED):
            read = RowReader(context, line, row)
            currency = read.currency(CURRENCY)
            if currency is not None and currency not in CURRENCIES:
                read.error(CURRENCY, f"must be a currency Paystack settles in: {', '.join(CURRENCIES)}")
            settled_on = read.text(SETTLED_ON, required=True, max_length=40)
            settled_at = parse_time(settled_on, SETTLEMENT_DAY) if settled_on else None
            if settled_on and settled_at is None:
                read.error(SETTLED_ON, f"{settled_on!r} is not a date: write 2026-11-23")
            record = SettlementLineRecord(
                transaction_id=read.text(REFERENCE, required=True, max_length=100) or "",
                amount=read.amount(AMOUNT),
                fee=read.amount(FEE),
                net=read.amount(NET),
                reference=row.get(REFERENCE, "").strip() or None,
                paid_at=read.time(PAID_AT, offset=LAGOS),
                payer_email=read.text(EMAIL, max_length=320),
                line=line,
            )
            if read.bad:
                continue
            payout = (settled_at.date().isoformat(), currency)
            if payout not in payouts:
                if given and payouts:
                    read.error(SETTLED_ON, f"a second payout ({payout[0]} {currency}) in a file imported as {given}")
                    continue
                payouts[payout] = given or f"{payout[0]}/{currency}"
                yield SettlementRecord(reference=payouts[payout], settled_at=settled_at, currency=currency, line=line)
            yield SettlementLineRecord(**{**record.__dict__, "settlement_reference": payouts[payout]})
