"""CSV exports of payments, orders, the exception queue and the audit log: streamed by pages, spreadsheet-safe."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import peewee

from flux_recon.models import Allocation, AuditEntry, Payment, SalesOrder
from flux_recon.money import format_minor
from flux_recon.services import audit, exceptions, orders, payments

# Rows read per query: an export holds one page in memory, however many rows it has.
PAGE_SIZE = 1000
# A cell starting with one of these is a formula to a spreadsheet (=1+1, +cmd, -2+3,
# @SUM, and a tab or carriage return some spreadsheets skip before reading one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """A cell's text, with a leading ``'`` if a spreadsheet would read it as a formula
    (OWASP's advice for CSV injection); None is an empty cell."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _time(value) -> str | None:
    return value.isoformat() if value is not None else None


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_minor(minor, currency)


@dataclass(frozen=True)
class Export:
    """One kind of export: its file name, columns, and how a page of rows becomes cells."""

    name: str
    model: type[peewee.Model]
    header: tuple[str, ...]
    cells: Callable[[list], Iterable[list]]


def _payment_cells(rows: list[Payment]) -> Iterator[list]:
    # The orders each payment is allocated to (live allocations), one query per page.
    allocated: dict[int, list[int]] = {}
    query = (
        Allocation.select(Allocation.payment, Allocation.order)
        .where(Allocation.payment.in_([row.id for row in rows]) & Allocation.released_at.is_null(True))
        .order_by(Allocation.id)
    )
    for payment_id, order_id in query.tuples():
        allocated.setdefault(payment_id, []).append(order_id)
    for p in rows:
        yield [
            p.id,
            p.provider,
            p.external_id,
            p.kind,
            p.status,
            p.method,
            _money(p.amount_minor, p.currency),
            p.currency,
            _money(p.allocated_minor, p.currency),
            _money(p.refunded_minor, p.currency),
            _money(p.fee_minor, p.currency),
            _money(p.settlement_minor, p.currency),
            p.reconciliation,
            p.reconciliation_reason,
            " ".join(str(order_id) for order_id in allocated.get(p.id, [])),
            "; ".join(p.references or []),
            p.destination_account,
            p.parent_external_id,
            p.payer_name,
            p.payer_email,
            p.payer_phone,
            p.payer_customer_id,
            p.payer_account_number,
            p.payer_bank,
            _time(p.occurred_at),
            _time(p.received_at),
        ]


def _order_cells(rows: list[SalesOrder]) -> Iterator[list]:
    for o in rows:
        yield [
            o.id,
            o.reference,
            o.payment_reference,
            o.virtual_account,
            _money(o.amount_minor, o.currency),
            o.currency,
            _money(o.amount_paid_minor, o.currency),
            _money(o.outstanding_minor, o.currency),
            _money(o.overpaid_minor, o.currency),
            o.status,
            o.description,
            o.customer_id,
            o.customer_name,
            o.customer_email,
            o.customer_phone,
            _time(o.created_at),
            _time(o.updated_at),
            _time(o.cancelled_at),
        ]


def _audit_cells(rows: list[AuditEntry]) -> Iterator[list]:
    for e in rows:
        details = None if e.details is None else json.dumps(e.details, sort_keys=True, ensure_ascii=False)
        yield [e.id, _time(e.created_at), e.actor, e.action, e.object_type, e.object_id, details]


PAYMENTS = Export(
    "payments",
    Payment,
    (
        "id",
        "provider",
        "external_id",
        "kind",
        "status",
        "method",
        "amount",
        "currency",
        "allocated",
        "refunded",
        "fee",
        "settlement_amount",
        "reconciliation",
        "reconciliation_reason",
        "order_ids",
        "references",
        "destination_account",
        "parent_external_id",
        "payer_name",
        "payer_email",
        "payer_phone",
        "payer_customer_id",
        "payer_account_number",
        "payer_bank",
        "occurred_at",
        "received_at",
    ),
    _payment_cells,
)
ORDERS = Export(
    "orders",
    SalesOrder,
    (
        "id",
        "reference",
        "payment_reference",
        "virtual_account",
        "amount",
        "currency",
        "amount_paid",
        "outstanding",
        "overpaid",
        "status",
        "description",
        "customer_id",
        "customer_name",
        "customer_email",
        "customer_phone",
        "created_at",
        "updated_at",
        "cancelled_at",
    ),
    _order_cells,
)
AUDIT = Export(
    "audit", AuditEntry, ("id", "created_at", "actor", "action", "object_type", "object_id", "details"), _audit_cells
)


EXCEPTIONS_HEADER = (
    "id",
    "source",
    "reason",
    "status",
    "message",
    "amount",
    "currency",
    "provider",
    "since",
    "age_seconds",
    "candidate_order_ids",
    "candidate_references",
    "decision",
    "decision_note",
    "decided_by",
    "decided_at",
)


def _exception_cells(items: list[exceptions.Item]) -> Iterator[list]:
    for item in items:
        decision = item.decision
        yield [
            item.id,
            item.source,
            item.reason,
            item.status,
            item.message,
            item.amount,
            item.currency,
            item.provider,
            _time(item.since),
            item.age_seconds,
            " ".join(str(c["order_id"]) for c in item.candidates if "order_id" in c),
            "; ".join(str(c["reference"]) for c in item.candidates if "reference" in c),
            decision.status if decision else None,
            decision.note if decision else None,
            decision.actor if decision else None,
            _time(decision.decided_at) if decision else None,
        ]


def _pages(query: peewee.ModelSelect, model, page_size: int) -> Iterator[list]:
    """The query's rows newest first, ``page_size`` at a time, each page found by id below
    the last one seen (keyset paging: every page is an index range, never an OFFSET)."""
    last_id = None
    while True:
        page_query = query if last_id is None else query.where(model.id < last_id)
        rows = list(page_query.order_by(model.id.desc()).limit(page_size))
        if rows:
            yield rows
        if len(rows) < page_size:
            return
        last_id = rows[-1].id


def stream(export: Export, query: peewee.ModelSelect, *, page_size: int = PAGE_SIZE) -> Iterator[bytes]:
    """The CSV file, UTF-8, header first, in chunks of one page of rows each."""
    return _stream_pages(export.header, export.cells, _pages(query, export.model, page_size))


def _stream_pages(header: tuple[str, ...], cells_of: Callable[[list], Iterable[list]], pages) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for rows in pages:
        for cells in cells_of(rows):
            writer.writerow([neutralise(cell) for cell in cells])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows at all: the header alone
        yield buffer.getvalue().encode()


def payments_csv(tenant_id: str, **filters) -> Iterator[bytes]:
    """The tenant's payments as GET /payments lists them (same filters), newest first."""
    return stream(PAYMENTS, payments.list_payments(tenant_id, **filters))


def orders_csv(tenant_id: str, **filters) -> Iterator[bytes]:
    """The tenant's orders as GET /orders lists them (same filters), newest first."""
    return stream(ORDERS, orders.list_orders(tenant_id, **filters))


def exceptions_csv(tenant_id: str, filters: exceptions.Filters, *, page_size: int = 500) -> Iterator[bytes]:
    """The tenant's exception queue as GET /exceptions lists it (same filters and order).

    The queue is a union of sources computed from the current state, paged by the queue
    itself (page by page, so memory stays bounded; each page reads up to sources x (offset +
    page) index entries, so a very long queue costs more per page towards its end). An
    item resolved or changed while the file is written may be missing or appear twice."""
    queue = exceptions.list_exceptions(tenant_id, filters)
    return _stream_pages(EXCEPTIONS_HEADER, _exception_cells, _queue_pages(queue, page_size))


def _queue_pages(queue, page_size: int) -> Iterator[list]:
    page = 1
    while items := queue.paginate(page, page_size):
        yield items
        page += 1


def audit_csv(tenant_id: str, **filters) -> Iterator[bytes]:
    """The tenant's audit log as GET /audit lists it (same filters), newest first."""
    return stream(AUDIT, audit.list_entries(tenant_id, **filters))
