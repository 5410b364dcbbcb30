"""marshmallow fields shared by the resource schemas: exact money in, decimal strings out."""

from __future__ import annotations

import datetime as dt

import marshmallow as ma
from marshmallow.utils import missing

from flux_recon.money import MoneyError, format_minor, normalize_currency, parse_decimal
from flux_recon.web.api import MAX_ID


class Amount(ma.fields.Field):
    """A money amount: accepted as a decimal string ("1500.00") or an exact JSON number,
    returned as a decimal string. Checked against the currency by the schema."""

    def __init__(self, **kwargs):
        metadata = kwargs.setdefault("metadata", {})
        metadata.setdefault("example", "1500.00")
        metadata.setdefault("type", "string")
        metadata.setdefault("pattern", r"^\d+(\.\d+)?$")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_decimal(value)
        except MoneyError as exc:
            raise ma.ValidationError(str(exc)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


class Currency(ma.fields.String):
    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("example", "NGN")
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalize_currency(text)
        except MoneyError as exc:
            raise ma.ValidationError(str(exc)) from None


def minor_amount(attribute: str, **kwargs) -> ma.fields.Function:
    """Dump-only decimal string of an integer minor-units attribute in the object's currency."""
    metadata = {"example": "1500.00", "type": "string", **kwargs.pop("metadata", {})}
    return ma.fields.Function(
        lambda obj: None if getattr(obj, attribute) is None else format_minor(getattr(obj, attribute), obj.currency),
        dump_only=True,
        metadata=metadata,
        **kwargs,
    )


class SameObject(ma.fields.Nested):
    """Dumps a group of the object's own attributes as a nested object (``payer``,
    ``customer``), so the OpenAPI document shows its fields."""

    def get_value(self, obj, attr, accessor=None, default=missing):
        return obj


class UTCDateTime(ma.fields.AwareDateTime):
    """An ISO 8601 time with an offset, converted to UTC; refused if UTC cannot hold it
    (0001-01-01T00:00:00+01:00 is before year 1 in UTC)."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            raise ma.ValidationError("this time is out of range") from None


def id_field(*, strict: bool = True, **kwargs) -> ma.fields.Integer:
    """An object id: a positive integer no larger than any id this service issues.
    ``strict``: a JSON body must send a number; a query string can only send text."""
    return ma.fields.Integer(strict=strict, validate=ma.validate.Range(min=1, max=MAX_ID), **kwargs)
