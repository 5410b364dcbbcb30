"""Orders: the list with its filters, creating and changing an order, cancelling it, and its detail and timeline."""

from __future__ import annotations

import marshmallow as ma
from flask import flash, g, redirect, render_template, request, url_for

from flux_recon.models import ORDER_STATUSES
from flux_recon.money import format_minor
from flux_recon.services import audit, orders
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission, can
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires
from flux_recon.web.console.paging import Page
from flux_recon.web.console.views.money_common import (
    CURRENCIES,
    choice,
    date_range,
    matching,
    plugin_manager,
    refused,
)
from flux_recon.web.resources.orders.schemas import OrderCreateSchema, OrderUpdateSchema

# The form's fields, as the REST API names them (the customer's are nested there).
ORDER_FIELDS = ("reference", "amount", "currency", "payment_reference", "virtual_account", "description")
CUSTOMER_FIELDS = ("id", "name", "email", "phone")
# An optional field left empty is "none" (the REST schemas refuse an empty string).
OPTIONAL = {"payment_reference", "virtual_account", "description"}


# The nav expects the endpoint "console.orders"; the function's name keeps clear of the service module.
@bp.route("/orders", endpoint="orders")
@requires(Permission.READ)
def orders_page():
    errors: dict = {}
    created_from, created_to = date_range(errors)
    currency = choice("currency", CURRENCIES, errors)
    status = choice("status", ORDER_STATUSES, errors)
    reference = request.args.get("reference", "").strip() or None
    query = orders.list_orders(
        g.tenant.id,
        status=status,
        reference=reference,
        currency=currency,
        created_from=created_from,
        created_to=created_to,
    )
    page = Page(query, "console.orders")
    html = render_template(
        "console/orders.html", page=page, errors=errors, statuses=ORDER_STATUSES, currencies=CURRENCIES
    )
    return html, 422 if errors else 200


@bp.route("/orders/new", methods=["GET", "POST"])
@requires(Permission.MONEY)
def new_order():
    form, errors = _form_values(), {}
    if request.method == "POST":
        try:
            data = OrderCreateSchema().load(_payload(form, create=True))
            order = orders.create_order(g.tenant.id, g.actor, **data, **matching())
        except ma.ValidationError as invalid:
            errors = _flat(invalid.messages)
        except DomainError as refusal:
            errors = _domain_errors(refusal)
        else:
            flash(f"Order {order.reference} created ({order.status}).", "success")
            return redirect(url_for("console.order", order_id=order.id))
    html = render_template("console/orders_form.html", form=form, errors=errors, order=None, currencies=CURRENCIES)
    return html, 422 if errors else 200


@bp.route("/orders/<int:order_id>")
@requires(Permission.READ)
def order(order_id):
    found = orders.get_order(g.tenant.id, order_id)
    timeline = Page(
        audit.list_entries(g.tenant.id, object_type="order", object_id=str(found.id)),
        "console.order",
        param="timeline",
        order_id=found.id,
    )
    return render_template(
        "console/orders_detail.html",
        order=found,
        allocations=orders.order_allocations(g.tenant.id, found.id),
        timeline=timeline,
        may_change=can(g.console.user.role, Permission.MONEY),
    )


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@requires(Permission.MONEY)
def edit_order(order_id):
    found = orders.get_order(g.tenant.id, order_id)
    form, errors = (_form_values() if request.method == "POST" else _order_values(found)), {}
    if request.method == "POST":
        try:
            changes = OrderUpdateSchema().load(_payload(form, create=False))
            changed = orders.update_order(g.tenant.id, g.actor, found.id, changes, **matching())
        except ma.ValidationError as invalid:
            errors = _flat(invalid.messages)
        except DomainError as refusal:
            errors = _domain_errors(refusal)
        else:
            flash(f"Order {changed.reference} saved ({changed.status}).", "success")
            return redirect(url_for("console.order", order_id=found.id))
    html = render_template("console/orders_form.html", form=form, errors=errors, order=found, currencies=CURRENCIES)
    return html, 422 if errors else 200


@bp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@requires(Permission.MONEY)
def cancel_order(order_id):
    try:
        cancelled = orders.cancel_order(g.tenant.id, g.actor, order_id, plugin_manager())
    except DomainError as refusal:
        refused(refusal)
    else:
        flash(f"Order {cancelled.reference} is cancelled.", "success")
    return redirect(url_for("console.order", order_id=order_id))


def _form_values() -> dict:
    names = [*ORDER_FIELDS, *(f"customer_{name}" for name in CUSTOMER_FIELDS)]
    return {name: request.form.get(name, "").strip() for name in names}


def _order_values(order) -> dict:
    values = {name: getattr(order, name) or "" for name in ORDER_FIELDS if name != "amount"}
    values["amount"] = format_minor(order.amount_minor, order.currency)
    values.update({f"customer_{name}": getattr(order, f"customer_{name}") or "" for name in CUSTOMER_FIELDS})
    return values


def _payload(form: dict, *, create: bool) -> dict:
    """The form as the REST API's body: empty optional fields are none (left out when creating)."""
    payload = {}
    for name in ORDER_FIELDS:
        value = form[name]
        if value or name not in OPTIONAL:
            payload[name] = value
        elif not create:
            payload[name] = None
    customer = {name: form[f"customer_{name}"] or None for name in CUSTOMER_FIELDS}
    payload["customer"] = {k: v for k, v in customer.items() if v} if create else customer
    return payload


def _flat(messages: dict, prefix: str = "") -> dict:
    """marshmallow's nested messages as {"customer_email": [...]}, the form's field names."""
    flat: dict = {}
    for name, value in messages.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{key}_"))
        else:
            flat[key] = [str(message) for message in value]
    return flat


def _domain_errors(refusal: DomainError) -> dict:
    return {name: list(messages) for name, messages in refusal.fields.items()} or {"": [refusal.message]}
