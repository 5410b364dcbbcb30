"""Stored answers to merchant API writes sent with an Idempotency-Key header."""

from __future__ import annotations

import peewee

from flux_recon.models.base import BaseModel, EncryptedTextField, UTCDateTimeField, utcnow
from flux_recon.models.tenant import Tenant


class IdempotencyRecord(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    key = peewee.CharField(max_length=200)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint = peewee.CharField(max_length=64)
    # Null while the first request is still running.
    status_code = peewee.IntegerField(null=True)
    # Encrypted: an answer may hold a secret shown once (a new credential's).
    response_encrypted = EncryptedTextField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "idempotency_record"
        indexes = ((("tenant", "key"), True),)
