"""The Paystack payout export read as a settlement statement: exact amounts, one payout per day and currency,
every bad cell named."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from flux_recon import SettlementLineRecord, SettlementRecord, StatementContext
from flux_recon_paystack.provider import PaystackProvider
from flux_recon_paystack.settlements import PaystackPayoutExport

HEADER = (
    "Reference number,Transaction date,Customer email,Amount paid,Paystack fee,Amount due to merchant,"
    "Settlement date,Gateway response,Customer full name,Transaction ID,Card type,Card bank,Country code,"
    "Currency,Subaccount,Subaccount due"
)


def read(*rows, **options):
    context = StatementContext(options)
    body = ("\n".join([HEADER, *rows]) + "\n").encode("utf-8-sig")
    return list(PaystackPayoutExport().parse(io.BytesIO(body), context)), context


def test_the_provider_declares_the_format():
    assert [f.name for f in PaystackProvider.statement_formats] == ["paystack_payout"]


def test_rows_become_one_payout_per_settlement_date_and_currency():
    records, context = read(
        'INV-1,2026-11-22 10:15:03,ada@example.com,"15,000.00",325.00,14675.00,2026-11-23,OK,Ada,4099,,,NG,NGN,,',
        "INV-2,2026-11-22 11:00:00,bo@example.com,8000.50,120.25,7880.25,2026-11-23,Successful,Bo,4100,,,NG,NGN,,",
        "INV-3,2026-11-23 09:00:00,cy@example.com,100.00,1.50,98.50,2026-11-24,Successful,Cy,4101,,,GH,GHS,,",
    )
    assert context.error_count == 0, context.errors
    headers = [r for r in records if isinstance(r, SettlementRecord)]
    lines = [r for r in records if isinstance(r, SettlementLineRecord)]
    assert [(h.reference, h.currency, h.settled_at) for h in headers] == [
        ("2026-11-23/NGN", "NGN", dt.datetime(2026, 11, 23, tzinfo=dt.UTC)),
        ("2026-11-24/GHS", "GHS", dt.datetime(2026, 11, 24, tzinfo=dt.UTC)),
    ]
    first = lines[0]
    assert (first.transaction_id, first.amount, first.fee, first.net) == (
        "INV-1",
        Decimal("15000.00"),
        Decimal("325.00"),
        Decimal("14675.00"),
    )
    assert first.paid_at == dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC)  # Lagos time in the file
    assert [line.settlement_reference for line in lines] == ["2026-11-23/NGN", "2026-11-23/NGN", "2026-11-24/GHS"]


def test_the_payout_reference_can_be_given_for_a_file_of_one_payout():
    records, context = read(
        "INV-1,2026-11-22 10:15:03,a@b.ng,100.00,1.50,98.50,2026-11-23,Successful,A,1,,,NG,NGN,,",
        "INV-2,2026-11-22 10:15:03,a@b.ng,100.00,1.50,98.50,2026-11-24,Successful,A,2,,,NG,NGN,,",
        reference="pstk-359143-h7j",
    )
    assert records[0].reference == "pstk-359143-h7j"
    assert list(context.errors) == ["line 3"] and list(context.errors["line 3"]) == ["Settlement date"]


def test_each_bad_cell_is_named_by_line_and_column():
    _, context = read(
        "INV-1,yesterday,a@b.ng,lots,1.50,98.50,23/11/2026,Successful,A,1,,,NG,NGN,,",
        ",2026-11-22 10:15:03,a@b.ng,100.00,1.50,98.50,2026-11-23,Successful,A,2,,,NG,EUR,,",
    )
    assert set(context.errors["line 2"]) == {"Transaction date", "Amount paid", "Settlement date"}
    assert set(context.errors["line 3"]) == {"Reference number", "Currency"}
