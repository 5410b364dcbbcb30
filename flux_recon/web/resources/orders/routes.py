"""/api/v1/orders: the merchant's sales orders and how far each is paid."""

from flask import current_app, g
from flask.views import MethodView

from flux_recon.services import orders, settlements
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.orders.schemas import (
    OrderCreateSchema,
    OrderDetailSchema,
    OrderQueryArgsSchema,
    OrderSchema,
    OrderUpdateSchema,
)

blp = Blueprint("orders", __name__, description="Sales orders: what you expect to be paid.")

ORDER_EXAMPLE = {
    "reference": "INV-1001",
    "amount": "15000.00",
    "currency": "NGN",
    "customer": {"id": "C-77", "name": "Ada Obi", "email": "ada@example.com", "phone": "+2348012345678"},
}


def _matching() -> dict:
    extensions = current_app.extensions
    return {"engine": extensions["engine"], "plugin_manager": extensions["plugin_manager"]}


@blp.route("")
class Orders(MethodView):
    @blp.arguments(OrderQueryArgsSchema, location="query")
    @blp.response(200, OrderSchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors()
    def get(self, args):
        """List orders, newest first (filter by status, reference, customer, creation time)"""
        return orders.list_orders(g.tenant.id, **args)

    @blp.arguments(OrderCreateSchema, example=ORDER_EXAMPLE)
    @blp.response(201, OrderSchema)
    @blp.errors(409)
    def post(self, data):
        """Create a sales order

        Payments received before the order existed (unmatched, or ambiguous) are looked up
        and matched to it by the same strategies as a webhook, in the same transaction: the
        order in the answer shows what they paid.
        """
        return orders.create_order(g.tenant.id, g.actor, **data, **_matching()), 201


@blp.route("/<int:order_id>")
class OrderById(MethodView):
    @blp.response(200, OrderDetailSchema)
    @blp.errors(404)
    def get(self, order_id):
        """Show an order with its paid, outstanding and overpaid amounts, and how much of it is settled"""
        order = orders.get_order(g.tenant.id, order_id)
        order.settled_minor = settlements.settled_minor(order)
        return order

    @blp.arguments(OrderUpdateSchema, example={"payment_reference": "PAY-88231", "amount": "17500.00"})
    @blp.response(200, OrderDetailSchema)
    @blp.errors(404, 409)
    def patch(self, data, order_id):
        """Change an order

        Only the fields sent change (`customer`: the customer fields sent). The amount
        cannot go below what is already allocated, nor the currency change once a payment
        is allocated (422); the reference stays unique (409); a cancelled order cannot be
        changed (409). Every change is in the audit log with the values before and after,
        and the status follows a new amount. A change to a field matching uses (references,
        virtual account, customer, amount, currency) looks up the open payments the order
        may now be for and matches them as a webhook would.
        """
        order = orders.update_order(g.tenant.id, g.actor, order_id, data, **_matching())
        order.settled_minor = settlements.settled_minor(order)
        return order


@blp.route("/<int:order_id>/cancel")
class OrderCancel(MethodView):
    @blp.response(200, OrderSchema)
    @blp.errors(404, 409)
    def post(self, order_id):
        """Cancel an order

        A payment that later matches a cancelled order is held as an exception for
        review, never applied. An order that has payments allocated cannot be cancelled
        (unmatch them first).
        """
        return orders.cancel_order(g.tenant.id, g.actor, order_id, current_app.extensions["plugin_manager"])
