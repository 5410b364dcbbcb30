"""Reconciliation reports: a tenant's totals for a period, per currency."""

from __future__ import annotations

import datetime as dt

from peewee import JOIN, SQL, Case, fn

from flux_recon.core.states import PaymentStatus
from flux_recon.models import Allocation, Payment, SalesOrder, utcnow
from flux_recon.money import format_minor
from flux_recon.providers import NoticeKind
from flux_recon.providers.times import EARLIEST, LATEST
from flux_recon.reconciliation.records import tenant_settings
from flux_recon.services.errors import Invalid


def _in_period(query, column, start, end):
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column < end)
    return query


def _payment_totals(tenant_id, start, end, group_field, name):
    query = (
        Payment.select(group_field, Payment.currency, fn.COUNT(Payment.id), fn.SUM(Payment.amount_minor))
        .where(Payment.tenant == tenant_id)
        .group_by(group_field, Payment.currency)
        .order_by(group_field, Payment.currency)
    )
    return [
        {name: group, "currency": currency, "count": count, "amount": format_minor(total, currency)}
        for group, currency, count, total in _in_period(query, Payment.received_at, start, end).tuples()
    ]


def _order_totals(tenant_id, start, end):
    query = (
        SalesOrder.select(
            SalesOrder.status,
            SalesOrder.currency,
            fn.COUNT(SalesOrder.id),
            fn.SUM(SalesOrder.amount_minor),
            fn.SUM(SalesOrder.amount_paid_minor),
        )
        .where(SalesOrder.tenant == tenant_id)
        .group_by(SalesOrder.status, SalesOrder.currency)
        .order_by(SalesOrder.status, SalesOrder.currency)
    )
    return [
        {
            "status": status,
            "currency": currency,
            "count": count,
            "amount": format_minor(total, currency),
            "amount_paid": format_minor(paid, currency),
        }
        for status, currency, count, total, paid in _in_period(query, SalesOrder.created_at, start, end).tuples()
    ]


def _unallocated(tenant_id, start, end):
    unallocated = Payment.amount_minor - Payment.refunded_minor - Payment.allocated_minor
    query = (
        Payment.select(Payment.currency, fn.COUNT(Payment.id), fn.SUM(unallocated))
        .where(
            (Payment.tenant == tenant_id)
            & (Payment.kind == NoticeKind.PAYMENT)
            & (Payment.status == PaymentStatus.SUCCEEDED)
            & (unallocated > 0)
        )
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    )
    return [
        {"currency": currency, "count": count, "amount": format_minor(total, currency)}
        for currency, count, total in _in_period(query, Payment.received_at, start, end).tuples()
    ]


def summary(tenant_id: str, start: dt.datetime | None = None, end: dt.datetime | None = None) -> dict:
    """Totals from ``start`` (inclusive) to ``end`` (exclusive), either open: payments received
    by reconciliation state, status and provider; orders created, by status; money received
    but not allocated. Amounts are decimal strings per currency, never summed across."""
    return {
        "from_": start,
        "to": end,
        "payments": {
            "by_reconciliation": _payment_totals(tenant_id, start, end, Payment.reconciliation, "reconciliation"),
            "by_status": _payment_totals(tenant_id, start, end, Payment.status, "status"),
            "by_provider": _payment_totals(tenant_id, start, end, Payment.provider, "provider"),
        },
        "orders": {"by_status": _order_totals(tenant_id, start, end)},
        "unallocated": _unallocated(tenant_id, start, end),
    }


