"""Domain events the engine produces; announced to plugins only after the commit."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flux_recon.core.states import OrderStatus

if TYPE_CHECKING:  # rows are only read here: the core layer imports no model
    from flux_recon.models import Payment, SalesOrder

log = logging.getLogger(__name__)

# Order statuses worth announcing when an order enters them.
ANNOUNCED_ORDER_STATUSES = (OrderStatus.PARTIALLY_PAID, OrderStatus.PAID, OrderStatus.OVERPAID, OrderStatus.CANCELLED)


def payment_event(event_type: str, payment: Payment, order: SalesOrder | None = None) -> dict:
    # Plain strings, whether the row was just changed (an enum member) or read back: plugins
    # receive the same types either way.
    payload = {"payment_id": payment.id, "status": str(payment.status), "reconciliation": str(payment.reconciliation)}
    if order is not None:
        payload.update(order_id=order.id, order_status=str(order.status))
    return {"event_type": event_type, "tenant_id": payment.tenant_id, "payload": payload}


def order_event(order: SalesOrder, previous_status: str) -> list[dict]:
    """``order.<status>`` when the order has just entered an announced status."""
    if order.status == previous_status or order.status not in ANNOUNCED_ORDER_STATUSES:
        return []
    payload = {"order_id": order.id, "status": str(order.status), "previous_status": str(previous_status)}
    return [{"event_type": f"order.{order.status}", "tenant_id": order.tenant_id, "payload": payload}]


def announce(plugin_manager, events: list[dict]) -> None:
    """Hand committed events to plugins (``flux_recon_event``). Call only after the commit:
    an observer must never see an event whose change rolled back. A failing plugin is
    logged and does not affect the caller."""
    for event in events:
        try:
            plugin_manager.hook.flux_recon_event(event=event)
        except Exception:
            log.exception("a flux_recon_event hook failed for %s", event["event_type"])
