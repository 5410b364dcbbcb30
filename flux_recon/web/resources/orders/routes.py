"""/api/v1/orders: the merchant's sales orders and how far each is paid."""

import peewee
from flask import current_app, g
from flask.views import MethodView
from flask_smorest import abort

from flux_recon.core.domain_events import order_event
from flux_recon.models import SalesOrder, reference_key, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import locked, write_transaction
from flux_recon.money import to_minor
from flux_recon.outbound.outbox import publishing
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.orders.schemas import OrderCreateSchema, OrderQueryArgsSchema, OrderSchema
from flux_recon.web.resources.owned import get_owned

blp = Blueprint("orders", __name__, description="Sales orders: what you expect to be paid.")

ORDER_EXAMPLE = {
    "reference": "INV-1001",
    "amount": "15000.00",
    "currency": "NGN",
    "customer": {"id": "C-77", "name": "Ada Obi", "email": "ada@example.com", "phone": "+2348012345678"},
}


def get_order(order_id: int, *, lock: bool = False) -> SalesOrder:
    return get_owned(SalesOrder, order_id, "order", query=locked(SalesOrder.select()) if lock else None)


@blp.route("")
class Orders(MethodView):
    @blp.arguments(OrderQueryArgsSchema, location="query")
    @blp.response(200, OrderSchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors()
    def get(self, args):
        """List orders, newest first (filter by status, reference, customer, creation time)"""
        query = SalesOrder.select().where(SalesOrder.tenant == g.tenant.id)
        if "status" in args:
            query = query.where(SalesOrder.status == args["status"])
        if "reference" in args:
            key = reference_key(args["reference"])
            query = query.where((SalesOrder.reference_key == key) | (SalesOrder.payment_reference_key == key))
        if "customer" in args:
            who = args["customer"].strip()
            query = query.where(
                (SalesOrder.customer_id == who)
                | (SalesOrder.customer_email == who.lower())
                | (SalesOrder.customer_phone == who)
            )
        if "created_from" in args:
            query = query.where(SalesOrder.created_at >= args["created_from"])
        if "created_to" in args:
            query = query.where(SalesOrder.created_at < args["created_to"])
        return query.order_by(SalesOrder.id.desc())

    @blp.arguments(OrderCreateSchema, example=ORDER_EXAMPLE)
    @blp.response(201, OrderSchema)
    @blp.errors(409)
    def post(self, data):
        """Create a sales order"""
        customer = data.get("customer") or {}
        email = customer.get("email")
        try:
            with write_transaction():
                order = SalesOrder.create(
                    tenant=g.tenant.id,
                    reference=data["reference"].strip(),
                    reference_key=reference_key(data["reference"]),
                    payment_reference=data.get("payment_reference"),
                    payment_reference_key=reference_key(data.get("payment_reference")),
                    virtual_account=(data.get("virtual_account") or "").strip() or None,
                    amount_minor=to_minor(data["amount"], data["currency"]),
                    currency=data["currency"],
                    description=data.get("description"),
                    customer_id=customer.get("id"),
                    customer_name=customer.get("name"),
                    customer_email=email.lower() if email else None,
                    customer_phone=customer.get("phone"),
                )
                record_audit(
                    g.tenant.id,
                    g.actor,
                    "order.created",
                    "order",
                    order.id,
                    {"reference": order.reference, "amount_minor": order.amount_minor, "currency": order.currency},
                )
        except peewee.IntegrityError:
            abort(409, message=f"an order with reference {data['reference']!r} already exists")
        return order, 201


@blp.route("/<int:order_id>")
class OrderById(MethodView):
    @blp.response(200, OrderSchema)
    @blp.errors(404)
    def get(self, order_id):
        """Show an order with its paid, outstanding and overpaid amounts"""
        return get_order(order_id)


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
        with publishing(current_app.extensions["plugin_manager"]) as events:
            order = get_order(order_id, lock=True)
            if order.status == "cancelled":
                return order
            if order.amount_paid_minor:
                abort(409, message="this order has payments allocated; unmatch them before cancelling")
            previous = order.status
            order.status = "cancelled"
            order.cancelled_at = order.updated_at = utcnow()
            order.save()
            record_audit(g.tenant.id, g.actor, "order.cancelled", "order", order.id)
            events += order_event(order, previous)
        return order
