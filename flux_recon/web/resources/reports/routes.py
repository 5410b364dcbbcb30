"""/api/v1/reports/summary: totals by payment state, order status and provider, per currency."""

from flask import g
from flask.views import MethodView
from peewee import fn

from flux_recon.models import Payment, SalesOrder
from flux_recon.money import format_minor
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.reports.schemas import SummaryArgsSchema, SummarySchema

blp = Blueprint("reports", __name__, description="Reconciliation reports.")


def _in_period(query, column, args):
    if "from_" in args:
        query = query.where(column >= args["from_"])
    if "to" in args:
        query = query.where(column < args["to"])
    return query


def _payment_totals(args, group_field, name):
    query = (
        Payment.select(group_field, Payment.currency, fn.COUNT(Payment.id), fn.SUM(Payment.amount_minor))
        .where(Payment.tenant == g.tenant.id)
        .group_by(group_field, Payment.currency)
        .order_by(group_field, Payment.currency)
    )
    return [
        {name: group, "currency": currency, "count": count, "amount": format_minor(total, currency)}
        for group, currency, count, total in _in_period(query, Payment.received_at, args).tuples()
    ]


def _order_totals(args):
    query = (
        SalesOrder.select(
            SalesOrder.status,
            SalesOrder.currency,
            fn.COUNT(SalesOrder.id),
            fn.SUM(SalesOrder.amount_minor),
            fn.SUM(SalesOrder.amount_paid_minor),
        )
        .where(SalesOrder.tenant == g.tenant.id)
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
        for status, currency, count, total, paid in _in_period(query, SalesOrder.created_at, args).tuples()
    ]


def _unallocated(args):
    unallocated = Payment.amount_minor - Payment.refunded_minor - Payment.allocated_minor
    query = (
        Payment.select(Payment.currency, fn.COUNT(Payment.id), fn.SUM(unallocated))
        .where(
            (Payment.tenant == g.tenant.id)
            & (Payment.kind == "payment")
            & (Payment.status == "succeeded")
            & (unallocated > 0)
        )
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    )
    return [
        {"currency": currency, "count": count, "amount": format_minor(total, currency)}
        for currency, count, total in _in_period(query, Payment.received_at, args).tuples()
    ]


@blp.route("/summary")
class Summary(MethodView):
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, SummarySchema)
    @blp.errors()
    def get(self, args):
        """Totals for a period: payments by reconciliation state, status and provider; orders by
        status; money received but not allocated. Amounts are per currency, never summed across."""
        return {
            "from_": args.get("from_"),
            "to": args.get("to"),
            "payments": {
                "by_reconciliation": _payment_totals(args, Payment.reconciliation, "reconciliation"),
                "by_status": _payment_totals(args, Payment.status, "status"),
                "by_provider": _payment_totals(args, Payment.provider, "provider"),
            },
            "orders": {"by_status": _order_totals(args)},
            "unallocated": _unallocated(args),
        }
