"""Fields, the payload reader for adapters: typed field readers that collect every problem for one PayloadError."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flux_recon.money import MoneyError, normalize_currency, parse_decimal, to_minor
from flux_recon.providers.errors import PayloadError
from flux_recon.providers.times import utc_time


class Fields:
    """One JSON object of a payload, read field by field.

    Each reader returns the value, or ``None`` for an absent or invalid field and records
    why under the field's dotted path (``data.amount``), so that ``check`` raises one
    ``PayloadError`` naming every problem. Readers of nested objects share the error dict.
    Subclass it to add readers for a provider's own formats: ``nested`` returns the subclass.

    :param data: the JSON object (a dict) to read.
    :param path: its dotted path in the payload, prefixed to every field it names ("" for the body).
    :param errors: the ``{"path": ["message", ...]}`` dict to record into; a new one when None.
    """

    def __init__(self, data: dict, path: str = "", errors: dict[str, list[str]] | None = None):
        if not isinstance(data, dict):
            # An adapter's mistake, not the sender's: check a value is an object (or use nested) first.
            raise TypeError(f"Fields reads a dict, not {type(data).__name__}")
        self.data = data
        self.path = path
        self.errors = {} if errors is None else errors

    def where(self, name: str) -> str:
        """The dotted path of field ``name`` ("" names this object itself)."""
        if not name:
            return self.path
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, message: str) -> None:
        """Record ``message`` against field ``name``."""
        self.errors.setdefault(self.where(name), []).append(message)

    def check(self, message: str) -> None:
        """Raise one ``PayloadError(message, errors)`` if any field was found wrong so far."""
        if self.errors:
            raise PayloadError(message, self.errors)

    def present(self, name: str) -> bool:
        """Whether the field has a value: absent, ``null`` and a blank string are no value."""
        value = self.data.get(name)
        return value is not None and not (isinstance(value, str) and not value.strip())

    def quietly(self) -> Fields:
        """The same object with an error dict of its own, for fields whose problems must not refuse the event."""
        return type(self)(self.data, self.path)

    def nested(self, name: str) -> Fields:
        """The object at ``name``, sharing this reader's errors; an empty one when it is absent or
        ``null``, and when it is not an object (then recorded as ``must be an object``)."""
        value = self.data.get(name)
        if value is None:
            value = {}
        elif not isinstance(value, dict):
            self.error(name, "must be an object")
            value = {}
        return type(self)(value, self.where(name), self.errors)

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str | None:
        """A string, stripped; a JSON integer reads as its digits (a numeric reference is the same reference)."""
        if not self.present(name):
            if required:
                self.error(name, "is required")
            return None
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.error(name, "must be a string")
            return None
        value = str(value).strip()
        if len(value) > max_length:
            self.error(name, f"must be at most {max_length} characters")
            return None
        return value

    def currency(self, name: str = "currency", *, default: str | None = None) -> str | None:
        """An ISO-4217 code, upper-cased; ``default`` when absent (without one, it is required)."""
        if not self.present(name):
            if default is None:
                self.error(name, "is required")
            return default
        try:
            return normalize_currency(self.data[name])
        except MoneyError as exc:
            self.error(name, str(exc))
            return None

    def amount(
        self, name: str, currency: str | None, *, required: bool = True, positive: bool = True
    ) -> Decimal | None:
        """An exact amount in the currency's main unit, from a JSON number or a decimal string;
        never rounded: more decimals than ``currency`` has is an error. ``positive=False`` admits
        zero (never a negative). ``None`` when ``currency`` is (its own error is recorded already)."""
        if not self.present(name):
            if required:
                self.error(name, "is required")
            return None
        try:
            amount = parse_decimal(self.data[name])
            if positive and amount <= 0:
                raise MoneyError("must be greater than zero")
            if amount < 0:
                raise MoneyError("must not be negative")
            if currency is not None:
                to_minor(amount, currency)  # refuses more decimals than the currency has
        except MoneyError as exc:
            self.error(name, str(exc))
            return None
        return amount if currency is not None else None

    def time(
        self,
        name: str,
        *,
        required: bool = True,
        assume: dt.tzinfo = dt.UTC,
        example: str = "2026-11-22T10:15:03+01:00",
    ) -> dt.datetime | None:
        """An ISO 8601 date and time as timezone-aware UTC (``utc_time``); one without an offset
        is in ``assume``. Absent means absent or ``null``; ``example`` is shown in the error."""
        raw = self.data.get(name)
        if raw is None:
            if required:
                self.error(name, "is required")
            return None
        try:
            moment = dt.datetime.fromisoformat(str(raw).strip())
        except ValueError:
            self.error(name, f"must be an ISO 8601 date and time, e.g. {example}")
            return None
        try:
            return utc_time(moment, assume)
        except ValueError as exc:  # a real time, but none a payment can have (year 1, year 9999)
            self.error(name, str(exc))
            return None


__all__ = ["Fields"]
