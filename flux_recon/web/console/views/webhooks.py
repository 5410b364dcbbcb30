"""Outbound webhooks: the form that subscribes a URL to events, editing, deleting, a test event and the delivery log."""

from __future__ import annotations

from dataclasses import dataclass

import marshmallow as ma
from flask import current_app, flash, g, redirect, render_template, request, url_for

from flux_recon.models import DELIVERY_STATUSES
from flux_recon.outbound.catalog import EVENT_TYPES
from flux_recon.services import deliveries, subscriptions
from flux_recon.services.errors import DomainError, Invalid
from flux_recon.services.users import Permission, can
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires
from flux_recon.web.resources.subscriptions.schemas import SubscriptionCreateSchema, SubscriptionPatchSchema

DELIVERIES_PER_PAGE = 25
# The form's choices, as the seed names them, onto what a subscription holds.
AUTHENTICATIONS = (("none", "None"), ("basic", "Basic (username and password)"))
SIGNATURES = (
    ("none", "None: deliveries are not signed"),
    ("signing_key", "Signature key: generated here and shown once; signs every delivery"),
)


def _secret_box():
    return current_app.extensions["secret_box"]


def _allow_private() -> bool:
    return current_app.config["ALLOW_PRIVATE_DESTINATIONS"]


def _refused(refused: DomainError) -> None:
    details = "".join(f" {name}: {', '.join(messages)}." for name, messages in refused.fields.items())
    flash(refused.message + details, "error")


@dataclass
class DeliveryPage:
    """One page of a subscription's delivery log, as the pager macro reads it."""

    items: list
    number: int
    pages: int
    total: int
    subscription_id: int
    status: str | None

    def url(self, number: int) -> str:
        return url_for("console.webhook", subscription_id=self.subscription_id, page=number, status=self.status or None)


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 10**6))
    except ValueError:
        return 1


