"""/api/v1/payments: payments received from providers and how each was reconciled."""

import json

from flask import g
from flask.views import MethodView
from flask_smorest import abort
from peewee import Value, prefetch

from ...extensions.api import Blueprint
from ...extensions.pager import PeeweePage
from ...models import Allocation, Payment
from .schemas import PaymentQueryArgsSchema, PaymentSchema

blp = Blueprint("payments", __name__, description="Payments reported by providers, with their reconciliation.")


class PrefetchingPage(PeeweePage):
    """Loads each page's allocations in one extra query instead of one per payment."""

    @property
    def items(self):
        page = self.collection.paginate(self.page_params.page, self.page_params.page_size)
        return prefetch(page, Allocation.select().order_by(Allocation.id))


@blp.route("")
class Payments(MethodView):
    @blp.arguments(PaymentQueryArgsSchema, location="query")
    @blp.response(200, PaymentSchema(many=True))
    @blp.paginate(PrefetchingPage)
    @blp.errors()
    def get(self, args):
        """List payments, newest first (filter by reconciliation state, status, provider, reference, order, time)"""
        query = Payment.select().where(Payment.tenant == g.tenant.id)
        for name in ("reconciliation", "status", "provider"):
            if name in args:
                query = query.where(getattr(Payment, name) == args[name])
        if "reference" in args:
            # A text search in the stored JSON array: fine for a filter (matching itself
            # never scans). Value(converter=False) keeps JSONField from re-encoding it.
            pattern = "%" + json.dumps(args["reference"]) + "%"
            query = query.where(Payment.references ** Value(pattern, converter=False))
        if "order_id" in args:
            query = query.where(
                Payment.id.in_(Allocation.select(Allocation.payment).where(Allocation.order == args["order_id"]))
            )
        if "received_from" in args:
            query = query.where(Payment.received_at >= args["received_from"])
        if "received_to" in args:
            query = query.where(Payment.received_at < args["received_to"])
        return query.order_by(Payment.id.desc())


@blp.route("/<int:payment_id>")
class PaymentById(MethodView):
    @blp.response(200, PaymentSchema)
    @blp.errors(404)
    def get(self, payment_id):
        """Show a payment with its allocations"""
        payment = Payment.select().where((Payment.id == payment_id) & (Payment.tenant == g.tenant.id)).first()
        if payment is None:
            abort(404, message=f"payment {payment_id} not found")
        return payment
