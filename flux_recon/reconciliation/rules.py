"""Per-tenant reconciliation settings: which strategies run, the customer window, tolerances."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass, field

from flux_recon.money import MoneyError, format_minor, normalize_currency, parse_decimal, to_minor

DEFAULT_CUSTOMER_WINDOW_DAYS = 30
MAX_CUSTOMER_WINDOW_DAYS = 366
# Where a tenant's people read times and days (the console, its date filters and charts).
DEFAULT_TIME_ZONE = "Africa/Lagos"


@dataclass(frozen=True)
class ReconciliationSettings:
    """What a tenant has chosen; ``from_json(None)`` gives the defaults.

    ``disabled_strategies``: matcher names that do not run for this tenant.
    ``customer_window_days``: how far apart, either way, an order's creation and a
    payment's time may be for the amount + customer strategy to pair them (a payment may
    come first: a pro-forma invoice paid by transfer, a sale keyed in later).
    ``tolerances``: per currency, the underpayment (in minor units) that still counts as paid.
    ``time_zone``: the IANA zone the tenant's people read times and days in; kept with the
    rules so that a change to either keeps the other.
    """

    disabled_strategies: frozenset[str] = frozenset()
    customer_window_days: int = DEFAULT_CUSTOMER_WINDOW_DAYS
    tolerances: dict[str, int] = field(default_factory=dict)
    time_zone: str = DEFAULT_TIME_ZONE

    @property
    def customer_window(self) -> dt.timedelta:
        return dt.timedelta(days=self.customer_window_days)

    def tolerance(self, currency: str) -> int:
        return self.tolerances.get(currency, 0)

    @classmethod
    def from_json(cls, data: dict | None) -> ReconciliationSettings:
        data = data or {}
        return cls(
            disabled_strategies=frozenset(data.get("disabled_strategies", ())),
            customer_window_days=int(data.get("customer_window_days", DEFAULT_CUSTOMER_WINDOW_DAYS)),
            tolerances={cur: int(minor) for cur, minor in (data.get("tolerances") or {}).items()},
            time_zone=data.get("time_zone") or DEFAULT_TIME_ZONE,
        )

    def to_json(self) -> dict:
        return {
            "disabled_strategies": sorted(self.disabled_strategies),
            "customer_window_days": self.customer_window_days,
            "tolerances": dict(sorted(self.tolerances.items())),
            "time_zone": self.time_zone,
        }

    def to_api(self) -> dict:
        return {**self.to_json(), "tolerances": {c: format_minor(m, c) for c, m in sorted(self.tolerances.items())}}


def parse_tolerances(given: dict) -> dict[str, int]:
    """``{"NGN": "1.00"}`` -> ``{"NGN": 100}``; raises ValueError naming the bad entry."""
    result = {}
    for code, amount in given.items():
        try:
            currency = normalize_currency(code)
            minor = to_minor(parse_decimal(amount), currency)
        except MoneyError as exc:
            raise ValueError(f"{code}: {exc}") from None
        if minor < 0:
            raise ValueError(f"{code}: a tolerance cannot be negative")
        result[currency] = minor
    return result


@functools.cache
def known_time_zones() -> frozenset[str]:
    # Read once: the zones installed with the system's (or the tzdata package's) database.
    return frozenset(zoneinfo.available_timezones())


def parse_time_zone(name) -> str:
    """An IANA time zone name as given ("Africa/Lagos", "UTC"); ValueError if it is not one."""
    if not isinstance(name, str) or name not in known_time_zones():
        raise ValueError(f"{name!r} is not a time zone name like Africa/Lagos or Europe/London")
    return name


__all__ = ["DEFAULT_TIME_ZONE", "ReconciliationSettings", "parse_time_zone", "parse_tolerances"]
