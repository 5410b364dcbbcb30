"""Each integration's settlement pulls from its provider's API: when they last worked, and whether they are failing."""

from __future__ import annotations

from enum import StrEnum

import peewee

from flux_recon.models.base import BaseModel, UTCDateTimeField, utcnow
from flux_recon.models.integration import Integration
from flux_recon.models.tenant import Tenant


class PullStatus(StrEnum):
    OK = "ok"  # the last pull worked
    FAILING = "failing"  # the provider or the network failed: retried with backoff
    CREDENTIALS_REFUSED = "credentials_refused"  # 401/403: not retried until the credentials change


class SettlementPull(BaseModel):
    """One row per integration that has been pulled. ``covered_until`` is the end of the last
    window pulled whole: the next window starts there (less an overlap)."""

    integration = peewee.ForeignKeyField(Integration, unique=True, on_delete="CASCADE")
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    status = peewee.CharField(max_length=24, default=PullStatus.OK)
    last_attempt_at = UTCDateTimeField(null=True)
    last_success_at = UTCDateTimeField(null=True)
    covered_until = UTCDateTimeField(null=True)
    last_error = peewee.TextField(null=True)
    failing_since = UTCDateTimeField(null=True)
    failures = peewee.IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(null=True)
    # The integration's auth_version when its credentials were refused: a change of
    # credentials bumps it (migration 0005's triggers), and the pull is tried again.
    refused_auth_version = peewee.IntegerField(null=True)
    updated_at = UTCDateTimeField(default=utcnow)
