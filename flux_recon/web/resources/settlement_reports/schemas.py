"""Schemas of the settlement report."""

import marshmallow as ma

from flux_recon.money import format_minor
from flux_recon.web.resources.fields import UTCDateTime


class SettlementReportArgsSchema(ma.Schema):
    from_ = UTCDateTime(data_key="from", metadata={"description": "ISO 8601, inclusive"})
    to = UTCDateTime(metadata={"description": "ISO 8601, exclusive"})


def _amount(name: str) -> ma.fields.Function:
    return ma.fields.Function(
        lambda row: format_minor(row[f"{name}_minor"], row["currency"]), metadata={"example": "15000.00"}
    )


class SettlementReportRowSchema(ma.Schema):
    provider = ma.fields.String()
    day = ma.fields.String(metadata={"description": "UTC day: settled on (settlements, missing webhooks) or paid on"})
    currency = ma.fields.String()
    settlements = ma.fields.Integer()
    lines = ma.fields.Integer()
    gross = _amount("gross")
    fees = _amount("fees")
    net = _amount("net")
    missing_webhooks = ma.fields.Integer(metadata={"description": "payments recovered from settlement lines"})
    awaiting = ma.fields.Integer(metadata={"description": "succeeded payments awaiting their settlement"})
    awaiting_amount = _amount("awaiting")
    not_in_settlement = ma.fields.Integer(metadata={"description": "payments no settlement covered in time"})
    not_in_settlement_amount = _amount("not_in_settlement")


class SettlementReportSchema(ma.Schema):
    rows = ma.fields.List(ma.fields.Nested(SettlementReportRowSchema))
