"""Schemas of the settlements resource."""

import marshmallow as ma

from flux_recon.models.settlement import SettlementStatus
from flux_recon.providers.generic_statement import AMOUNT_UNITS, COLUMN_FIELDS
from flux_recon.web.resources.fields import UTCDateTime, id_field, minor_amount

# Lines and breaks shown inside one settlement; the rest are paged at /lines and /breaks.
SHOWN_INLINE = 100


class SettlementQueryArgsSchema(ma.Schema):
    provider = ma.fields.String()
    integration_id = id_field(strict=False)
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in SettlementStatus]))
    settled_from = UTCDateTime(metadata={"description": "ISO 8601, inclusive"})
    settled_to = UTCDateTime(metadata={"description": "ISO 8601, exclusive"})


class SettlementSchema(ma.Schema):
    id = ma.fields.Integer()
    provider = ma.fields.String(metadata={"example": "monnify"})
    integration_id = ma.fields.Integer(allow_none=True)
    reference = ma.fields.String(metadata={"description": "the provider's reference of the payout"})
    settled_at = ma.fields.DateTime()
    currency = ma.fields.String()
    gross = minor_amount("gross_minor")
    fees = minor_amount("fees_minor")
    net = minor_amount("net_minor")
    totals_from_lines = ma.fields.Boolean(
        metadata={"description": "the source gave no totals: gross, fees and net are the sums of the lines"}
    )
    destination_account = ma.fields.String(allow_none=True)
    destination_bank = ma.fields.String(allow_none=True)
    destination_name = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": [s.value for s in SettlementStatus]})
    source = ma.fields.String(metadata={"description": "the first source: webhook, statement or api"})
    sources = ma.fields.List(ma.fields.String())
    line_count = ma.fields.Integer()
    break_count = ma.fields.Integer()
    period_start = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class SettlementLineSchema(ma.Schema):
    id = ma.fields.Integer()
    transaction_id = ma.fields.String(metadata={"description": "the transaction as the provider's webhooks name it"})
    reference = ma.fields.String(allow_none=True)
    amount = minor_amount("amount_minor")
    fee = minor_amount("fee_minor")
    net = minor_amount("net_minor")
    currency = ma.fields.String()
    paid_at = ma.fields.DateTime(allow_none=True)
    payer_email = ma.fields.String(allow_none=True)
    payment_id = ma.fields.Integer(allow_none=True)
    recovered = ma.fields.Boolean(metadata={"description": "its payment was recorded from this line (missing webhook)"})


class SettlementBreakSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"example": "amount_differs"})
    line_id = ma.fields.Integer(allow_none=True)
    payment_id = ma.fields.Integer(allow_none=True)
    settlement_value = ma.fields.String(allow_none=True, metadata={"description": "what the settlement says"})
    ledger_value = ma.fields.String(allow_none=True, metadata={"description": "what the ledger (or the sum) says"})
    message = ma.fields.String()
    created_at = ma.fields.DateTime()


class SettlementDetailSchema(SettlementSchema):
    lines = ma.fields.List(
        ma.fields.Nested(SettlementLineSchema),
        metadata={"description": f"the first {SHOWN_INLINE}; all of them at /settlements/{{id}}/lines"},
    )
    breaks = ma.fields.List(
        ma.fields.Nested(SettlementBreakSchema),
        metadata={"description": f"the first {SHOWN_INLINE}; all of them at /settlements/{{id}}/breaks"},
    )


class ImportArgsSchema(ma.Schema):
    integration_id = id_field(strict=False, required=True)
    format = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"description": "generic_csv, or one of the provider's formats (paystack_payout...)"},
    )
    reference = ma.fields.String(
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "the settlement's reference, when the file does not name it"},
    )
    settled_at = UTCDateTime(metadata={"description": "when it was settled, when the file does not say"})


class ImportResultSchema(ma.Schema):
    settlements = ma.fields.List(ma.fields.Integer(), metadata={"description": "ids of the settlements recorded"})
    lines_read = ma.fields.Integer()
    lines_added = ma.fields.Integer()
    lines_known = ma.fields.Integer(metadata={"description": "already recorded (an import repeated)"})
    payments_settled = ma.fields.Integer()
    payments_recovered = ma.fields.Integer(metadata={"description": "missing webhooks: recorded from their line"})
    breaks_found = ma.fields.Integer()


# Unknown names are refused (marshmallow's default), each named in the 422.
MappingColumnsSchema = ma.Schema.from_dict(
    {
        name: ma.fields.String(
            validate=ma.validate.Length(min=1, max=200), metadata={"description": f"the CSV column holding {name}"}
        )
        for name in COLUMN_FIELDS
    },
    name="MappingColumns",
)


class MappingSchema(ma.Schema):
    columns = ma.fields.Nested(
        MappingColumnsSchema,
        required=True,
        metadata={"description": "the column of each field; transaction_id and amount are required"},
    )
    currency = ma.fields.String(allow_none=True, metadata={"description": "when no column holds it", "example": "NGN"})
    amounts_in = ma.fields.String(
        load_default="major", validate=ma.validate.OneOf(AMOUNT_UNITS), metadata={"description": "major or minor units"}
    )
    delimiter = ma.fields.String(load_default=",")
    utc_offset = ma.fields.String(
        load_default="+00:00", metadata={"description": "for times written without an offset", "example": "+01:00"}
    )
