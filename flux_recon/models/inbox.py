"""The webhook inbox: every request that reached a known integration, with its verdict."""

from __future__ import annotations

import peewee

from flux_recon.core.states import Verdict
from flux_recon.models.base import BaseModel, JSONField, UTCDateTimeField, utcnow
from flux_recon.models.integration import Integration
from flux_recon.models.payment import Payment
from flux_recon.models.tenant import Tenant

VERDICTS = tuple(Verdict)


class WebhookEvent(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="webhook_events", on_delete="CASCADE")
    integration = peewee.ForeignKeyField(Integration, backref="webhook_events", on_delete="CASCADE")
    provider = peewee.CharField(max_length=40)
    received_at = UTCDateTimeField(default=utcnow)
    source_ip = peewee.CharField(max_length=64)
    verdict = peewee.CharField(max_length=24)
    reason = peewee.TextField(null=True)
    http_status = peewee.IntegerField()
    headers = JSONField(default=dict)
    # Raw bytes (replay re-verifies them), capped at WEBHOOK_INBOX_BODY_LIMIT but for an
    # authenticated unrecognized or invalid_payload webhook (inbound/inbox.py).
    body = peewee.BlobField(null=True)
    body_size = peewee.IntegerField(default=0)
    body_truncated = peewee.BooleanField(default=False)
    # Plain id, not a foreign key: the credential may be deleted, the record must stay.
    credential_id = peewee.IntegerField(null=True)
    payment = peewee.ForeignKeyField(Payment, null=True, backref="webhook_events", on_delete="SET NULL")
    # Passed the provider's auth checks: only such events may be replayed.
    authenticated = peewee.BooleanField(default=False)
    # Set on the record a replay writes: the event it replayed.
    replay_of = peewee.IntegerField(null=True)

    class Meta:
        table_name = "webhook_event"
        indexes = ((("tenant", "received_at"), False),)