def _flat_errors(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as one list per form field: authentication.password is
    password, and a nested object's own or type error, or a list item's, is its field's."""
    flat: dict[str, list[str]] = {}
    for name, value in messages.items():
        key = prefix if prefix and (isinstance(name, int) or name in ("_schema", "type")) else str(name)
        if isinstance(value, dict):
            for inner, inner_messages in _flat_errors(value, key).items():
                flat.setdefault(inner, []).extend(inner_messages)
        else:
            flat.setdefault(key, []).extend(str(m) for m in value)
    return flat


def _authentication_from_form() -> dict:
    kind = request.form.get("auth_type", "none")
    if kind != "basic":
        return {"type": kind}
    # A blank part is left out, so the schema answers "needs a username and a password".
    parts = {"username": request.form.get("username", "").strip(), "password": request.form.get("password", "")}
    return {"type": "basic", **{name: value for name, value in parts.items() if value}}


def _form_data(*, creating: bool) -> dict:
    """The form as the REST API's schema takes it; on an edit, authentication only when it is reset."""
    data = {
        "label": request.form.get("label", "").strip(),
        "url": request.form.get("url", "").strip(),
        "events": request.form.getlist("events"),
        "signature": {"type": request.form.get("signature", "none")},
    }
    if creating or request.form.get("auth_mode") == "reset":
        data["authentication"] = _authentication_from_form()
    return data


def _render_form(subscription: dict | None, errors: dict, status: int = 200):
    form = request.form if request.method == "POST" else None
    return (
        render_template(
            "console/webhook_form.html",
            subscription=subscription,
            form=form,
            errors=errors,
            event_types=EVENT_TYPES,
            authentications=AUTHENTICATIONS,
            signatures=SIGNATURES,
        ),
        status,
    )


def _created_or_changed(result: dict, message: str):
    """Show a new signing key once; otherwise back to the webhook with a message."""
    if result.get("signing_key"):
        return render_template("console/webhook_key.html", subscription=result, message=message)
    flash(message, "success")
    return redirect(url_for("console.webhook", subscription_id=result["id"]))


@bp.route("/webhooks", endpoint="webhooks")
@requires(Permission.READ, second_factor=True)
def webhooks_page():
    return render_template(
        "console/webhooks.html",
        subscriptions=subscriptions.list_subscriptions(g.tenant.id),
        can_develop=can(g.console.user.role, Permission.DEVELOP),
    )


@bp.route("/webhooks/new")
@requires(Permission.DEVELOP, second_factor=True)
def new_webhook():
    return _render_form(None, {})


@bp.route("/webhooks", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def create_webhook():
    try:
        data = SubscriptionCreateSchema().load(_form_data(creating=True))
        result = subscriptions.create(g.tenant.id, g.actor, data, _secret_box(), _allow_private())
    except ma.ValidationError as bad:
        return _render_form(None, _flat_errors(bad.messages), 422)
    except Invalid as refused:
        return _render_form(None, {**refused.fields, "form": [refused.message]}, 422)
    return _created_or_changed(result, f"Webhook {result['label']} added.")


@bp.route("/webhooks/<int:subscription_id>")
@requires(Permission.READ, second_factor=True)
def webhook(subscription_id):
    subscription = subscriptions.show(g.tenant.id, subscription_id)
    status = request.args.get("status") or None
    if status not in (None, *DELIVERY_STATUSES):
        flash(f"Unknown delivery status {status[:40]!r}; showing every delivery.", "warning")
        status = None
    query = deliveries.list_deliveries(g.tenant.id, subscription_id, status)
    total = query.count()
    pages = max(1, -(-total // DELIVERIES_PER_PAGE))
    number = min(_page_number(), pages)
    page = DeliveryPage(
        list(query.paginate(number, DELIVERIES_PER_PAGE)), number, pages, total, subscription_id, status
    )
    return render_template(
        "console/webhook.html",
        subscription=subscription,
        page=page,
        statuses=DELIVERY_STATUSES,
        status=status,
        event_types=EVENT_TYPES,
        can_develop=can(g.console.user.role, Permission.DEVELOP),
    )


@bp.route("/webhooks/<int:subscription_id>/edit")
@requires(Permission.DEVELOP, second_factor=True)
def edit_webhook(subscription_id):
    return _render_form(subscriptions.show(g.tenant.id, subscription_id), {})


@bp.route("/webhooks/<int:subscription_id>/edit", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def update_webhook(subscription_id):
    current = subscriptions.show(g.tenant.id, subscription_id)
    try:
        data = SubscriptionPatchSchema().load(_form_data(creating=False))
        if "events" not in data:
            raise ma.ValidationError({"events": ["choose one or more events"]})
        result = subscriptions.update(g.tenant.id, subscription_id, g.actor, data, _secret_box(), _allow_private())
    except ma.ValidationError as bad:
        return _render_form(current, _flat_errors(bad.messages), 422)
    except Invalid as refused:
        return _render_form(current, {**refused.fields, "form": [refused.message]}, 422)
    kept = "authentication reset" if "authentication" in data else "authentication kept as it was"
    return _created_or_changed(result, f"Webhook {result['label']} saved ({kept}).")


@bp.route("/webhooks/<int:subscription_id>/enabled", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def toggle_webhook(subscription_id):
    turn_on = request.form.get("enabled") == "true"
    try:
        subscriptions.update(
            g.tenant.id, subscription_id, g.actor, {"enabled": turn_on}, _secret_box(), _allow_private()
        )
    except DomainError as refused:
        _refused(refused)
    else:
        flash("Webhook turned on: deliveries resume." if turn_on else "Webhook turned off.", "success")
    return redirect(url_for("console.webhook", subscription_id=subscription_id))


@bp.route("/webhooks/<int:subscription_id>/delete", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def delete_webhook(subscription_id):
    try:
        subscriptions.delete(g.tenant.id, subscription_id, g.actor)
    except DomainError as refused:
        _refused(refused)
    else:
        flash("Webhook deleted, with its pending deliveries.", "success")
    return redirect(url_for("console.webhooks"))


@bp.route("/webhooks/<int:subscription_id>/signing-key", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def regenerate_webhook_key(subscription_id):
    try:
        result = subscriptions.regenerate_signing_key(g.tenant.id, subscription_id, g.actor, _secret_box())
    except DomainError as refused:
        _refused(refused)
        return redirect(url_for("console.webhooks"))
    return _created_or_changed(result, "New signature key made; the old one stopped signing.")


@bp.route("/webhooks/<int:subscription_id>/test", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def test_webhook(subscription_id):
    try:
        result = subscriptions.send_ping(g.tenant.id, subscription_id, _secret_box(), _allow_private())
    except DomainError as refused:
        _refused(refused)
    else:
        if result["ok"]:
            flash(
                f"Test event delivered: your receiver answered {result['status_code']} in {result['latency_ms']} ms.",
                "success",
            )
        else:
            answer = f"answered {result['status_code']}" if result["status_code"] else "did not answer"
            error = f" ({result['error']})" if result["error"] else ""
            flash(f"Test event not delivered: your receiver {answer}{error}.", "error")
    return redirect(url_for("console.webhook", subscription_id=subscription_id))


@bp.route("/webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def redeliver(subscription_id, delivery_id):
    try:
        deliveries.redeliver(g.tenant.id, delivery_id, g.actor)
    except DomainError as refused:
        _refused(refused)
    else:
        flash(f"Delivery {delivery_id} will be sent again shortly, on a fresh retry schedule.", "success")
    return redirect(url_for("console.webhook", subscription_id=subscription_id))
