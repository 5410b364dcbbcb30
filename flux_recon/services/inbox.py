"""The webhook inbox: listing received webhooks and replaying stored ones through the pipeline."""

from __future__ import annotations

import datetime as dt

from peewee import SQL, fn

from flux_recon.core.states import Verdict
from flux_recon.inbound.pipeline import WebhookPipeline
from flux_recon.models import ExceptionDecision, WebhookEvent, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.services.errors import Conflict, NotFound
from flux_recon.services.exceptions import RESOLVED, UNDERSTOOD, WebhookSource
from flux_recon.services.owned import get_owned

NOT_REPLAYABLE = "only authenticated events whose whole body is kept can be replayed"


def filtered(query, filters: dict):
    """``query`` narrowed by provider, verdicts, integration, payment and a received-at range."""
    if filters.get("provider"):
        query = query.where(WebhookEvent.provider == filters["provider"])
    if filters.get("verdict"):
        query = query.where(WebhookEvent.verdict.in_(filters["verdict"]))
    for name in ("integration_id", "payment_id"):
        if name in filters:
            query = query.where(getattr(WebhookEvent, name.removesuffix("_id")) == filters[name])
    if "received_from" in filters:
        query = query.where(WebhookEvent.received_at >= filters["received_from"])
    if "received_to" in filters:
        query = query.where(WebhookEvent.received_at < filters["received_to"])
    return query


def list_events(tenant_id: str, filters: dict):
    """The tenant's received webhooks matching ``filters``, newest first (a query, to page)."""
    query = WebhookEvent.select().where(WebhookEvent.tenant == tenant_id)
    return filtered(query, filters).order_by(WebhookEvent.id.desc())


def replayable(query):
    """Authenticated events whose whole body is still kept: the only ones a replay may use."""
    return query.where(WebhookEvent.authenticated & WebhookEvent.body.is_null(False) & ~WebhookEvent.body_truncated)


def is_replayable(event: WebhookEvent) -> bool:
    """Whether ``event`` may be replayed (what ``replay`` checks before it does)."""
    return replayable(WebhookEvent.select().where(WebhookEvent.id == event.id)).exists()


def get_event(event_id: int, *, tenant_id: str | None) -> WebhookEvent:
    """The event, or NotFound. ``tenant_id`` None is the operator's view: any tenant's event."""
    if tenant_id is not None:
        return get_owned(WebhookEvent, event_id, "webhook event", tenant_id)
    event = WebhookEvent.get_or_none(WebhookEvent.id == event_id)
    if event is None:
        raise NotFound(f"webhook event {event_id} not found")
    return event


def replay(
    pipeline: WebhookPipeline, event_id: int, *, tenant_id: str | None, actor: str = "cli"
) -> tuple[WebhookEvent, dict]:
    """Replay one stored webhook (NotFound, or Conflict if it is not replayable): the inbox
    record the replay wrote, and its result. A payment already recorded is a duplicate.
    Who replayed it, and what came of it, is in the audit log."""
    event = get_event(event_id, tenant_id=tenant_id)
    if not is_replayable(event):
        raise Conflict(NOT_REPLAYABLE)
    record, result = pipeline.replay(event)
    _audit_replay(event, record, result, actor)
    return record, result


def _audit_replay(event: WebhookEvent, record: WebhookEvent, result: dict, actor: str) -> None:
    details = {"replay_event_id": record.id, "status": result.get("status"), "payment_id": result.get("payment_id")}
    record_audit(event.tenant_id, actor, "webhook_event.replayed", "webhook_event", event.id, details)


def replay_matching(pipeline: WebhookPipeline, tenant_id: str, filters: dict, limit: int, actor: str = "api") -> dict:
    """Replay the tenant's replayable events matching ``filters``, oldest first, at most
    ``limit``; replays themselves are not replayed again. ``{replayed, by_status, event_ids}``."""
    query = filtered(replayable(WebhookEvent.select().where(WebhookEvent.tenant == tenant_id)), filters)
    query = query.where(WebhookEvent.replay_of.is_null())
    by_status: dict[str, int] = {}
    replayed = []
    for event in query.order_by(WebhookEvent.id).limit(limit):
        record, result = pipeline.replay(event)
        _audit_replay(event, record, result, actor)
        by_status[result["status"]] = by_status.get(result["status"], 0) + 1
        replayed.append(event.id)
    return {"replayed": len(replayed), "by_status": by_status, "event_ids": replayed}


def awaiting_a_person():
    """Unrecognized webhooks as received that are still open in the exception queue: no
    replay of them was understood and nobody resolved them. Their body is the only copy of
    what may be a payment (the provider was answered and will not send it again)."""
    replay = WebhookEvent.alias()
    understood = replay.select(SQL("1")).where((replay.replay_of == WebhookEvent.id) & replay.verdict.in_(UNDERSTOOD))
    resolved = ExceptionDecision.select(SQL("1")).where(
        (ExceptionDecision.tenant == WebhookEvent.tenant)
        & (ExceptionDecision.source == WebhookSource.key)
        & (ExceptionDecision.subject_id == WebhookEvent.id)
        & (ExceptionDecision.status == RESOLVED)
    )
    return WebhookEvent.select(WebhookEvent.id).where(
        (WebhookEvent.verdict == Verdict.UNRECOGNIZED)
        & WebhookEvent.replay_of.is_null()
        & ~fn.EXISTS(understood)
        & ~fn.EXISTS(resolved)
    )


def purge_bodies(older_than_days: int) -> int:
    """Drop the bodies of records older than the retention, but those of webhooks still
    awaiting a person (``awaiting_a_person``); the verdict rows stay. Returns how many."""
    cutoff = utcnow() - dt.timedelta(days=older_than_days)
    kept = awaiting_a_person().where(WebhookEvent.received_at < cutoff)
    return (
        WebhookEvent.update(body=None)
        .where((WebhookEvent.received_at < cutoff) & WebhookEvent.body.is_null(False) & WebhookEvent.id.not_in(kept))
        .execute()
    )
