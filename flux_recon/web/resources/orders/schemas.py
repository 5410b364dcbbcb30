"""Schemas of the orders resource."""

import marshmallow as ma

from flux_recon.models import ORDER_STATUSES
from flux_recon.money import MoneyError, to_minor
from flux_recon.web.resources.fields import Amount, Currency, SameObject, UTCDateTime, minor_amount


class CustomerSchema(ma.Schema):
    id = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    name = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    email = ma.fields.Email(allow_none=True, validate=ma.validate.Length(max=320))
    phone = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=40))


def check_amount(data: dict) -> None:
    """A positive amount the currency can hold, when both are given."""
    if "amount" in data and "currency" in data:
        try:
            minor = to_minor(data["amount"], data["currency"])
        except MoneyError as exc:
            raise ma.ValidationError(str(exc), "amount") from None
        if minor <= 0:
            raise ma.ValidationError("amount must be greater than zero", "amount")


class OrderCreateSchema(ma.Schema):
    reference = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(min=1, max=200), ma.validate.Regexp(r".*\S", error="must not be blank")],
        metadata={"description": "your order number; unique per tenant", "example": "INV-1001"},
    )
    amount = Amount(required=True, metadata={"description": "decimal string or exact number"})
    currency = Currency(required=True)
    payment_reference = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "the reference the payer is asked to quote, if not the order reference"},
    )
    virtual_account = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "a dedicated account number payments for this order go to"},
    )
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))
    customer = ma.fields.Nested(CustomerSchema, load_default=dict)

    @ma.validates_schema
    def amount_fits_currency(self, data, **kwargs):
        check_amount(data)


class OrderUpdateSchema(ma.Schema):
    """Only the fields sent change; null clears an optional one."""

    reference = ma.fields.String(
        validate=[ma.validate.Length(min=1, max=200), ma.validate.Regexp(r".*\S", error="must not be blank")],
        metadata={"description": "a new order number; unique per tenant"},
    )
    amount = Amount(metadata={"description": "decimal string or exact number; never below what is already allocated"})
    currency = Currency(metadata={"description": "fixed once a payment is allocated to the order"})
    payment_reference = ma.fields.String(allow_none=True, validate=ma.validate.Length(min=1, max=200))
    virtual_account = ma.fields.String(allow_none=True, validate=ma.validate.Length(min=1, max=64))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))
    customer = ma.fields.Nested(
        CustomerSchema, metadata={"description": "the customer fields sent change; the others stay"}
    )

    @ma.validates_schema
    def amount_fits_currency(self, data, **kwargs):
        # An amount sent alone is checked against the order's currency by the service.
        check_amount(data)


class OrderCustomerView(ma.Schema):
    id = ma.fields.String(attribute="customer_id", allow_none=True)
    name = ma.fields.String(attribute="customer_name", allow_none=True)
    email = ma.fields.String(attribute="customer_email", allow_none=True)
    phone = ma.fields.String(attribute="customer_phone", allow_none=True)


class OrderSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    payment_reference = ma.fields.String(allow_none=True)
    virtual_account = ma.fields.String(allow_none=True)
    amount = minor_amount("amount_minor")
    currency = ma.fields.String()
    amount_paid = minor_amount("amount_paid_minor", metadata={"description": "sum of live allocations"})
    outstanding = minor_amount("outstanding_minor")
    overpaid = minor_amount("overpaid_minor", metadata={"description": "excess paid over the amount"})
    status = ma.fields.String(metadata={"enum": list(ORDER_STATUSES)})
    description = ma.fields.String(allow_none=True)
    customer = SameObject(OrderCustomerView, dump_only=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    cancelled_at = ma.fields.DateTime(allow_none=True)


class OrderDetailSchema(OrderSchema):
    amount_settled = minor_amount(
        "settled_minor",
        metadata={"description": "of amount_paid, what comes from payments a provider's settlement covered"},
    )


class OrderQueryArgsSchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(ORDER_STATUSES))
    reference = ma.fields.String(metadata={"description": "exact order or payment reference (case-insensitive)"})
    customer = ma.fields.String(metadata={"description": "customer id, email or phone"})
    created_from = UTCDateTime(metadata={"description": "ISO 8601, inclusive"})
    created_to = UTCDateTime(metadata={"description": "ISO 8601, exclusive"})
