"""/api/v1/payments: payments received from providers and how each was reconciled."""

import json

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import abort
from peewee import SQL, NodeList, Value, fn, prefetch

from flux_recon.models import Allocation, Payment
from flux_recon.money import MoneyError, parse_amount
from flux_recon.outbound.outbox import publishing
from flux_recon.reconciliation import manual
from flux_recon.reconciliation.manual import ManualChangeRefused
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.orders.routes import get_order
from flux_recon.web.resources.owned import get_owned
from flux_recon.web.resources.payments.schemas import MatchSchema, PaymentQueryArgsSchema, PaymentSchema, UnmatchSchema

blp = Blueprint("payments", __name__, description="Payments reported by providers, with their reconciliation.")


class PrefetchingPage(PeeweePage):
    """Loads each page's allocations in one extra query instead of one per payment."""

    def fetch(self, page):
        return prefetch(page, Allocation.select().order_by(Allocation.id))


def carries_reference(reference: str):
    """The reference, quoted as it sits in the stored JSON array, found by LIKE with its
    wildcards escaped: a text search, fine for a filter (matching itself never scans)."""
    quoted = json.dumps(reference).lower()
    escaped = quoted.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    # Value(converter=False) keeps JSONField from encoding the pattern a second time.
    pattern = Value(f"%{escaped}%", converter=False)
    return NodeList((fn.LOWER(Payment.references), SQL("LIKE"), pattern, SQL("ESCAPE '!'")))


@blp.route("")
class Payments(MethodView):
    @blp.arguments(PaymentQueryArgsSchema, location="query")
    @blp.response(200, PaymentSchema(many=True))
    @blp.paginate(PrefetchingPage)
    @blp.errors()
    def get(self, args):
        """List payments, newest first (filter by reconciliation state, status, provider, reference, order, time)"""
        query = Payment.select().where(Payment.tenant == g.tenant.id)
        if args.get("reconciliation"):
            query = query.where(Payment.reconciliation.in_(args["reconciliation"]))
        for name in ("status", "provider", "kind"):
            if name in args:
                query = query.where(getattr(Payment, name) == args[name])
        if "reference" in args:
            query = query.where(carries_reference(args["reference"]))
        if "order_id" in args:
            query = query.where(
                Payment.id.in_(Allocation.select(Allocation.payment).where(Allocation.order == args["order_id"]))
            )
        if "received_from" in args:
            query = query.where(Payment.received_at >= args["received_from"])
        if "received_to" in args:
            query = query.where(Payment.received_at < args["received_to"])
        return query.order_by(Payment.id.desc())


def get_payment(payment_id: int) -> Payment:
    return get_owned(Payment, payment_id, "payment")


@blp.route("/<int:payment_id>")
class PaymentById(MethodView):
    @blp.response(200, PaymentSchema)
    @blp.errors(404)
    def get(self, payment_id):
        """Show a payment with its allocations"""
        return get_payment(payment_id)


def _change_by_hand(payment_id: int, change) -> Payment:
    """Run a manual change in one transaction, answer 409 if it breaks a rule, and hand the
    resulting events to plugins after the commit."""
    get_payment(payment_id)
    try:
        with publishing(current_app.extensions["plugin_manager"]) as events:
            events += change()
    except ManualChangeRefused as refused:
        abort(409, message=str(refused))
    return get_payment(payment_id)


@blp.route("/<int:payment_id>/match")
class PaymentMatch(MethodView):
    @blp.arguments(MatchSchema, example={"order_id": 12, "amount": "5000.00", "reason": "customer's second order"})
    @blp.response(200, PaymentSchema)
    @blp.errors(404, 409)
    def post(self, data, payment_id):
        """Match a payment to an order by hand (all of it, or a part: a split)

        Allocates `amount` (default: everything not yet allocated) to the order. Repeat with
        other orders to split a payment. Refused (409) for a payment that is not a
        succeeded payment, an order that is cancelled or in another currency, or an amount
        larger than what is unallocated. Recorded in the audit log with your reason.
        """
        order = get_order(data["order_id"])
        amount_minor = None
        if "amount" in data:
            try:
                amount_minor = parse_amount(data["amount"], order.currency)
            except MoneyError as exc:
                abort(422, message=str(exc), errors={"json": {"amount": [str(exc)]}})
        reason = data["reason"]
        return _change_by_hand(
            payment_id, lambda: manual.match(payment_id, order, amount_minor, actor=g.actor, reason=reason)
        )


@blp.route("/<int:payment_id>/unmatch")
class PaymentUnmatch(MethodView):
    @blp.arguments(UnmatchSchema, example={"reason": "paid for another customer's order"})
    @blp.response(200, PaymentSchema)
    @blp.errors(404, 409)
    def post(self, data, payment_id):
        """Unmatch a payment (from every order, or from one)

        Releases the allocations, derives the orders' statuses again and leaves the payment
        `unmatched` in the review queue; the engine will not match it again by itself.
        """
        order_id = data.get("order_id")
        if order_id is not None:
            get_order(order_id)
        reason = data["reason"]
        return _change_by_hand(payment_id, lambda: manual.unmatch(payment_id, order_id, actor=g.actor, reason=reason))
