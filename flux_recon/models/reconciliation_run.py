"""Reconciliation runs: open payments retried against today's orders, with what each run changed."""

from __future__ import annotations

import peewee

from flux_recon.core.states import Reconciliation
from flux_recon.models.base import BaseModel, JSONField, UTCDateTimeField, utcnow
from flux_recon.models.payment import Payment
from flux_recon.models.tenant import Tenant

RUN_STATUSES = ("running", "completed", "interrupted", "failed", "abandoned")


class ReconciliationRun(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="reconciliation_runs", on_delete="CASCADE")
    # "engine" for the worker's schedule, "cli", or "api_key:<prefix>" for a person.
    actor = peewee.CharField(max_length=200)
    status = peewee.CharField(max_length=12, default="running")
    dry_run = peewee.BooleanField(default=False)
    # The parameters: payments whose occurred_at is in [occurred_from, occurred_to), of one provider.
    provider = peewee.CharField(max_length=40, null=True)
    occurred_from = UTCDateTimeField(null=True)
    occurred_to = UTCDateTimeField(null=True)
    examined = peewee.IntegerField(default=0)
    matched = peewee.IntegerField(default=0)
    # Changed in another way than matched: now ambiguous, or an exception for review.
    changed = peewee.IntegerField(default=0)
    still_open = peewee.IntegerField(default=0)
    error = peewee.TextField(null=True)
    started_at = UTCDateTimeField(default=utcnow)
    # Moved forward after every page: a run whose process died stops holding the guard.
    heartbeat_at = UTCDateTimeField(default=utcnow)
    finished_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "reconciliation_run"


class ReconciliationRunChange(BaseModel):
    run = peewee.ForeignKeyField(ReconciliationRun, backref="changes", on_delete="CASCADE")
    payment = peewee.ForeignKeyField(Payment, backref="run_changes", on_delete="CASCADE")
    before = peewee.CharField(max_length=20)
    after = peewee.CharField(max_length=20)
    order_ids = JSONField(default=list)
    reason = peewee.TextField(null=True)

    class Meta:
        table_name = "reconciliation_run_change"


# At most one run per tenant at a time, on every backend: the second insert fails on this
# index. (PostgreSQL also takes an advisory lock first, which a dead process releases.)
ReconciliationRun.add_index(
    ReconciliationRun.index(ReconciliationRun.tenant, name="reconciliation_run_one_running", unique=True).where(
        ReconciliationRun.status == "running"
    )
)

# A run pages through one reconciliation state's payments in id order: straight off this
# index, never a sort of every open payment per page.
Payment.add_index(Payment.index(Payment.tenant, Payment.reconciliation, Payment.id, name="payment_tenant_open_id"))

OPEN_STATES = (Reconciliation.UNMATCHED, Reconciliation.AMBIGUOUS, Reconciliation.ORPHAN)
