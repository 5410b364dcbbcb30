"""The review queue: the exceptions a person must look at, with their candidates and suggestions, and the
decisions taken on them (match, split, unmatch, resolve, re-open, bulk resolve)."""

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, g, render_template, request, url_for

from flux_recon.money import format_minor
from flux_recon.services import audit, exceptions, payments, suggestions
from flux_recon.services.errors import DomainError, Invalid
from flux_recon.services.users import Permission
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires
from flux_recon.web.console.paging import Page
from flux_recon.web.console.views.money_common import (
    CURRENCIES,
    back,
    choice,
    done,
    endpoint_url,
    reason_given,
    refused,
)
from flux_recon.web.console.views.payments import SPLIT_ROWS

# The ages the filters offer ("older than", "newer than").
AGES = {
    "1h": dt.timedelta(hours=1),
    "1d": dt.timedelta(days=1),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "90d": dt.timedelta(days=90),
}
ORDERS = ("desc", "asc")
NOTE_LIMIT = 1000


@bp.route("/queue")
@requires(Permission.READ)
def queue():
    errors: dict = {}
    providers = sorted(provider.name for provider in current_app.extensions["providers"])
    reason = choice("reason", exceptions.known_reasons(), errors)
    filters = exceptions.Filters(
        reasons=[reason] if reason else None,
        provider=choice("provider", providers, errors),
        currency=choice("currency", CURRENCIES, errors),
        min_age=AGES.get(choice("older", list(AGES), errors)),
        max_age=AGES.get(choice("newer", list(AGES), errors)),
        min_amount=request.args.get("min_amount", "").strip() or None,
        max_amount=request.args.get("max_amount", "").strip() or None,
        status=choice("status", exceptions.STATUSES, errors) or "open",
        sort=choice("sort", exceptions.SORTS, errors) or "age",
        descending=(choice("order", ORDERS, errors) or "desc") == "desc",
    )
    try:
        query = exceptions.list_exceptions(g.tenant.id, filters)
    except Invalid as invalid:
        # An amount filter the queue cannot use: named on the form, the rest still applied.
        errors.update({name: list(messages) for name, messages in invalid.fields.items()})
        filters.min_amount = filters.max_amount = None
        query = exceptions.list_exceptions(g.tenant.id, filters)
    page = Page(query, "console.queue")
    html = render_template(
        "console/queue.html",
        page=page,
        errors=errors,
        reasons=exceptions.known_reasons(),
        providers=providers,
        currencies=CURRENCIES,
        ages=list(AGES),
        statuses=exceptions.STATUSES,
        max_bulk=exceptions.MAX_BULK,
    )
    return html, 422 if errors else 200


@bp.route("/queue/<item_id>")
@requires(Permission.READ)
def queue_item(item_id):
    item = exceptions.get_exception(g.tenant.id, item_id)
    payment = payments.get_payment(g.tenant.id, item.subject_id) if item.source == "payment" else None
    live = [a for a in payments.payment_allocations(payment) if a.released_at is None] if payment else []
    history = Page(
        audit.list_entries(g.tenant.id, object_type="exception", object_id=item.id),
        "console.queue_item",
        param="timeline",
        item_id=item.id,
    )
    return render_template(
        "console/queue_item.html",
        item=item,
        payment=payment,
        live=live,
        unallocated=payment and format_minor(suggestions.unallocated_minor(payment), payment.currency),
        inbox_url=item.source == "webhook" and endpoint_url("console.inbox_event", event_id=item.subject_id),
        timeline=history,
        split_rows=SPLIT_ROWS,
    )


@bp.route("/queue/<item_id>/resolve", methods=["POST"])
@requires(Permission.MONEY)
def resolve_item(item_id):
    here = url_for("console.queue_item", item_id=item_id)
    note = reason_given("note", NOTE_LIMIT)
    if note is None:
        return back(here)
    try:
        exceptions.resolve(g.tenant.id, g.actor, item_id, note)
    except DomainError as refusal:
        refused(refusal)
        return back(here)
    flash(f"{item_id} resolved: it stays out of the queue until its state changes.", "success")
    return done(url_for("console.queue"))


@bp.route("/queue/<item_id>/reopen", methods=["POST"])
@requires(Permission.MONEY)
def reopen_item(item_id):
    here = url_for("console.queue_item", item_id=item_id)
    note = reason_given("note", NOTE_LIMIT)
    if note is None:
        return back(here)
    try:
        exceptions.reopen(g.tenant.id, g.actor, item_id, note)
    except DomainError as refusal:
        refused(refusal)
    else:
        flash(f"{item_id} is open again.", "success")
    return back(here)


@bp.route("/queue/resolve", methods=["POST"])
@requires(Permission.MONEY)
def resolve_items():
    here = url_for("console.queue")
    ids = [value for value in request.form.getlist("ids") if value]
    if not ids:
        flash("Tick the items to resolve first.", "error")
        return back(here)
    note = reason_given("note", NOTE_LIMIT)
    if note is None:
        return back(here)
    try:
        result = exceptions.resolve_many(g.tenant.id, g.actor, ids, note)
    except DomainError as refusal:
        refused(refusal)
        return back(here)
    message = f"{len(result['resolved'])} resolved."
    if result["skipped"]:
        skipped = ", ".join(f"{s['id']} ({s['reason'].replace('_', ' ')})" for s in result["skipped"])
        message += f" Skipped: {skipped}."
    flash(message, "success" if result["resolved"] else "warning")
    return back(here)


@bp.app_template_filter("queue_age")
def queue_age(seconds: int) -> str:
    """An item's age as people say it: 45 min, 5 h, 3 d."""
    if seconds < 3600:
        return f"{max(seconds // 60, 0)} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
