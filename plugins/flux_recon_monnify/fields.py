"""Typed readers for Monnify's JSON: each field named by its dotted path, every problem collected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flux_recon import PayloadError
from flux_recon.money import MoneyError, normalize_currency, parse_decimal, to_minor
from flux_recon.providers import utc_time

# Monnify is a Nigerian provider: its timestamps carry no offset and are Lagos time.
LAGOS = dt.timezone(dt.timedelta(hours=1), "WAT")
DEFAULT_CURRENCY = "NGN"

# "17/11/2021 3:48:10 PM" (day first) in older events and in refunds; the other form,
# "2021-11-17 11:28:42.615", and offset-carrying ISO 8601 are read by fromisoformat.
DAY_FIRST_FORMATS = ("%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M:%S")


class Fields:
    """One JSON object of a payload, read field by field.

    Readers return ``None`` for a missing or invalid field and record why under the
    field's dotted path (``eventData.amountPaid``), so one 422 names every problem.
    Objects nested inside share the same error dict.
    """

    def __init__(self, data: dict, path: str = "", errors: dict[str, list[str]] | None = None):
        self.data = data
        self.path = path
        self.errors = {} if errors is None else errors

    def where(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(self.where(name), []).append(message)

    def present(self, name: str) -> bool:
        value = self.data.get(name)
        return value is not None and not (isinstance(value, str) and not value.strip())

    def check(self, message: str) -> None:
        """Raise one PayloadError naming every field found wrong so far."""
        if self.errors:
            raise PayloadError(message, self.errors)

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str | None:
        if not self.present(name):
            if required:
                self.error(name, "is required")
            return None
        value = self.data[name]
        # Monnify's references are strings, but a numeric one is the same reference.
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.error(name, "must be a string")
            return None
        value = str(value).strip()
        if len(value) > max_length:
            self.error(name, f"must be at most {max_length} characters")
            return None
        return value

    def nested(self, name: str) -> Fields:
        """The object at ``name``; an empty one when it is absent (Monnify sends ``{}`` freely)."""
        value = self.data.get(name)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.error(name, "must be an object")
            value = {}
        return Fields(value, self.where(name), self.errors)

    def first_of_list_or_object(self, name: str) -> Fields:
        """``paymentSourceInformation`` is a list of objects in some events, one object in others."""
        value = self.data.get(name)
        if isinstance(value, list):
            if not all(isinstance(item, dict) for item in value):
                self.error(name, "must be an object or a list of objects")
                return Fields({}, self.where(name), self.errors)
            # Each entry is one account that paid; the first is the payer we record.
            return Fields(value[0] if value else {}, f"{self.where(name)}[0]", self.errors)
        return self.nested(name)

    def currency(self, name: str = "currency") -> str:
        if not self.present(name):
            return DEFAULT_CURRENCY
        try:
            return normalize_currency(self.data[name])
        except MoneyError as exc:
            self.error(name, str(exc))
            return DEFAULT_CURRENCY

    def amount(self, name: str, currency: str, *, required: bool = True, positive: bool = True) -> Decimal | None:
        """An exact amount from a JSON number or a decimal string; never rounded to fit."""
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
            to_minor(amount, currency)  # refuses more decimals than the currency has
        except MoneyError as exc:
            self.error(name, str(exc))
            return None
        return amount

    def time(self, name: str, *, required: bool = True) -> dt.datetime | None:
        """A Monnify timestamp as tz-aware UTC; one without an offset is Lagos time."""
        if not self.present(name):
            if required:
                self.error(name, "is required")
            return None
        raw = self.data[name]
        try:
            value = parse_time(raw) if isinstance(raw, str) else None
        except ValueError as exc:  # a real date and time, but not one a payment can have
            self.error(name, str(exc))
            return None
        if value is None:
            self.error(name, "must be a date and time like 2021-11-17 11:28:42.615 or 17/11/2021 3:48:10 PM")
        return value


def parse_time(text: str) -> dt.datetime | None:
    """The time ``text`` names in UTC, None if it is not one; ValueError if outside 1970-2199."""
    text = text.strip()
    value = None
    for pattern in DAY_FIRST_FORMATS:
        try:
            value = dt.datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    if value is None:
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            return None
    return utc_time(value, assume=LAGOS)


__all__ = ["DEFAULT_CURRENCY", "LAGOS", "Fields", "parse_time"]
