"""Reconciliation reports: a tenant's totals for a period, per currency."""

from __future__ import annotations

import datetime as dt

from peewee import fn

from flux_recon.core.states import PaymentStatus
from flux_recon.models import Payment, SalesOrder
from flux_recon.money import format_minor
from flux_recon.providers import NoticeKind


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
