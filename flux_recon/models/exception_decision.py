"""Decisions people take on the exception queue, declined suggestions, and the indexes both read."""

from __future__ import annotations

import peewee
from peewee import SQL, fn

from flux_recon.models.base import BaseModel, UTCDateTimeField, utcnow
from flux_recon.models.inbox import WebhookEvent
from flux_recon.models.order import SalesOrder
from flux_recon.models.payment import Payment
from flux_recon.models.tenant import Tenant

# Characters a reference is written with or without ("INV-1001", "inv 1001", "INV/1001"):
# removed, after case folding, to compare references by their compact form.
REFERENCE_SEPARATORS = ("-", " ", "_", "/", ".", "#", ":")


def compact_sql(column):
    """The SQL form of a reference key without separators. The literals are inlined (not
    bound parameters) so the query's expression is the indexed one, which the planner
    needs to use the expression index."""
    expression = column
    for separator in REFERENCE_SEPARATORS:
        expression = fn.REPLACE(expression, SQL(f"'{separator}'"), SQL("''"))
    return expression


class ExceptionDecision(BaseModel):
    """The latest decision on one exception-queue item (history is in the audit log).

    An item is ``source:subject_id`` ("payment:42"). ``fingerprint`` is the item's state
    when it was resolved: the item stays hidden while its state still has that fingerprint.
    """

    tenant = peewee.ForeignKeyField(Tenant, backref="exception_decisions", on_delete="CASCADE")
    source = peewee.CharField(max_length=40)
    subject_id = peewee.BigIntegerField()
    # "resolved" or "reopened".
    status = peewee.CharField(max_length=12)
    reason = peewee.CharField(max_length=40)
    fingerprint = peewee.TextField()
    note = peewee.TextField()
    actor = peewee.CharField(max_length=200)
    decided_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "exception_decision"
        indexes = ((("tenant", "source", "subject_id"), True),)


class SuggestionDecline(BaseModel):
    """An order a person said is not the one a payment pays: never suggested for it again."""

    tenant = peewee.ForeignKeyField(Tenant, backref="suggestion_declines", on_delete="CASCADE")
    payment = peewee.ForeignKeyField(Payment, backref="declined_suggestions", on_delete="CASCADE")
    order = peewee.ForeignKeyField(SalesOrder, backref="declined_for", on_delete="CASCADE")
    note = peewee.TextField(default="")
    actor = peewee.CharField(max_length=200)
    declined_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "suggestion_decline"
        indexes = ((("payment", "order"), True),)


# Indexes on other aggregates' tables that only the queue and the suggestions read; declared
# here (with migration 0011) so those models stay as their owners wrote them.
# Suggestions find orders by compact reference and open orders by amount:
SalesOrder.add_index(
    SalesOrder.index(SalesOrder.tenant, compact_sql(SalesOrder.reference_key), name="sales_order_reference_compact")
)
SalesOrder.add_index(
    SalesOrder.index(
        SalesOrder.tenant, compact_sql(SalesOrder.payment_reference_key), name="sales_order_payment_reference_compact"
    )
)
SalesOrder.add_index(
    SalesOrder.index(
        SalesOrder.tenant, SalesOrder.currency, SalesOrder.amount_minor, name="sales_order_open_amount"
    ).where(SalesOrder.status == SQL("'open'"))
)
# The queue reads unrecognized webhooks (as received, not their replays) without walking
# every accepted one, and drops one whose replay was understood by its replays' index.
WebhookEvent.add_index(
    WebhookEvent.index(WebhookEvent.tenant, WebhookEvent.received_at, name="webhook_event_unrecognized").where(
        (WebhookEvent.verdict == SQL("'unrecognized'")) & WebhookEvent.replay_of.is_null()
    )
)
WebhookEvent.add_index(
    WebhookEvent.index(WebhookEvent.replay_of, name="webhook_event_replay_of").where(
        WebhookEvent.replay_of.is_null(False)
    )
)
