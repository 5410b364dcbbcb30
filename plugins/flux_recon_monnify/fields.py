"""Monnify's own field formats on top of the plugin API's reader: naira by default, day-first Lagos times."""

from __future__ import annotations

import datetime as dt

from flux_recon import Fields, utc_time

# Monnify is a Nigerian provider: its timestamps carry no offset and are Lagos time.
LAGOS = dt.timezone(dt.timedelta(hours=1), "WAT")
DEFAULT_CURRENCY = "NGN"

# "17/11/2021 3:48:10 PM" (day first) in older events and in refunds; the other form,
# "2021-11-17 11:28:42.615", and offset-carrying ISO 8601 are read by fromisoformat.
DAY_FIRST_FORMATS = ("%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M:%S")


class MonnifyFields(Fields):
    """One JSON object of a Monnify payload (``eventData`` and what it nests), read field by field.

    Monnify sends ``{}`` freely for an object it has nothing to say in: ``nested`` reads
    it as empty, as it does an absent one.
    """

    def currency_or_naira(self) -> str:
        """The currency; naira when absent, and also when invalid (its error is recorded), so
        the amounts are still checked against a currency."""
        return self.currency(default=DEFAULT_CURRENCY) or DEFAULT_CURRENCY

    def first_of_list_or_object(self, name: str) -> MonnifyFields:
        """``paymentSourceInformation`` is a list of objects in some events, one object in others."""
        value = self.data.get(name)
        if isinstance(value, list):
            if not all(isinstance(item, dict) for item in value):
                self.error(name, "must be an object or a list of objects")
                return MonnifyFields({}, self.where(name), self.errors)
            # Each entry is one account that paid; the first is the payer we record.
            return MonnifyFields(value[0] if value else {}, f"{self.where(name)}[0]", self.errors)
        return self.nested(name)

    def monnify_time(self, name: str, *, required: bool = True) -> dt.datetime | None:
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


__all__ = ["DEFAULT_CURRENCY", "LAGOS", "MonnifyFields", "parse_time"]
