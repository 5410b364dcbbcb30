"""The outbox: events written in the same transaction as the change that caused them."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from flux_recon.core.domain_events import announce
from flux_recon.models import Delivery, OutboundEvent, Payment, SalesOrder, Subscription, utcnow
from flux_recon.models.prepared import Param, Prepared
from flux_recon.models.transactions import pipelined, write_transaction
from flux_recon.outbound.documents import order_document, payment_document
from flux_recon.outbound.sender import Sender


def event_document(event_type: str, body: dict, *, event_id: str | None = None, at: dt.datetime | None = None) -> dict:
    """The JSON every subscriber receives (DESIGN §7)."""
    return {
        "type": "event",
        "event_triggered": (at or utcnow()).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "event_type": event_type,
        "event_body": body,
        "event_id": event_id or secrets.token_hex(32),
    }


def _event_body(event: dict) -> dict:
    """The payment or order the event is about, read inside the same transaction."""
    payload = event["payload"]
    if "document" in event:  # rendered by the change itself (a settlement's events)
        return event["document"]
    if event["event_type"].startswith("order."):
        return order_document(SalesOrder.get_by_id(payload["order_id"]))
    return payment_document(Payment.get_by_id(payload["payment_id"]))


_subscriptions = Prepared(
    lambda: Subscription.select().where((Subscription.tenant == Param("tenant")) & Subscription.enabled)
)


def enqueue(events: list[dict], read: dict | None = None) -> int:
    """Write each event that an enabled subscription wants, with one delivery per
    subscription. Call inside the transaction of the change. Returns deliveries created.
    ``read``: tenant id -> its subscriptions as read earlier in this transaction."""
    if not events:
        return 0
    read = read or {}
    tenant_ids = {event["tenant_id"] for event in events}
    subscriptions = [
        row
        for tenant_id in tenant_ids
        for row in (read[tenant_id]() if tenant_id in read else _subscriptions.rows(tenant=tenant_id))
    ]
    created = 0
    for event in events:
        wanted = [s for s in subscriptions if s.tenant_id == event["tenant_id"] and event["event_type"] in s.events]
        if not wanted:
            continue
        document = event_document(event["event_type"], _event_body(event))
        row = OutboundEvent.create(
            tenant=event["tenant_id"],
            event_id=document["event_id"],
            event_type=event["event_type"],
            body=Sender.encode(document).decode(),
        )
        Delivery.insert_many([{"event": row.id, "subscription": s.id} for s in wanted]).execute()
        created += len(wanted)
    return created


@contextmanager
def publishing(plugin_manager, *, tenant_id: str | None = None) -> Iterator[list[dict]]:
    """A write transaction whose domain events (append them to the yielded list) reach the
    outbox in that same transaction, and plugins only after it commits.

    ``tenant_id``: the one tenant whose change this is (a webhook). The transaction then runs
    in PostgreSQL's pipeline mode and reads the tenant's subscriptions as it begins, so that
    read shares a round trip with the next one (a subscription is then as of the start of
    the transaction rather than its end: a few milliseconds, as either way one created while
    it runs may be missed)."""
    events: list[dict] = []
    with pipelined(tenant_id is not None), write_transaction():
        read = {tenant_id: _subscriptions.later(tenant=tenant_id)} if tenant_id is not None else None
        yield events
        enqueue(events, read)
    announce(plugin_manager, events)
