"""/api/v1/payments: payments received from providers and how each was reconciled."""

from flask import current_app, g
from flask.views import MethodView
from peewee import prefetch

from flux_recon.models import Allocation
from flux_recon.services import payments
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.payments.schemas import MatchSchema, PaymentQueryArgsSchema, PaymentSchema, UnmatchSchema

blp = Blueprint("payments", __name__, description="Payments reported by providers, with their reconciliation.")


class PrefetchingPage(PeeweePage):
    """Loads each page's allocations in one extra query instead of one per payment."""

    def fetch(self, page):
        return prefetch(page, Allocation.select().order_by(Allocation.id))


@blp.route("")
class Payments(MethodView):
    @blp.arguments(PaymentQueryArgsSchema, location="query")
    @blp.response(200, PaymentSchema(many=True))
    @blp.paginate(PrefetchingPage)
    @blp.errors()
    def get(self, args):
        """List payments, newest first (filter by reconciliation state, status, provider, reference, order, time)"""
        return payments.list_payments(g.tenant.id, **args)


@blp.route("/<int:payment_id>")
class PaymentById(MethodView):
    @blp.response(200, PaymentSchema)
    @blp.errors(404)
    def get(self, payment_id):
        """Show a payment with its allocations"""
        return payments.get_payment(g.tenant.id, payment_id)


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
        return payments.match_payment(
            g.tenant.id,
            g.actor,
            payment_id,
            data["order_id"],
            current_app.extensions["plugin_manager"],
            amount=data.get("amount"),
            reason=data["reason"],
        )


@blp.route("/<int:payment_id>/unmatch")
class PaymentUnmatch(MethodView):
    @blp.arguments(UnmatchSchema, example={"reason": "paid for another customer's order"})
    @blp.response(200, PaymentSchema)
    @blp.errors(404, 409)
    def post(self, data, payment_id):
        """Unmatch a payment (from every order, or from one)

        Releases the allocations, derives the orders' statuses again and leaves the payment
        `unmatched` in the review queue until an order created or changed later, or a
        reconciliation run, finds it another order (never the one it was taken from).
        """
        return payments.unmatch_payment(
            g.tenant.id,
            g.actor,
            payment_id,
            current_app.extensions["plugin_manager"],
            order_id=data.get("order_id"),
            reason=data["reason"],
        )
