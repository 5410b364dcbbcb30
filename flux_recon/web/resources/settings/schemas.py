"""Schemas of the reconciliation settings resource."""

import marshmallow as ma

from flux_recon.reconciliation.rules import MAX_CUSTOMER_WINDOW_DAYS


class ReconciliationSettingsSchema(ma.Schema):
    strategies = ma.fields.List(
        ma.fields.String(), dump_only=True, metadata={"description": "every strategy, in the order they run"}
    )
    disabled_strategies = ma.fields.List(
        ma.fields.String(), metadata={"description": "strategies that do not run for you", "example": []}
    )
    customer_window_days = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(min=0, max=MAX_CUSTOMER_WINDOW_DAYS),
        metadata={
            "description": (
                "amount + customer matching pairs a payment and an order whose times are at most this many"
                " days apart, whichever came first"
            ),
            "example": 30,
        },
    )
    tolerances = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={
            "description": "per currency, an underpayment up to this amount counts as paid",
            "example": {"NGN": "1.00"},
        },
    )
    time_zone = ma.fields.String(
        metadata={
            "description": (
                "the IANA time zone your people read times and days in (the console shows times in it,"
                " its date filters and daily charts use its days); default Africa/Lagos"
            ),
            "example": "Africa/Lagos",
        },
    )
