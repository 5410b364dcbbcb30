"""Settlements: a provider's payouts, the transactions each covers, and statement column mappings."""

from __future__ import annotations

from enum import StrEnum

import peewee

from flux_recon.models.base import BaseModel, JSONField, UTCDateTimeField, utcnow
from flux_recon.models.integration import Integration
from flux_recon.models.payment import Payment
from flux_recon.models.tenant import Tenant


class SettlementSource(StrEnum):
    """Where a settlement was learnt from; one settlement may be seen from several."""

    WEBHOOK = "webhook"
    STATEMENT = "statement"
    API = "api"


class SettlementStatus(StrEnum):
    AWAITING_LINES = "awaiting_lines"  # a header without its transactions (yet)
    RECONCILED = "reconciled"  # every line has its payment, and nothing disagrees
    WITH_BREAKS = "with_breaks"  # see its breaks


class SettlementState(StrEnum):
    """A succeeded payment's settlement (``Payment.settlement_state``); None: not tracked."""

    AWAITING = "awaiting_settlement"
    SETTLED = "settled"
    NOT_IN_SETTLEMENT = "not_in_settlement"


class Settlement(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="settlements", on_delete="CASCADE")
    integration = peewee.ForeignKeyField(Integration, null=True, backref="settlements", on_delete="SET NULL")
    provider = peewee.CharField(max_length=40)
    # The provider's own reference of the payout: with the provider, the idempotency key.
    reference = peewee.CharField(max_length=200)
    settled_at = UTCDateTimeField()
    currency = peewee.CharField(max_length=3)
    # What the provider says it paid out: gross collected, fees kept, net sent.
    gross_minor = peewee.BigIntegerField()
    fees_minor = peewee.BigIntegerField()
    net_minor = peewee.BigIntegerField()
    # True when the source gave no totals of its own: they are the sums of the lines.
    totals_from_lines = peewee.BooleanField(default=False)
    # A net a source stated without its gross and fees (Monnify's SETTLEMENT without its
    # transactions): checked against the lines' net once they come (migration 0014).
    stated_net_minor = peewee.BigIntegerField(null=True)
    destination_account = peewee.CharField(max_length=64, null=True)
    destination_bank = peewee.CharField(max_length=200, null=True)
    destination_name = peewee.CharField(max_length=200, null=True)
    status = peewee.CharField(max_length=20, default=SettlementStatus.AWAITING_LINES)
    # The first source it came from, and every source seen since.
    source = peewee.CharField(max_length=12)
    sources = JSONField(default=list)
    line_count = peewee.IntegerField(default=0)
    # Earliest payment time among its lines: from then on, the integration's payments are
    # expected in some settlement (the not-in-settlement sweep).
    period_start = UTCDateTimeField(null=True)
    # How many SettlementBreak rows it has (its status says whether any).
    break_count = peewee.IntegerField(default=0)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = (
            # The same payout from a webhook, a statement and an API pull is one row.
            (("tenant", "provider", "reference"), True),
            (("tenant", "settled_at"), False),
        )


class SettlementLine(BaseModel):
    settlement = peewee.ForeignKeyField(Settlement, backref="lines", on_delete="CASCADE")
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    provider = peewee.CharField(max_length=40)
    # The transaction as the provider's webhooks name it (PaymentNotice.external_id).
    transaction_id = peewee.CharField(max_length=200)
    reference = peewee.CharField(max_length=200, null=True)
    amount_minor = peewee.BigIntegerField()
    fee_minor = peewee.BigIntegerField()
    net_minor = peewee.BigIntegerField()
    currency = peewee.CharField(max_length=3)
    paid_at = UTCDateTimeField(null=True)
    payer_email = peewee.CharField(max_length=320, null=True)
    payment = peewee.ForeignKeyField(Payment, null=True, backref="settlement_lines", on_delete="SET NULL")
    # True when the payment was recorded from this line (its webhook never came).
    recovered = peewee.BooleanField(default=False)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("settlement", "transaction_id"), True),
            # A transaction in two settlements is found here.
            (("tenant", "provider", "transaction_id"), False),
        )


class SettlementBreak(BaseModel):
    """One disagreement between a settlement and the ledger (docs/settlements.md lists the kinds)."""

    settlement = peewee.ForeignKeyField(Settlement, backref="break_rows", on_delete="CASCADE")
    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    kind = peewee.CharField(max_length=32)
    line = peewee.ForeignKeyField(SettlementLine, null=True, on_delete="CASCADE")
    payment = peewee.ForeignKeyField(Payment, null=True, on_delete="SET NULL")
    # What the settlement says and what the ledger (or the other total) says, as decimal text.
    settlement_value = peewee.CharField(max_length=64, null=True)
    ledger_value = peewee.CharField(max_length=64, null=True)
    message = peewee.TextField()
    created_at = UTCDateTimeField(default=utcnow)


class StatementMapping(BaseModel):
    """How one integration's statements in the generic CSV format name their columns."""

    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE")
    integration = peewee.ForeignKeyField(Integration, unique=True, on_delete="CASCADE")
    mapping = JSONField()
    updated_at = UTCDateTimeField(default=utcnow)