# Aging buckets: (label, fewest days, most days or None for no upper bound).
AGING_BUCKETS = (("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("90+", 91, None))

# The days a receivable can be aged at: the years a payment can have. Outside them lies
# nothing to age, and the day's window (the next midnight, 90 days back) could overflow.
AGING_FIRST_DAY = EARLIEST.date()
AGING_LAST_DAY = LATEST.date() - dt.timedelta(days=1)
AGING_OUT_OF_RANGE = f"must be between {AGING_FIRST_DAY} and {AGING_LAST_DAY}"


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _paid_at(cut: dt.datetime):
    """Per order, what its allocations had paid at ``cut`` (made before it, not yet released)."""
    return (
        Allocation.select(Allocation.order, fn.SUM(Allocation.amount_minor).alias("paid"))
        .where((Allocation.created_at < cut) & (Allocation.released_at.is_null(True) | (Allocation.released_at >= cut)))
        .group_by(Allocation.order)
    )


def aging(tenant_id: str, as_of: dt.date | None = None) -> dict:
    """Receivables by age at the end of ``as_of`` (default: today, UTC): orders created by then,
    not cancelled by then, with money outstanding by then (the allocations live at that
    moment), per currency in buckets of days since the order was created, with totals.

    An order short by no more than its currency's tolerance counts as paid, as its status
    does. Amounts are decimal strings per currency, never summed across currencies.

    Raises ``Invalid`` naming ``as_of`` for a day outside ``AGING_FIRST_DAY``..``AGING_LAST_DAY``."""
    as_of = as_of or utcnow().date()
    if not AGING_FIRST_DAY <= as_of <= AGING_LAST_DAY:
        raise Invalid(f"as_of {AGING_OUT_OF_RANGE}", {"as_of": [AGING_OUT_OF_RANGE]})
    cut = _start_of(as_of + dt.timedelta(days=1))
    paid = _paid_at(cut).alias("paid_at_cut")
    paid_minor = fn.COALESCE(paid.c.paid, 0)
    outstanding = SalesOrder.amount_minor - paid_minor
    tolerance = _tolerance_case(tenant_settings(tenant_id).tolerances)
    age = Case(
        None,
        [
            (SalesOrder.created_at >= _start_of(as_of - dt.timedelta(days=most)), label)
            for label, _, most in AGING_BUCKETS
            if most is not None
        ],
        AGING_BUCKETS[-1][0],
    )
    owed = (
        SalesOrder.select(SalesOrder.currency, age.alias("bucket"), outstanding.alias("outstanding"))
        .join(paid, JOIN.LEFT_OUTER, on=(paid.c.order_id == SalesOrder.id))
        .where(
            (SalesOrder.tenant == tenant_id)
            & (SalesOrder.created_at < cut)
            & (SalesOrder.cancelled_at.is_null(True) | (SalesOrder.cancelled_at >= cut))
            & (outstanding > tolerance)
        )
    ).alias("owed")
    totals = (
        SalesOrder.select(owed.c.currency, owed.c.bucket, fn.COUNT(SQL("*")), fn.SUM(owed.c.outstanding))
        .from_(owed)
        .group_by(owed.c.currency, owed.c.bucket)
        .order_by(owed.c.currency)
        .tuples()
    )
    by_currency: dict[str, dict[str, tuple[int, int]]] = {}
    for currency, bucket, count, amount in totals:
        by_currency.setdefault(currency, {})[bucket] = (count, int(amount))
    return {
        "as_of": as_of,
        "currencies": [_aging_row(currency, found) for currency, found in sorted(by_currency.items())],
    }


def _tolerance_case(tolerances: dict[str, int]):
    if not tolerances:
        return 0
    return Case(SalesOrder.currency, sorted(tolerances.items()), 0)


def _aging_row(currency: str, found: dict[str, tuple[int, int]]) -> dict:
    buckets = []
    for label, fewest, most in AGING_BUCKETS:
        count, amount = found.get(label, (0, 0))
        buckets.append(
            {
                "bucket": label,
                "min_days": fewest,
                "max_days": most,
                "count": count,
                "outstanding": format_minor(amount, currency),
            }
        )
    total_count = sum(count for count, _ in found.values())
    total_amount = sum(amount for _, amount in found.values())
    return {
        "currency": currency,
        "buckets": buckets,
        "total": {"count": total_count, "outstanding": format_minor(total_amount, currency)},
    }
