"""/api/v1/subscriptions, /event-types and /deliveries: outbound event webhooks."""

from flask import current_app, g
from flask.views import MethodView

from flux_recon.outbound.catalog import EVENT_TYPES
from flux_recon.outbound.outbox import event_document
from flux_recon.services import deliveries, subscriptions
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.subscriptions.schemas import (
    BulkRedeliverResultSchema,
    BulkRedeliverSchema,
    DeliveryQueryArgsSchema,
    DeliverySchema,
    EventTypeSchema,
    SubscriptionCreateSchema,
    SubscriptionPatchSchema,
    SubscriptionSchema,
    SubscriptionWithKeySchema,
    TestResultSchema,
)

URL_PREFIX = "/api/v1"

blp = Blueprint(
    "subscriptions",
    __name__,
    description="Outbound event webhooks: your systems hear when a payment arrives or an order is paid.",
)

CREATE_EXAMPLE = {
    "label": "Shop front",
    "url": "https://shop.example.com/hooks/flux-recon",
    "events": ["payment.matched", "order.paid"],
    "authentication": {"type": "basic", "username": "flux", "password": "s3cret"},
    "signature": {"type": "signing_key"},
}


def secret_box():
    return current_app.extensions["secret_box"]


def allow_private() -> bool:
    """Whether the operator lets subscriptions reach private addresses (ALLOW_PRIVATE_DESTINATIONS)."""
    return current_app.config["ALLOW_PRIVATE_DESTINATIONS"]


@blp.route("/event-types")
class EventTypes(MethodView):
    @blp.response(200, EventTypeSchema(many=True))
    @blp.errors()
    def get(self):
        """List the event types you can subscribe to, each with an example delivery body"""
        return [
            {
                "type": name,
                "description": spec["description"],
                "example": event_document(name, spec["example"], event_id="0" * 64),
            }
            for name, spec in EVENT_TYPES.items()
        ]


@blp.route("/subscriptions")
class Subscriptions(MethodView):
    @blp.response(200, SubscriptionSchema(many=True))
    @blp.errors()
    def get(self):
        """List your subscriptions"""
        return subscriptions.list_subscriptions(g.tenant.id)

    @blp.arguments(SubscriptionCreateSchema, example=CREATE_EXAMPLE)
    @blp.response(201, SubscriptionWithKeySchema)
    @blp.errors(422)
    def post(self, data):
        """Subscribe a URL to events

        The URL must be https (http only for private destinations the operator allows).
        With `signature: {"type": "signing_key"}` the answer holds the signing key, once.
        """
        return subscriptions.create(g.tenant.id, g.actor, data, secret_box(), allow_private()), 201


@blp.route("/subscriptions/<int:subscription_id>")
class SubscriptionById(MethodView):
    @blp.response(200, SubscriptionSchema)
    @blp.errors(404)
    def get(self, subscription_id):
        """Show a subscription (never its password or signing key)"""
        return subscriptions.show(g.tenant.id, subscription_id)

    @blp.arguments(SubscriptionPatchSchema, example={"events": ["order.paid"], "authentication": {"type": "none"}})
    @blp.response(200, SubscriptionWithKeySchema)
    @blp.errors(404, 422)
    def patch(self, data, subscription_id):
        """Change any field; authentication changes only when you send it"""
        return subscriptions.update(g.tenant.id, subscription_id, g.actor, data, secret_box(), allow_private())

    @blp.response(204)
    @blp.errors(404)
    def delete(self, subscription_id):
        """Delete a subscription and its pending deliveries"""
        subscriptions.delete(g.tenant.id, subscription_id, g.actor)


@blp.route("/subscriptions/<int:subscription_id>/signing-key")
class SubscriptionSigningKey(MethodView):
    @blp.response(200, SubscriptionWithKeySchema)
    @blp.errors(404)
    def post(self, subscription_id):
        """Regenerate the signing key (shown once; the old one stops signing at once)"""
        return subscriptions.regenerate_signing_key(g.tenant.id, subscription_id, g.actor, secret_box())


@blp.route("/subscriptions/<int:subscription_id>/test")
class SubscriptionTest(MethodView):
    @blp.response(200, TestResultSchema)
    @blp.errors(404, 422)
    def post(self, subscription_id):
        """Send a `ping` event now and show the receiver's answer (nothing is stored)"""
        return subscriptions.send_ping(g.tenant.id, subscription_id, secret_box(), allow_private())


@blp.route("/subscriptions/<int:subscription_id>/deliveries")
class SubscriptionDeliveries(MethodView):
    @blp.arguments(DeliveryQueryArgsSchema, location="query")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors(404)
    def get(self, args, subscription_id):
        """List a subscription's deliveries, newest first: status, attempts, last answer, next attempt"""
        return deliveries.list_deliveries(g.tenant.id, subscription_id, args.get("status"))


@blp.route("/deliveries/<int:delivery_id>/redeliver")
class DeliveryRedeliver(MethodView):
    @blp.response(200, DeliverySchema)
    @blp.errors(404)
    def post(self, delivery_id):
        """Deliver again now (from a fresh retry schedule)"""
        return deliveries.redeliver(g.tenant.id, delivery_id, g.actor)


@blp.route("/deliveries/redeliver")
class DeliveriesBulkRedeliver(MethodView):
    @blp.arguments(BulkRedeliverSchema, example={"since": "2026-11-22T00:00:00Z"})
    @blp.response(200, BulkRedeliverResultSchema)
    @blp.errors()
    def post(self, data):
        """Deliver again every failed delivery created since a time (of one subscription, or all)"""
        return {
            "redelivered": deliveries.redeliver_failed(g.tenant.id, data["since"], data.get("subscription_id"), g.actor)
        }
