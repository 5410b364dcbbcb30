"""The inbox: every webhook received, its verdict, headers and body (signatures redacted); replay and bulk replay."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask import current_app, flash, g, redirect, render_template, request, url_for

from flux_recon.models import VERDICTS
from flux_recon.services import inbox
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission, can
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires
from flux_recon.web.console.templating import time_zone
from flux_recon.web.resources.inbox.schemas import MAX_BULK_REPLAY

EVENTS_PER_PAGE = 50
DEFAULT_BULK_LIMIT = 100


@dataclass
class Filters:
    """The inbox filters as the form holds them, and as the inbox service takes them."""

    provider: str = ""
    verdicts: list[str] = field(default_factory=list)
    received_from: str = ""
    received_to: str = ""
    problems: list[str] = field(default_factory=list)

    def for_service(self) -> dict:
        chosen: dict = {}
        if self.provider:
            chosen["provider"] = self.provider
        if self.verdicts:
            chosen["verdict"] = self.verdicts
        # Up to the end of the last day, as a person reading "to 3 May" means.
        start, end = _day(self.received_from), _day(self.received_to, after=True)
        if start is not None:
            chosen["received_from"] = start
        if end is not None:
            chosen["received_to"] = end
        return chosen

    def query_args(self) -> dict:
        args = {"provider": self.provider or None, "verdict": self.verdicts or None}
        args |= {"from": self.received_from or None, "to": self.received_to or None}
        return {name: value for name, value in args.items() if value}


def _day(text: str, *, after: bool = False) -> dt.datetime | None:
    """Midnight at the start (or, ``after``, the end) of a YYYY-MM-DD day in the tenant's time
    zone, in UTC. ValueError for a day that is not one, or whose bound is outside the calendar."""
    if not text:
        return None
    day = dt.date.fromisoformat(text)
    try:
        local = dt.datetime.combine(day + dt.timedelta(days=int(after)), dt.time(), tzinfo=time_zone())
        return local.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(f"{text} is outside the calendar") from None


def _filters(source) -> Filters:
    """The filters in ``source`` (query args or a form); each unusable one is dropped and named."""
    chosen = Filters(provider=source.get("provider", "").strip()[:40])
    for verdict in source.getlist("verdict"):
        if verdict in VERDICTS:
            chosen.verdicts.append(verdict)
        elif verdict:
            chosen.problems.append(f"{verdict[:40]!r} is not a verdict")
    for name, attribute in (("from", "received_from"), ("to", "received_to")):
        value = source.get(name, "").strip()
        try:
            _day(value, after=name == "to")
        except ValueError:
            chosen.problems.append(f"{value[:40]!r} is not a day (YYYY-MM-DD)")
            continue
        setattr(chosen, attribute, value)
    return chosen


@dataclass
class EventPage:
    items: list
    number: int
    pages: int
    total: int
    filters: Filters

    def url(self, number: int) -> str:
        return url_for("console.inbox", page=number, **self.filters.query_args())


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 10**6))
    except ValueError:
        return 1


@bp.route("/inbox", endpoint="inbox")
@requires(Permission.READ)
def inbox_page():
    filters = _filters(request.args)
    for problem in filters.problems:
        flash(f"Filter left out: {problem}.", "warning")
    query = inbox.list_events(g.tenant.id, filters.for_service())
    total = query.count()
    pages = max(1, -(-total // EVENTS_PER_PAGE))
    number = min(_page_number(), pages)
    page = EventPage(list(query.paginate(number, EVENTS_PER_PAGE)), number, pages, total, filters)
    return render_template(
        "console/inbox.html",
        page=page,
        filters=filters,
        verdicts=VERDICTS,
        providers=[p.name for p in current_app.extensions["providers"]],
        max_bulk=MAX_BULK_REPLAY,
        default_bulk=DEFAULT_BULK_LIMIT,
        can_develop=can(g.console.user.role, Permission.DEVELOP),
    )


@bp.route("/inbox/<int:event_id>")
@requires(Permission.READ)
def inbox_event(event_id):
    event = inbox.get_event(event_id, tenant_id=g.tenant.id)
    body = None if event.body is None else bytes(event.body).decode("utf-8", errors="replace")
    return render_template(
        "console/inbox_event.html",
        event=event,
        body=body,
        replayable=inbox.is_replayable(event),
        can_develop=can(g.console.user.role, Permission.DEVELOP),
    )


def _replay_summary(result: dict) -> str:
    summary = f"Replayed: {result['status']}"
    if result.get("payment_id"):
        summary += f", payment {result['payment_id']}"
    if result.get("reconciliation"):
        summary += f" ({result['reconciliation']})"
    if result.get("reason"):
        summary += f". {result['reason']}"
    return summary + "."


@bp.route("/inbox/<int:event_id>/replay", methods=["POST"])
@requires(Permission.DEVELOP)
def replay_event(event_id):
    try:
        record, result = inbox.replay(
            current_app.extensions["webhook_pipeline"], event_id, tenant_id=g.tenant.id, actor=g.actor
        )
    except DomainError as refused:
        flash(refused.message, "error")
        return redirect(url_for("console.inbox_event", event_id=event_id))
    flash(_replay_summary(result), "success")
    return redirect(url_for("console.inbox_event", event_id=record.id))


@bp.route("/inbox/replay", methods=["POST"])
@requires(Permission.DEVELOP)
def replay_events():
    filters = _filters(request.form)
    back = redirect(url_for("console.inbox", **filters.query_args()))
    if filters.problems:
        flash("Nothing replayed: " + "; ".join(filters.problems) + ".", "error")
        return back
    try:
        limit = int(request.form.get("limit", DEFAULT_BULK_LIMIT))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_BULK_REPLAY:
        flash(f"Nothing replayed: replay 1 to {MAX_BULK_REPLAY} events at a time.", "error")
        return back
    done = inbox.replay_matching(
        current_app.extensions["webhook_pipeline"], g.tenant.id, filters.for_service(), limit, g.actor
    )
    if not done["replayed"]:
        flash("Nothing to replay: no authenticated event with its whole body matches these filters.", "warning")
    else:
        counts = ", ".join(f"{count} {status}" for status, count in sorted(done["by_status"].items()))
        flash(f"Replayed {done['replayed']} events: {counts}.", "success")
    return back
