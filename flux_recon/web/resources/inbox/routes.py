"""/api/v1/webhook-events: the inbox of every webhook received, and replaying them."""

from flask import current_app, g
from flask.views import MethodView

from flux_recon.services import inbox
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.inbox.schemas import (
    BulkReplayResultSchema,
    BulkReplaySchema,
    ReplaySchema,
    WebhookEventQueryArgsSchema,
    WebhookEventSchema,
)

blp = Blueprint(
    "webhook_events",
    __name__,
    description="Every request to one of your webhook URLs, accepted or refused, with its verdict.",
)
URL_PREFIX = "/api/v1/webhook-events"


@blp.route("")
class WebhookEvents(MethodView):
    @blp.arguments(WebhookEventQueryArgsSchema, location="query")
    @blp.response(200, WebhookEventSchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors()
    def get(self, args):
        """List received webhooks, newest first (filter by provider, verdict, time, payment)"""
        return inbox.list_events(g.tenant.id, args)


@blp.route("/<int:event_id>")
class WebhookEventById(MethodView):
    @blp.response(200, WebhookEventSchema)
    @blp.errors(404)
    def get(self, event_id):
        """Show a received webhook: source, verdict, reason, headers, body, resulting payment"""
        return inbox.get_event(event_id, tenant_id=g.tenant.id)


@blp.route("/<int:event_id>/replay")
class WebhookEventReplay(MethodView):
    @blp.response(200, ReplaySchema)
    @blp.errors(404, 409)
    def post(self, event_id):
        """Replay a stored webhook (after a plugin fix, say)

        Parses and reconciles the stored body again and records the replay in the inbox.
        A payment already recorded is a duplicate: a replay never counts anything twice.
        Only events that passed authentication, with their whole body kept, can be
        replayed: a refused request can never be replayed into acceptance.
        """
        pipeline = current_app.extensions["webhook_pipeline"]
        record, result = inbox.replay(pipeline, event_id, tenant_id=g.tenant.id, actor=g.actor)
        return {"event": record, "result": result}


@blp.route("/replay")
class WebhookEventsBulkReplay(MethodView):
    @blp.arguments(BulkReplaySchema, example={"provider": "core", "verdict": ["invalid_payload"], "limit": 100})
    @blp.response(200, BulkReplayResultSchema)
    @blp.errors()
    def post(self, data):
        """Replay every matching stored webhook (oldest first, at most `limit`)

        The same rules as a single replay: only authenticated, intact events; replays
        themselves are not replayed again.
        """
        pipeline = current_app.extensions["webhook_pipeline"]
        return inbox.replay_matching(pipeline, g.tenant.id, data, data["limit"], g.actor)
