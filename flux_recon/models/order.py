"""Sales orders: what the merchant expects to be paid, and how much of it has been."""

from __future__ import annotations

import peewee

from flux_recon.core.states import OrderStatus
from flux_recon.models.base import BaseModel, UTCDateTimeField, utcnow
from flux_recon.models.tenant import Tenant

ORDER_STATUSES = tuple(OrderStatus)
REFERENCE_LENGTH = 200
# Case folding turns one character into at most three (ß -> ss), so a 200-character
# reference's key fits in 600 on every database; SQLite would store longer, PostgreSQL not.
KEY_LENGTH = 3 * REFERENCE_LENGTH


def reference_key(value: str | None) -> str | None:
    """The form references are compared in: trimmed and case-folded (up to three times as
    long as the reference, hence the key columns' width)."""
    if value is None:
        return None
    value = value.strip().casefold()
    return value or None


class SalesOrder(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="orders", on_delete="CASCADE")
    reference = peewee.CharField(max_length=REFERENCE_LENGTH)
    # reference_key / payment_reference_key are the matching forms (see reference_key()).
    reference_key = peewee.CharField(max_length=KEY_LENGTH)
    payment_reference = peewee.CharField(max_length=REFERENCE_LENGTH, null=True)
    payment_reference_key = peewee.CharField(max_length=KEY_LENGTH, null=True)
    virtual_account = peewee.CharField(max_length=64, null=True)
    amount_minor = peewee.BigIntegerField()
    currency = peewee.CharField(max_length=3)
    # Sum of live allocations, kept by the engine under a row lock so status filters are
    # an index lookup rather than a sum over allocations.
    amount_paid_minor = peewee.BigIntegerField(default=0)
    status = peewee.CharField(max_length=20, default=OrderStatus.OPEN)
    description = peewee.TextField(null=True)
    customer_id = peewee.CharField(max_length=200, null=True)
    customer_name = peewee.CharField(max_length=200, null=True)
    customer_email = peewee.CharField(max_length=320, null=True)
    customer_phone = peewee.CharField(max_length=40, null=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)
    cancelled_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "sales_order"
        indexes = (
            (("tenant", "reference_key"), True),
            (("tenant", "payment_reference_key"), False),
            (("tenant", "virtual_account"), False),
            (("tenant", "status", "created_at"), False),
        )

    @property
    def outstanding_minor(self) -> int:
        return max(self.amount_minor - self.amount_paid_minor, 0)

    @property
    def overpaid_minor(self) -> int:
        return max(self.amount_paid_minor - self.amount_minor, 0)


# The amount + customer strategy looks orders up by customer id, email or phone. Partial
# indexes (known values only): with many orders lacking an email, a plain index looks
# unselective to SQLite's statistics and the planner walks every open order instead.
for _column in (SalesOrder.customer_id, SalesOrder.customer_email, SalesOrder.customer_phone):
    SalesOrder.add_index(
        SalesOrder.index(SalesOrder.tenant, _column, name=f"sales_order_{_column.name}_known").where(
            _column.is_null(False)
        )
    )
