"""Sales orders: creating, reading, listing and cancelling a tenant's orders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import peewee

from flux_recon.core.domain_events import order_event
from flux_recon.core.states import OrderStatus
from flux_recon.models import SalesOrder, reference_key, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import locked, write_transaction
from flux_recon.money import MoneyError, to_minor
from flux_recon.outbound.outbox import publishing
from flux_recon.services.errors import Conflict, Invalid
from flux_recon.services.owned import get_owned


def get_order(tenant_id: str, order_id: int, *, lock: bool = False) -> SalesOrder:
    """The tenant's order (locked for this transaction if ``lock``), or NotFound."""
    return get_owned(SalesOrder, order_id, "order", tenant_id, query=locked(SalesOrder.select()) if lock else None)


def list_orders(
    tenant_id: str,
    *,
    status: str | None = None,
    reference: str | None = None,
    customer: str | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
) -> peewee.ModelSelect:
    """The tenant's orders, newest first: a query the caller pages through.

    ``reference`` is an order or payment reference compared case-insensitively,
    ``customer`` a customer id, email or phone; ``created_from`` is inclusive, ``created_to`` not.
    """
    query = SalesOrder.select().where(SalesOrder.tenant == tenant_id)
    if status is not None:
        query = query.where(SalesOrder.status == status)
    if reference is not None:
        key = reference_key(reference)
        query = query.where((SalesOrder.reference_key == key) | (SalesOrder.payment_reference_key == key))
    if customer is not None:
        who = customer.strip()
        query = query.where(
            (SalesOrder.customer_id == who)
            | (SalesOrder.customer_email == who.lower())
            | (SalesOrder.customer_phone == who)
        )
    if created_from is not None:
        query = query.where(SalesOrder.created_at >= created_from)
    if created_to is not None:
        query = query.where(SalesOrder.created_at < created_to)
    return query.order_by(SalesOrder.id.desc())


def create_order(
    tenant_id: str,
    actor: str,
    *,
    reference: str,
    amount: Decimal,
    currency: str,
    payment_reference: str | None = None,
    virtual_account: str | None = None,
    description: str | None = None,
    customer: dict | None = None,
    created_at: dt.datetime | None = None,
) -> SalesOrder:
    """Create an order and its audit entry in one transaction.

    ``customer`` holds any of ``id``, ``name``, ``email``, ``phone``; ``created_at`` is when
    the order was placed (default now), for orders brought over from elsewhere. Raises
    Invalid for a blank reference or an amount the currency cannot hold, Conflict when the
    tenant already has an order with this reference (compared case-insensitively).
    """
    key = reference_key(reference)
    if key is None:
        raise Invalid("reference must not be blank", {"reference": ["must not be blank"]})
    try:
        amount_minor = to_minor(amount, currency)
    except MoneyError as exc:
        raise Invalid(str(exc), {"amount": [str(exc)]}) from None
    if amount_minor <= 0:
        raise Invalid("amount must be greater than zero", {"amount": ["amount must be greater than zero"]})
    customer = customer or {}
    email = customer.get("email")
    try:
        with write_transaction():
            order = SalesOrder.create(
                tenant=tenant_id,
                reference=reference.strip(),
                reference_key=key,
                payment_reference=payment_reference,
                payment_reference_key=reference_key(payment_reference),
                virtual_account=(virtual_account or "").strip() or None,
                amount_minor=amount_minor,
                currency=currency,
                description=description,
                customer_id=customer.get("id"),
                customer_name=customer.get("name"),
                customer_email=email.lower() if email else None,
                customer_phone=customer.get("phone"),
                **({"created_at": created_at, "updated_at": created_at} if created_at else {}),
            )
            record_audit(
                tenant_id,
                actor,
                "order.created",
                "order",
                order.id,
                {"reference": order.reference, "amount_minor": order.amount_minor, "currency": order.currency},
            )
    except peewee.IntegrityError:
        # The only unique index on orders is (tenant, reference_key).
        raise Conflict(f"an order with reference {reference!r} already exists") from None
    return order


def cancel_order(tenant_id: str, actor: str, order_id: int, plugin_manager) -> SalesOrder:
    """Cancel an order (a cancelled one is returned as it is). Raises NotFound, or Conflict
    when payments are allocated to it. The order.cancelled event reaches the outbox in the
    same transaction and plugins after the commit."""
    with publishing(plugin_manager) as events:
        order = get_order(tenant_id, order_id, lock=True)
        if order.status == OrderStatus.CANCELLED:
            return order
        if order.amount_paid_minor:
            raise Conflict("this order has payments allocated; unmatch them before cancelling")
        previous = order.status
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = order.updated_at = utcnow()
        order.save()
        record_audit(tenant_id, actor, "order.cancelled", "order", order.id)
        events += order_event(order, previous)
    return order
