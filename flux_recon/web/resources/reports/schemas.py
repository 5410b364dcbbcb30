"""Schemas of the reports resource."""

import marshmallow as ma

from flux_recon.services.reports import AGING_FIRST_DAY, AGING_LAST_DAY, AGING_OUT_OF_RANGE
from flux_recon.web.resources.fields import UTCDateTime


class SummaryArgsSchema(ma.Schema):
    from_ = UTCDateTime(data_key="from", metadata={"description": "ISO 8601, inclusive"})
    to = UTCDateTime(metadata={"description": "ISO 8601, exclusive"})


def _row(group: str, *, with_paid: bool = False) -> type[ma.Schema]:
    fields = {
        group: ma.fields.String(),
        "currency": ma.fields.String(),
        "count": ma.fields.Integer(),
        "amount": ma.fields.String(metadata={"example": "15000.00"}),
    }
    if with_paid:
        fields["amount_paid"] = ma.fields.String(metadata={"example": "15000.00"})
    return ma.Schema.from_dict(fields, name=f"SummaryBy{group.title().replace('_', '')}{'Paid' if with_paid else ''}")


class PaymentTotalsSchema(ma.Schema):
    by_reconciliation = ma.fields.List(ma.fields.Nested(_row("reconciliation")))
    by_status = ma.fields.List(ma.fields.Nested(_row("status")))
    by_provider = ma.fields.List(ma.fields.Nested(_row("provider")))


class OrderTotalsSchema(ma.Schema):
    by_status = ma.fields.List(ma.fields.Nested(_row("status", with_paid=True)))


class UnallocatedSchema(ma.Schema):
    currency = ma.fields.String()
    count = ma.fields.Integer(metadata={"description": "succeeded payments with money not allocated to any order"})
    amount = ma.fields.String(metadata={"description": "money received but not allocated", "example": "500.00"})


class SummarySchema(ma.Schema):
    from_ = UTCDateTime(data_key="from", allow_none=True)
    to = UTCDateTime(allow_none=True)
    payments = ma.fields.Nested(PaymentTotalsSchema, metadata={"description": "payments received in the period"})
    orders = ma.fields.Nested(OrderTotalsSchema, metadata={"description": "orders created in the period"})
    unallocated = ma.fields.List(ma.fields.Nested(UnallocatedSchema))


class AgingArgsSchema(ma.Schema):
    as_of = ma.fields.Date(
        validate=ma.validate.Range(min=AGING_FIRST_DAY, max=AGING_LAST_DAY, error=AGING_OUT_OF_RANGE),
        metadata={
            "description": "age the receivables at the end of this day (UTC), YYYY-MM-DD, "
            f"from {AGING_FIRST_DAY} to {AGING_LAST_DAY}; default today"
        },
    )


class AgingBucketSchema(ma.Schema):
    bucket = ma.fields.String(metadata={"enum": ["0-7", "8-30", "31-90", "90+"]})
    min_days = ma.fields.Integer(metadata={"description": "days since the order was created, at least"})
    max_days = ma.fields.Integer(allow_none=True, metadata={"description": "at most (null: no upper bound)"})
    count = ma.fields.Integer(metadata={"description": "open and partially paid orders"})
    outstanding = ma.fields.String(metadata={"description": "what they still owe", "example": "15000.00"})


class AgingTotalSchema(ma.Schema):
    count = ma.fields.Integer()
    outstanding = ma.fields.String(metadata={"example": "45000.00"})


class AgingCurrencySchema(ma.Schema):
    currency = ma.fields.String(metadata={"example": "NGN"})
    buckets = ma.fields.List(ma.fields.Nested(AgingBucketSchema), metadata={"description": "always all four"})
    total = ma.fields.Nested(AgingTotalSchema)


class AgingSchema(ma.Schema):
    as_of = ma.fields.Date()
    currencies = ma.fields.List(ma.fields.Nested(AgingCurrencySchema))
