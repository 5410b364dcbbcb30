"""Exact money: ISO-4217 exponents, Decimal <-> integer minor units, strict parsing."""

from __future__ import annotations

import re
from decimal import Decimal, Inexact, localcontext

# Minor-unit exponent per ISO-4217 code. Extend here when a merchant needs another currency.
CURRENCY_EXPONENTS: dict[str, int] = {
    "NGN": 2,
    "GHS": 2,
    "KES": 2,
    "ZAR": 2,
    "UGX": 0,
    "TZS": 2,
    "RWF": 0,
    "EGP": 2,
    "MAD": 2,
    "XOF": 0,
    "XAF": 0,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "JPY": 0,
}

# A decimal string as people and providers write it: ASCII digits, an optional fraction.
DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)

# Largest amount we store: fits a signed 64-bit column with room to sum many payments.
MAX_MINOR_UNITS = 10**15


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def normalize_currency(code: object) -> str:
    """Return the upper-case ISO-4217 code, or raise MoneyError if we do not know it."""
    if not isinstance(code, str) or code.strip().upper() not in CURRENCY_EXPONENTS:
        raise MoneyError(f"unsupported currency {code!r}; supported: {', '.join(sorted(CURRENCY_EXPONENTS))}")
    return code.strip().upper()


def parse_decimal(value: object) -> Decimal:
    """Read an amount given as a JSON number (already a Decimal or int) or a decimal string.

    Floats are refused: by the time a float exists the exact value is already lost.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("amount must be a decimal string or an exact JSON number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip().replace(",", "") if _is_grouped(value) else value.strip()
        # Decimal() alone would also take "1_5", "NaN", "1e3" and non-ASCII digits.
        if not DECIMAL_TEXT.fullmatch(text):
            raise MoneyError(f"{value[:40]!r} is not a decimal amount")
        amount = Decimal(text)
    else:
        raise MoneyError("amount must be a number or a decimal string")
    if not amount.is_finite():
        raise MoneyError("amount must be a finite number")
    return amount


def _is_grouped(text: str) -> bool:
    # "1,500.00" is how some dashboards print amounts; accept thousands separators only
    # when they are in the right places, so "1,5" is never read as 15.
    parts = text.strip().split(".")[0].lstrip("-").split(",")
    return len(parts) > 1 and 1 <= len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])


def to_minor(amount: Decimal, currency: str) -> int:
    """Convert a Decimal to integer minor units, refusing anything that would need rounding."""
    exponent = CURRENCY_EXPONENTS[currency]
    if amount.adjusted() > 20:  # decide "too large" before scaling a 1E+999999 into memory
        raise MoneyError(f"{amount} {currency} is larger than this service accepts")
    # Enough precision for any amount we accept, and an error rather than a silent rounding
    # (the default 28-digit context would turn 1.00000000000000000000000000001 into 1.00).
    with localcontext() as ctx:
        ctx.prec = 64
        ctx.traps[Inexact] = True
        try:
            scaled = amount.scaleb(exponent)
        except Inexact:
            raise MoneyError(f"{amount} has more decimal places than {currency} allows") from None
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more than {exponent} decimal places allowed for {currency}")
    minor = int(scaled)
    if abs(minor) > MAX_MINOR_UNITS:
        raise MoneyError(f"{amount} {currency} is larger than this service accepts")
    return minor


def from_minor(minor: int, currency: str) -> Decimal:
    """Integer minor units back to a Decimal with the currency's number of places."""
    exponent = CURRENCY_EXPONENTS[currency]
    if abs(minor) > MAX_MINOR_UNITS * 1000:  # past what the context holds exactly
        raise MoneyError(f"{minor} minor units of {currency} is larger than this service accepts")
    return Decimal(minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def format_minor(minor: int, currency: str) -> str:
    """The API's decimal-string form, e.g. 150000 NGN -> "1500.00"."""
    return str(from_minor(minor, currency))


def parse_amount(value: object, currency: str, *, positive: bool = True) -> int:
    """Parse a wire amount into minor units of `currency`, with a clear error for bad input."""
    amount = parse_decimal(value)
    if positive and amount <= 0:
        raise MoneyError("amount must be greater than zero")
    return to_minor(amount, currency)
