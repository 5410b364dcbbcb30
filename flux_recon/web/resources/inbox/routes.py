"""/api/v1/webhook-events: the inbox of every webhook received, and replaying them."""

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import abort

from flux_recon.models import WebhookEvent
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.inbox.schemas import (
    BulkReplayResultSchema,
    BulkReplaySchema,
    ReplaySchema,
    WebhookEventQueryArgsSchema,
    WebhookEventSchema,
)
from flux_recon.web.resources.owned import get_owned

blp = Blueprint(
    "webhook_events",
    __name__,
    description="Every request to one of your webhook URLs, accepted or refused, with its verdict.",
)
URL_PREFIX = "/api/v1/webhook-events"


def _filtered(query, args):
    if args.get("provider"):
        query = query.where(WebhookEvent.provider == args["provider"])
    if args.get("verdict"):
        query = query.where(WebhookEvent.verdict.in_(args["verdict"]))
    for name in ("integration_id", "payment_id"):
        if name in args:
            query = query.where(getattr(WebhookEvent, name.removesuffix("_id")) == args[name])
    if "received_from" in args:
        query = query.where(WebhookEvent.received_at >= args["received_from"])
    if "received_to" in args:
        query = query.where(WebhookEvent.received_at < args["received_to"])
    return query


def replayable(query):
    """Authenticated events whose whole body is still kept: the only ones a replay may use."""
    return query.where(WebhookEvent.authenticated & WebhookEvent.body.is_null(False) & ~WebhookEvent.body_truncated)


def get_event(event_id: int) -> WebhookEvent:
    return get_owned(WebhookEvent, event_id, "webhook event")


@blp.route("")
class WebhookEvents(MethodView):
    @blp.arguments(WebhookEventQueryArgsSchema, location="query")
    @blp.response(200, WebhookEventSchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors()
    def get(self, args):
        """List received webhooks, newest first (filter by provider, verdict, time, payment)"""
        query = WebhookEvent.select().where(WebhookEvent.tenant == g.tenant.id)
        return _filtered(query, args).order_by(WebhookEvent.id.desc())


@blp.route("/<int:event_id>")
class WebhookEventById(MethodView):
    @blp.response(200, WebhookEventSchema)
    @blp.errors(404)
    def get(self, event_id):
        """Show a received webhook: source, verdict, reason, headers, body, resulting payment"""
        return get_event(event_id)


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
        event = get_event(event_id)
        if not replayable(WebhookEvent.select().where(WebhookEvent.id == event.id)).exists():
            abort(409, message="only authenticated events whose whole body is kept can be replayed")
        record, result = current_app.extensions["webhook_handler"].replay(event)
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
        query = replayable(WebhookEvent.select().where(WebhookEvent.tenant == g.tenant.id))
        query = _filtered(query, data).where(WebhookEvent.replay_of.is_null())
        handler = current_app.extensions["webhook_handler"]
        by_status: dict[str, int] = {}
        replayed = []
        for event in query.order_by(WebhookEvent.id).limit(data["limit"]):
            _, result = handler.replay(event)
            by_status[result["status"]] = by_status.get(result["status"], 0) + 1
            replayed.append(event.id)
        return {"replayed": len(replayed), "by_status": by_status, "event_ids": replayed}
