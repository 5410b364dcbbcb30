"""Outbound event webhooks: subscriptions, the outbox of events, deliveries and their attempts."""

from __future__ import annotations

import peewee

from flux_recon.core.states import DeliveryStatus
from flux_recon.models.base import BaseModel, EncryptedTextField, JSONField, UTCDateTimeField, utcnow
from flux_recon.models.tenant import Tenant

DELIVERY_STATUSES = tuple(DeliveryStatus)


class Subscription(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="subscriptions", on_delete="CASCADE")
    label = peewee.CharField(max_length=200)
    url = peewee.CharField(max_length=2000)
    events = JSONField(default=list)
    auth_type = peewee.CharField(max_length=10, default="none")
    basic_username = peewee.CharField(max_length=200, null=True)
    basic_password_encrypted = EncryptedTextField(null=True)
    # "whsec_..." Standard Webhooks key, encrypted; None = deliveries are not signed.
    signing_key_encrypted = EncryptedTextField(null=True)
    enabled = peewee.BooleanField(default=True)
    disabled_reason = peewee.TextField(null=True)
    # Since when deliveries have kept failing (None while they succeed).
    failing_since = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)


class OutboundEvent(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="outbound_events", on_delete="CASCADE")
    event_id = peewee.CharField(max_length=64, unique=True)
    event_type = peewee.CharField(max_length=40)
    # The exact JSON document every subscriber receives.
    body = peewee.TextField()
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "outbound_event"


class Delivery(BaseModel):
    event = peewee.ForeignKeyField(OutboundEvent, backref="deliveries", on_delete="CASCADE")
    subscription = peewee.ForeignKeyField(Subscription, backref="deliveries", on_delete="CASCADE")
    status = peewee.CharField(max_length=12, default=DeliveryStatus.PENDING)
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    # A worker's claim: until then no other worker takes it; after, it is retried.
    lease_until = UTCDateTimeField(null=True)
    last_status_code = peewee.IntegerField(null=True)
    last_error = peewee.TextField(null=True)
    last_latency_ms = peewee.IntegerField(null=True)
    response_snippet = peewee.TextField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    delivered_at = UTCDateTimeField(null=True)

    class Meta:
        # The worker claims pending deliveries in this order, straight off the index.
        indexes = ((("status", "next_attempt_at", "id"), False),)


class DeliveryAttempt(BaseModel):
    delivery = peewee.ForeignKeyField(Delivery, backref="attempt_log", on_delete="CASCADE")
    attempted_at = UTCDateTimeField(default=utcnow)
    status_code = peewee.IntegerField(null=True)
    error = peewee.TextField(null=True)
    latency_ms = peewee.IntegerField(null=True)
    response_snippet = peewee.TextField(null=True)

    class Meta:
        table_name = "delivery_attempt"


# The worker claims expired leases apart from pending deliveries (two indexed lookups
# instead of one OR that sorts every due delivery): a small index of leased rows only.
Delivery.add_index(
    Delivery.index(Delivery.lease_until, Delivery.id, name="delivery_lease_until_delivering").where(
        Delivery.status == DeliveryStatus.DELIVERING
    )
)
