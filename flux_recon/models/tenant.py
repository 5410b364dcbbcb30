"""Tenants (merchants) and the hashed API keys they use on the REST API."""

from __future__ import annotations

import peewee

from flux_recon.models.base import BaseModel, JSONField, UTCDateTimeField, utcnow


class Tenant(BaseModel):
    id = peewee.CharField(primary_key=True, max_length=40)
    name = peewee.CharField(max_length=200)
    created_at = UTCDateTimeField(default=utcnow)
    # Reconciliation settings (see reconciliation/rules.py); None = the defaults.
    settings = JSONField(null=True)


class ApiKey(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="api_keys", on_delete="CASCADE")
    # SHA-256 of the key: the key itself is shown once and never stored.
    key_hash = peewee.CharField(max_length=64, unique=True)
    prefix = peewee.CharField(max_length=16)
    label = peewee.CharField(max_length=200, default="")
    created_at = UTCDateTimeField(default=utcnow)
    revoked_at = UTCDateTimeField(null=True)
    # "read" (GET only) or "write"; None for a key made before scopes: full access.
    scope = peewee.CharField(max_length=8, null=True)
