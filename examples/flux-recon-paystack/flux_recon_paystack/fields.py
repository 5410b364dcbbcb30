"""Paystack's own field formats on top of the plugin API's reader: kobo amounts, its currencies, fallback times."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flux_recon import Fields, MoneyError, from_minor, normalize_currency, utc_time

# Paystack settles in these currencies, each with a hundredth subunit (kobo, pesewas, cents);
# its amounts are integers of that subunit.
CURRENCIES = ("NGN", "GHS", "ZAR", "KES", "USD")
# No real payment is larger (10 trillion naira): refuse before converting.
MAX_SUBUNITS = 10**15


class PaystackFields(Fields):
    """One JSON object of a Paystack event, read field by field; ``errors`` names each bad one."""

    def settlement_currency(self) -> str | None:
        """``currency``: one Paystack settles in; it has no default."""
        try:
            code = normalize_currency(self.data.get("currency"))
        except MoneyError as exc:
            self.error("currency", str(exc))
            return None
        if code not in CURRENCIES:
            self.error("currency", f"must be a currency Paystack settles in: {', '.join(CURRENCIES)}")
            return None
        return code

    def subunits(self, name: str, currency: str | None, *, required: bool = True) -> Decimal | None:
        """An amount in kobo (pesewas, cents): a JSON integer or a string of digits, as a Decimal of naira."""
        value = self.data.get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return None
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 16:
            text = int(text)
        if isinstance(text, bool) or not isinstance(text, int) or not 0 < text <= MAX_SUBUNITS:
            self.error(name, f"must be a whole number of kobo above zero, e.g. 1500000 for 15000.00 NGN; got {value!r}")
            return None
        return from_minor(text, currency) if currency else None

    def first_time(self, *names: str) -> dt.datetime | None:
        """The first of ``names`` present, an ISO 8601 time (Paystack writes UTC, "...Z"); None if none is."""
        for name in names:
            value = self.data.get(name)
            if value is None:
                continue
            try:
                moment = dt.datetime.fromisoformat(value.strip())
            except (AttributeError, ValueError):
                self.error(name, f'must be an ISO 8601 time such as "2026-11-22T09:15:03.000Z"; got {value!r:.60}')
                return None
            try:
                return utc_time(moment)
            except ValueError as exc:  # year 1, year 9999: no payment's time
                self.error(name, f"{exc}; got {value!r:.60}")
                return None
        return None
