"""Schemas of the exception queue resource."""

import datetime as dt
import re

import marshmallow as ma
from webargs.fields import DelimitedList

from flux_recon.services import exceptions
from flux_recon.web.resources.fields import Amount, Currency

MAX_NOTE = 1000
# Far beyond any item's age, and far from the limits of Python's dates.
MAX_AGE = dt.timedelta(days=36500)
_DURATION = re.compile(r"^\s*([0-9]{1,12})\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Duration(ma.fields.Field):
    """An age: seconds ("90"), or a number with a unit ("15m", "12h", "7d")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update({"type": "string", "example": "7d", "pattern": _DURATION.pattern})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        found = _DURATION.match(value) if isinstance(value, str) else None
        if found is None:
            raise ma.ValidationError('an age in seconds, or with a unit: "90", "15m", "12h", "7d"')
        seconds = int(found.group(1)) * _UNITS[found.group(2)]
        if seconds > MAX_AGE.total_seconds():
            raise ma.ValidationError(f"at most {MAX_AGE.days} days")
        return dt.timedelta(seconds=seconds)


class DecisionSchema(ma.Schema):
    status = ma.fields.String(metadata={"enum": ["resolved", "reopened"]})
    note = ma.fields.String()
    actor = ma.fields.String()
    decided_at = ma.fields.DateTime()


class CandidateSchema(ma.Schema):
    order_id = ma.fields.Integer()
    reference = ma.fields.String()
    status = ma.fields.String()
    amount = ma.fields.String(metadata={"example": "5000.00"})
    outstanding = ma.fields.String(metadata={"example": "5000.00"})
    currency = ma.fields.String()
    score = ma.fields.Integer(metadata={"description": "suggestions only (no_order items): 0-100"})
    evidence = ma.fields.String(metadata={"description": "suggestions only: why this order"})


class ExceptionSchema(ma.Schema):
    id = ma.fields.String(
        metadata={"description": "<source>:<id>, e.g. payment:42, order:12, webhook:7", "example": "payment:42"}
    )
    source = ma.fields.String(metadata={"example": "payment"})
    reason = ma.fields.String(metadata={"description": "machine-readable", "example": "no_order"})
    message = ma.fields.String(
        metadata={"example": "no order matches: reference INV-1010 vs order INV-1001 (closest suggestion, ...)"}
    )
    status = ma.fields.String(metadata={"enum": ["open", "resolved"]})
    amount = ma.fields.String(allow_none=True, metadata={"description": "the amount at stake", "example": "5000.00"})
    currency = ma.fields.String(allow_none=True, metadata={"example": "NGN"})
    provider = ma.fields.String(allow_none=True)
    since = ma.fields.DateTime(metadata={"description": "payments and webhooks: received; orders: created"})
    age_seconds = ma.fields.Integer()
    subject = ma.fields.Dict(metadata={"description": "what the item is about, e.g. {type, payment_id, external_id}"})
    candidates = ma.fields.List(
        ma.fields.Nested(CandidateSchema),
        metadata={"description": "payments: the orders involved (no_order: the best suggestions)"},
    )
    decision = ma.fields.Nested(DecisionSchema, allow_none=True, metadata={"description": "the latest decision"})


class ExceptionQueryArgsSchema(ma.Schema):
    reason = DelimitedList(
        ma.fields.String(),
        metadata={"description": "one or more, comma-separated: " + ", ".join(exceptions.known_reasons())},
    )
    provider = ma.fields.String(validate=ma.validate.Length(max=40))
    currency = Currency()
    min_age = Duration(metadata={"description": "at least this old"})
    max_age = Duration(metadata={"description": "at most this old"})
    min_amount = Amount(metadata={"description": "amount at stake at least (needs currency)"})
    max_amount = Amount(metadata={"description": "amount at stake at most (needs currency)"})
    status = ma.fields.String(
        load_default="open",
        validate=ma.validate.OneOf(exceptions.STATUSES),
        metadata={"description": "open (default), resolved, or all"},
    )
    sort = ma.fields.String(load_default="age", validate=ma.validate.OneOf(exceptions.SORTS))
    order = ma.fields.String(
        load_default="desc",
        validate=ma.validate.OneOf(["desc", "asc"]),
        metadata={"description": "desc (default): oldest or largest first"},
    )


class ResolveSchema(ma.Schema):
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=MAX_NOTE))


class ReopenSchema(ma.Schema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=MAX_NOTE))


class BulkResolveSchema(ma.Schema):
    ids = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=80)),
        required=True,
        validate=ma.validate.Length(min=1, max=exceptions.MAX_BULK),
    )
    note = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=MAX_NOTE))


class SkippedSchema(ma.Schema):
    id = ma.fields.String()
    reason = ma.fields.String(metadata={"enum": ["not_found", "already_resolved"]})


class BulkResolveResultSchema(ma.Schema):
    resolved = ma.fields.List(ma.fields.String())
    skipped = ma.fields.List(ma.fields.Nested(SkippedSchema))
