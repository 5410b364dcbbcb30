"""Payments: the list with its filters, a payment's webhooks, allocations, settlement and audit trail, and matching,
splitting and unmatching it by hand."""

from __future__ import annotations

from flask import current_app, flash, g, render_template, request, url_for

from flux_recon.models import PAYMENT_STATUSES, RECONCILIATION_STATES
from flux_recon.money import format_minor
from flux_recon.services import audit, inbox, orders, payments, suggestions
from flux_recon.services.errors import DomainError, Invalid
from flux_recon.services.users import Permission, can
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires
from flux_recon.web.console.paging import Page
from flux_recon.web.console.views.money_common import (
    CURRENCIES,
    back,
    choice,
    date_range,
    done,
    endpoint_url,
    plugin_manager,
    reason_given,
    refused,
)

# A payment's webhooks shown on its page (a provider may resend one a few times).
MAX_WEBHOOKS = 10
# Rows in the split form.
SPLIT_ROWS = 4


@bp.route("/payments", endpoint="payments")
@requires(Permission.READ)
def payments_page():
    errors: dict = {}
    received_from, received_to = date_range(errors)
    providers = sorted(provider.name for provider in current_app.extensions["providers"])
    state = choice("reconciliation", RECONCILIATION_STATES, errors)
    order_id = request.args.get("order_id", type=int)
    query = payments.list_payments(
        g.tenant.id,
        reconciliation=[state] if state else None,
        status=choice("status", PAYMENT_STATUSES, errors),
        provider=choice("provider", providers, errors),
        currency=choice("currency", CURRENCIES, errors),
        order_id=order_id if order_id and order_id > 0 else None,
        received_from=received_from,
        received_to=received_to,
    )
    page = Page(query, "console.payments")
    html = render_template(
        "console/payments.html",
        page=page,
        errors=errors,
        providers=providers,
        states=RECONCILIATION_STATES,
        statuses=PAYMENT_STATUSES,
        currencies=CURRENCIES,
    )
    return html, 422 if errors else 200


@bp.route("/payments/<int:payment_id>")
@requires(Permission.READ)
def payment(payment_id):
    found = payments.get_payment(g.tenant.id, payment_id)
    webhooks = list(inbox.list_events(g.tenant.id, {"payment_id": found.id}).limit(MAX_WEBHOOKS))
    allocations = payments.payment_allocations(found)
    timeline = Page(
        audit.list_entries(g.tenant.id, object_type="payment", object_id=str(found.id)),
        "console.payment",
        param="timeline",
        payment_id=found.id,
    )
    may_change = can(g.console.user.role, Permission.MONEY)
    line = payments.settlement_line(found)
    return render_template(
        "console/payments_detail.html",
        payment=found,
        unallocated=format_minor(suggestions.unallocated_minor(found), found.currency),
        webhooks=[
            (event, _body_text(event), endpoint_url("console.inbox_event", event_id=event.id)) for event in webhooks
        ],
        allocations=allocations,
        live=[allocation for allocation in allocations if allocation.released_at is None],
        line=line,
        settlement_url=line and endpoint_url("console.settlement", settlement_id=line.settlement_id),
        timeline=timeline,
        may_change=may_change,
        split_rows=SPLIT_ROWS,
        queue_item=f"payment:{found.id}",
    )


@bp.route("/payments/<int:payment_id>/match", methods=["POST"])
@requires(Permission.MONEY)
def match_payment(payment_id):
    here = url_for("console.payment", payment_id=payment_id)
    reason = reason_given()
    if reason is None:
        return back(here)
    amount = request.form.get("amount", "").strip() or None
    try:
        order = orders.find_order(g.tenant.id, request.form.get("order", ""))
        matched = payments.match_payment(
            g.tenant.id, g.actor, payment_id, order.id, plugin_manager(), amount=amount, reason=reason
        )
    except DomainError as refusal:
        refused(refusal)
        return back(here)
    flash(f"Payment {matched.external_id} matched to order {order.reference} ({matched.reconciliation}).", "success")
    return done(here)


@bp.route("/payments/<int:payment_id>/split", methods=["POST"])
@requires(Permission.MONEY)
def split_payment(payment_id):
    here = url_for("console.payment", payment_id=payment_id)
    reason = reason_given()
    if reason is None:
        return back(here)
    named = [
        (request.form.get(f"order_{row}", "").strip(), request.form.get(f"amount_{row}", "").strip())
        for row in range(SPLIT_ROWS)
    ]
    try:
        parts = []
        for wanted, amount in named:
            if not wanted and not amount:
                continue
            if not wanted or not amount:
                raise _incomplete()
            parts.append((orders.find_order(g.tenant.id, wanted).id, amount))
        split = payments.split_payment(g.tenant.id, g.actor, payment_id, parts, plugin_manager(), reason=reason)
    except DomainError as refusal:
        refused(refusal)
        return back(here)
    flash(f"Payment {split.external_id} split across {len(parts)} orders ({split.reconciliation}).", "success")
    return done(here)


@bp.route("/payments/<int:payment_id>/unmatch", methods=["POST"])
@requires(Permission.MONEY)
def unmatch_payment(payment_id):
    here = url_for("console.payment", payment_id=payment_id)
    reason = reason_given()
    if reason is None:
        return back(here)
    order_id = request.form.get("order_id", type=int)
    try:
        unmatched = payments.unmatch_payment(
            g.tenant.id, g.actor, payment_id, plugin_manager(), order_id=order_id or None, reason=reason
        )
    except DomainError as refusal:
        refused(refusal)
        return back(here)
    flash(f"Payment {unmatched.external_id} unmatched: it waits in the review queue.", "success")
    return back(here)


@bp.route("/payments/<int:payment_id>/suggestions/<int:order_id>/accept", methods=["POST"])
@requires(Permission.MONEY)
def accept_suggestion(payment_id, order_id):
    here = url_for("console.payment", payment_id=payment_id)
    note = reason_given()
    if note is None:
        return back(here)
    try:
        matched, suggestion = suggestions.accept(
            g.tenant.id, g.actor, payment_id, order_id, plugin_manager(), note=note
        )
    except DomainError as refusal:
        refused(refusal)
        return back(here)
    flash(f"Payment {matched.external_id} matched to order {suggestion.order.reference}.", "success")
    return done(here)


@bp.route("/payments/<int:payment_id>/suggestions/<int:order_id>/decline", methods=["POST"])
@requires(Permission.MONEY)
def decline_suggestion(payment_id, order_id):
    here = url_for("console.payment", payment_id=payment_id)
    note = reason_given()
    if note is None:
        return back(here)
    try:
        suggestions.decline(g.tenant.id, g.actor, payment_id, order_id, note=note)
    except DomainError as refusal:
        refused(refusal)
    else:
        flash(f"Order {order_id} will not be suggested for this payment again.", "success")
    return back(here)


def _incomplete() -> DomainError:
    return Invalid("each row of a split needs both an order and an amount")


def _body_text(event) -> str | None:
    """The body as the inbox keeps it (capped), as text."""
    return None if event.body is None else bytes(event.body).decode("utf-8", errors="replace")
