"""Schemas of the payments resource."""

import marshmallow as ma
from webargs.fields import DelimitedList

from flux_recon.models import PAYMENT_STATUSES, RECONCILIATION_STATES
from flux_recon.providers import NoticeKind, PaymentMethod
from flux_recon.web.resources.fields import Amount, SameObject, UTCDateTime, id_field, minor_amount


class AllocationSchema(ma.Schema):
    id = ma.fields.Integer()
    order_id = ma.fields.Integer(attribute="order_id")
    amount = minor_amount("amount_minor")
    currency = ma.fields.String()
    matched_by = ma.fields.String(metadata={"description": "a strategy name, or manual"})
    created_by = ma.fields.String()
    created_at = ma.fields.DateTime()
    released_at = ma.fields.DateTime(allow_none=True)


class PayerSchema(ma.Schema):
    name = ma.fields.String(attribute="payer_name", allow_none=True)
    email = ma.fields.String(attribute="payer_email", allow_none=True)
    phone = ma.fields.String(attribute="payer_phone", allow_none=True)
    customer_id = ma.fields.String(attribute="payer_customer_id", allow_none=True)
    account_number = ma.fields.String(attribute="payer_account_number", allow_none=True)
    bank = ma.fields.String(attribute="payer_bank", allow_none=True)


class PaymentSchema(ma.Schema):
    id = ma.fields.Integer()
    provider = ma.fields.String(metadata={"example": "core"})
    external_id = ma.fields.String(metadata={"description": "the provider's transaction id"})
    kind = ma.fields.String(metadata={"enum": [k.value for k in NoticeKind]})
    status = ma.fields.String(metadata={"enum": list(PAYMENT_STATUSES)})
    method = ma.fields.String(metadata={"enum": [m.value for m in PaymentMethod]})
    amount = minor_amount("amount_minor")
    currency = ma.fields.String()
    allocated = minor_amount("allocated_minor", metadata={"description": "sum of live allocations"})
    refunded = minor_amount("refunded_minor", metadata={"description": "taken back by refunds and reversals"})
    fee = minor_amount("fee_minor", allow_none=True)
    settlement_amount = minor_amount("settlement_minor", allow_none=True)
    settlement_state = ma.fields.String(
        allow_none=True,
        metadata={
            "enum": ["awaiting_settlement", "settled", "not_in_settlement", None],
            "description": "whether a provider's settlement covered it (null: its integration's settlements are "
            "not tracked, or it did not succeed); docs/settlements.md",
        },
    )
    settlement_line_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "the settlement line that covers it (GET /settlements/{id})"}
    )
    recovered_from = ma.fields.String(
        allow_none=True,
        metadata={"description": "set when recorded from a settlement line because its webhook never came"},
    )
    reconciliation = ma.fields.String(metadata={"enum": list(RECONCILIATION_STATES)})
    reconciliation_reason = ma.fields.String(allow_none=True)
    candidates = ma.fields.List(
        ma.fields.Integer(),
        allow_none=True,
        metadata={"description": "order ids considered (ambiguous: the competing orders)"},
    )
    references = ma.fields.List(ma.fields.String())
    destination_account = ma.fields.String(allow_none=True)
    parent_external_id = ma.fields.String(allow_none=True)
    payer = SameObject(PayerSchema, dump_only=True)
    occurred_at = ma.fields.DateTime()
    received_at = ma.fields.DateTime()
    allocations = ma.fields.List(ma.fields.Nested(AllocationSchema))


class PaymentQueryArgsSchema(ma.Schema):
    reconciliation = DelimitedList(
        ma.fields.String(validate=ma.validate.OneOf(RECONCILIATION_STATES)),
        metadata={
            "description": "one or more states, comma-separated; the review queue is "
            "unmatched,ambiguous,exception,orphan,partially_matched"
        },
    )
    status = ma.fields.String(validate=ma.validate.OneOf(PAYMENT_STATUSES))
    kind = ma.fields.String(validate=ma.validate.OneOf([k.value for k in NoticeKind]))
    provider = ma.fields.String()
    reference = ma.fields.String(metadata={"description": "a reference the payment carried"})
    order_id = id_field(strict=False, metadata={"description": "payments allocated to this order"})
    received_from = UTCDateTime(metadata={"description": "ISO 8601, inclusive"})
    received_to = UTCDateTime(metadata={"description": "ISO 8601, exclusive"})


class MatchSchema(ma.Schema):
    order_id = id_field(required=True)
    amount = Amount(
        metadata={"description": "part of the payment to allocate (a split); default: all that is unallocated"}
    )
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))


class UnmatchSchema(ma.Schema):
    order_id = id_field(metadata={"description": "release only the allocations to this order"})
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
