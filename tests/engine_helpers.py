"""Helpers for driving the reconciliation engine directly, without HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flux_recon.models import Allocation, Payment, SalesOrder, reference_key
from flux_recon.models.transactions import write_transaction
from flux_recon.money import to_minor
from flux_recon.providers import Payer, PaymentNotice
from flux_recon.services.tenants import create_tenant

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def new_tenant(settings: dict | None = None) -> str:
    tenant, _ = create_tenant("Engine test")
    if settings:
        type(tenant).update(settings=settings).where(type(tenant).id == tenant.id).execute()
    return tenant.id


def make_order(tenant_id, reference, amount="100.00", currency="NGN", *, created_at=None, **fields) -> SalesOrder:
    customer = fields.pop("customer", {})
    return SalesOrder.create(
        tenant=tenant_id,
        reference=reference,
        reference_key=reference_key(reference),
        payment_reference=fields.get("payment_reference"),
        payment_reference_key=reference_key(fields.get("payment_reference")),
        virtual_account=fields.get("virtual_account"),
        amount_minor=to_minor(Decimal(amount), currency),
        currency=currency,
        status=fields.get("status", "open"),
        customer_id=customer.get("id"),
        customer_email=customer.get("email"),
        customer_phone=customer.get("phone"),
        created_at=created_at or NOW - dt.timedelta(days=1),
    )


def notice(
    external_id,
    amount="100.00",
    *refs,
    currency="NGN",
    kind="payment",
    status="succeeded",
    parent=None,
    account=None,
    payer=None,
    at=NOW,
) -> PaymentNotice:
    return PaymentNotice(
        external_id=external_id,
        amount=Decimal(amount),
        currency=currency,
        occurred_at=at,
        kind=kind,
        status=status,
        references=tuple(refs),
        parent_external_id=parent,
        destination_account=account,
        payer=Payer(**(payer or {})),
    )


def record(engine, tenant_id, the_notice, provider="core"):
    with write_transaction():
        return engine.record(tenant_id=tenant_id, provider=provider, notice=the_notice)


def order_state(order_id) -> tuple[str, int]:
    order = SalesOrder.get_by_id(order_id)
    return order.status, order.amount_paid_minor


def payment(tenant_id, external_id, provider="core") -> Payment:
    return Payment.get(
        (Payment.tenant == tenant_id) & (Payment.external_id == external_id) & (Payment.provider == provider)
    )


def live_sum(**where) -> int:
    query = Allocation.select().where(Allocation.released_at.is_null())
    for name, value in where.items():
        query = query.where(getattr(Allocation, name) == value)
    return sum(a.amount_minor for a in query)
