"""Payments recorded from provider notices, and their allocations to orders."""

from __future__ import annotations

import peewee

from flux_recon.core.states import PaymentStatus, Reconciliation
from flux_recon.models.base import BaseModel, JSONField, UTCDateTimeField, utcnow
from flux_recon.models.integration import Integration
from flux_recon.models.order import KEY_LENGTH, SalesOrder
from flux_recon.models.tenant import Tenant

RECONCILIATION_STATES = tuple(Reconciliation)
PAYMENT_STATUSES = tuple(PaymentStatus)


class Payment(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="payments", on_delete="CASCADE")
    integration = peewee.ForeignKeyField(Integration, null=True, backref="payments", on_delete="SET NULL")
    provider = peewee.CharField(max_length=40)
    external_id = peewee.CharField(max_length=200)
    kind = peewee.CharField(max_length=16, default="payment")
    status = peewee.CharField(max_length=16)
    method = peewee.CharField(max_length=20, default="other")
    amount_minor = peewee.BigIntegerField()
    currency = peewee.CharField(max_length=3)
    allocated_minor = peewee.BigIntegerField(default=0)
    # Sum of refunds and reversals applied to this payment.
    refunded_minor = peewee.BigIntegerField(default=0)
    fee_minor = peewee.BigIntegerField(null=True)
    settlement_minor = peewee.BigIntegerField(null=True)
    references = JSONField(default=list)
    destination_account = peewee.CharField(max_length=64, null=True)
    parent_external_id = peewee.CharField(max_length=200, null=True)
    payer_name = peewee.CharField(max_length=200, null=True)
    payer_email = peewee.CharField(max_length=320, null=True)
    payer_phone = peewee.CharField(max_length=40, null=True)
    payer_customer_id = peewee.CharField(max_length=200, null=True)
    payer_account_number = peewee.CharField(max_length=64, null=True)
    payer_bank = peewee.CharField(max_length=200, null=True)
    reconciliation = peewee.CharField(max_length=20, default=Reconciliation.UNMATCHED)
    reconciliation_reason = peewee.TextField(null=True)
    candidates = JSONField(null=True)
    occurred_at = UTCDateTimeField()
    received_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)
    raw = JSONField(null=True)
    # Settlement (docs/settlements.md): awaiting_settlement, settled or not_in_settlement;
    # None while not tracked. The line that settled it refers to it by foreign key; this is
    # that line's id (no constraint of its own, so the two tables never depend on each other).
    settlement_state = peewee.CharField(max_length=20, null=True)
    settlement_line_id = peewee.IntegerField(null=True)
    # "settlement:<id>" for a payment recorded from a settlement line whose webhook never came.
    recovered_from = peewee.CharField(max_length=64, null=True)

    class Meta:
        indexes = (
            # The not-in-settlement sweep walks the unsettled payments by time.
            (("settlement_state", "occurred_at"), False),
            # The idempotency key: concurrent duplicates are settled here, not in Python.
            (("tenant", "provider", "external_id"), True),
            (("tenant", "reconciliation", "received_at"), False),
            (("tenant", "received_at"), False),
            # Refunds find their payment, and a late payment its orphan refunds.
            (("tenant", "provider", "parent_external_id"), False),
            # A new or changed order finds the open payments paid into its account (its
            # references and customer: PaymentMatchKey).
            (("tenant", "destination_account"), False),
        )


class PaymentMatchKey(BaseModel):
    """One value a payment can be matched by, in its matching form: a reference it carried
    (``kind`` reference, case-folded like an order's reference key), or its payer's
    customer id, email (lower case) or phone. A new or changed order finds the payments
    that may be for it through this index, never by reading every payment. Written with
    the payment (payments only: refunds are never for an order)."""

    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    payment = peewee.ForeignKeyField(Payment, backref="match_keys", on_delete="CASCADE")
    kind = peewee.CharField(max_length=16)
    value = peewee.CharField(max_length=KEY_LENGTH)

    class Meta:
        table_name = "payment_match_key"
        indexes = (
            (("tenant", "kind", "value"), False),
            (("payment", "kind", "value"), True),
        )


class Allocation(BaseModel):
    payment = peewee.ForeignKeyField(Payment, backref="allocations", on_delete="CASCADE")
    order = peewee.ForeignKeyField(SalesOrder, backref="allocations", on_delete="CASCADE")
    amount_minor = peewee.BigIntegerField()
    currency = peewee.CharField(max_length=3)
    # A strategy name ("reference", ...) or "manual".
    matched_by = peewee.CharField(max_length=40)
    created_by = peewee.CharField(max_length=200, default="engine")
    created_at = UTCDateTimeField(default=utcnow)
    released_at = UTCDateTimeField(null=True)
    released_reason = peewee.TextField(null=True)
