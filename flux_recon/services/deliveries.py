"""A tenant's outbound deliveries: listing them, and delivering again by hand."""

from __future__ import annotations

import datetime as dt

from flux_recon.core.states import DeliveryStatus
from flux_recon.models import Delivery, OutboundEvent, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import write_transaction
from flux_recon.services.owned import get_owned
from flux_recon.services.subscriptions import get_subscription

# Delivering again starts a fresh retry schedule.
_AGAIN = {"status": DeliveryStatus.PENDING, "attempts": 0, "lease_until": None}


def get_delivery(tenant_id: str, delivery_id: int) -> Delivery:
    """A delivery belongs to the tenant of its event."""
    query = Delivery.select(Delivery, OutboundEvent).join(OutboundEvent)
    return get_owned(Delivery, delivery_id, "delivery", tenant_id, query=query, owner=OutboundEvent.tenant)


def list_deliveries(tenant_id: str, subscription_id: int, status: str | None = None):
    """A subscription's deliveries, newest first (a query, for the caller to page)."""
    get_subscription(tenant_id, subscription_id)
    query = Delivery.select(Delivery, OutboundEvent).join(OutboundEvent).where(Delivery.subscription == subscription_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    return query.order_by(Delivery.id.desc())


def redeliver(tenant_id: str, delivery_id: int, actor: str = "api") -> Delivery:
    """Deliver one again now (audited: who asked for it)."""
    delivery = get_delivery(tenant_id, delivery_id)
    with write_transaction():
        Delivery.update(**_AGAIN, next_attempt_at=utcnow()).where(Delivery.id == delivery.id).execute()
        record_audit(tenant_id, actor, "delivery.redelivered", "delivery", delivery.id, {"status": delivery.status})
    return get_delivery(tenant_id, delivery_id)


def redeliver_failed(tenant_id: str, since: dt.datetime, subscription_id: int | None = None, actor: str = "api") -> int:
    """Deliver again every failed delivery created since ``since``; returns how many (audited)."""
    events = OutboundEvent.select(OutboundEvent.id).where(OutboundEvent.tenant == tenant_id)
    query = (Delivery.status == DeliveryStatus.FAILED) & (Delivery.created_at >= since) & Delivery.event.in_(events)
    if subscription_id is not None:
        query &= Delivery.subscription == subscription_id
    with write_transaction():
        count = Delivery.update(**_AGAIN, next_attempt_at=utcnow()).where(query).execute()
        details = {"since": since.isoformat(), "subscription_id": subscription_id, "count": count}
        record_audit(tenant_id, actor, "delivery.redelivered_failed", "subscription", subscription_id or "", details)
    return count
