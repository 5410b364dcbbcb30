"""The append-only audit log of every change made by the engine or by a person."""

from __future__ import annotations

import peewee

from flux_recon.models.base import BaseModel, JSONField, UTCDateTimeField, utcnow
from flux_recon.models.tenant import Tenant


class AuditEntry(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="audit_entries", on_delete="CASCADE")
    created_at = UTCDateTimeField(default=utcnow)
    # "engine", or "api_key:<prefix>" for a person using the REST API.
    actor = peewee.CharField(max_length=200)
    action = peewee.CharField(max_length=60)
    object_type = peewee.CharField(max_length=40)
    object_id = peewee.CharField(max_length=64)
    details = JSONField(null=True)

    class Meta:
        table_name = "audit_entry"
        indexes = ((("tenant", "object_type", "object_id"), False),)
