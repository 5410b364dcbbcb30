"""Helpers for driving the reconciliation engine directly, without HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flux_recon.models import Allocation, Payment, SalesOrder
from flux_recon.models.transactions import write_transaction
from flux_recon.providers import Payer, PaymentNotice
from flux_recon.services.orders import create_order
from flux_recon.services.tenants import create_tenant

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


def new_tenant(settings: dict | None = None) -> str:
    tenant, _ = create_tenant("Engine test")
    if settings:
        type(tenant).update(settings=settings).where(type(tenant).id == tenant.id).execute()
    return tenant.id


def make_order(
    tenant_id, reference, amount="100.00", currency="NGN", *, created_at=None, status=None, **fields
) -> SalesOrder:
    """An order made as the API makes it, placed a day before NOW unless ``created_at`` says
    otherwise; ``status`` puts it straight into a state that payments would have given it."""
    order = create_order(
        tenant_id,
        "test",
        reference=reference,
        amount=Decimal(amount),
        currency=currency,
        created_at=created_at or NOW - dt.timedelta(days=1),
        **fields,
    )
    if status is not None:
        SalesOrder.update(status=status).where(SalesOrder.id == order.id).execute()
        order.status = status
    return order


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
