"""Reading Opay's wire fields: every problem collected for one 422, exact amounts, epoch times, methods."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flux_recon import PayloadError, PaymentMethod
from flux_recon.money import MAX_MINOR_UNITS, MoneyError, from_minor, normalize_currency, parse_decimal, to_minor
from flux_recon.providers import utc_time

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Epoch milliseconds outside these bounds are not a time Opay sends: most likely seconds
# sent where milliseconds belong, which would silently read as January 1970.
EARLIEST_MILLIS = 946_684_800_000  # 2000-01-01T00:00:00Z
LATEST_MILLIS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
DIGITS = re.compile(r"[0-9]+", re.ASCII)

# Opay names the same means of payment differently per product (checkout instrumentType,
# POS payMethod); keys are lower-case with everything but letters and digits removed.
METHODS = {
    "card": PaymentMethod.CARD,
    "bankcard": PaymentMethod.CARD,
    "debitcard": PaymentMethod.CARD,
    "pos": PaymentMethod.CARD,
    "poscard": PaymentMethod.CARD,
    "contactless": PaymentMethod.CARD,
    "transfer": PaymentMethod.BANK_TRANSFER,
    "banktransfer": PaymentMethod.BANK_TRANSFER,
    "bankaccount": PaymentMethod.BANK_TRANSFER,
    "account": PaymentMethod.BANK_TRANSFER,
    "virtualaccount": PaymentMethod.BANK_TRANSFER,
    "ussd": PaymentMethod.USSD,
    "bankussd": PaymentMethod.USSD,
    "wallet": PaymentMethod.WALLET,
    "balance": PaymentMethod.WALLET,
    "balancepayment": PaymentMethod.WALLET,
    "opay": PaymentMethod.WALLET,
    "opaywallet": PaymentMethod.WALLET,
    "owealth": PaymentMethod.WALLET,
    "cash": PaymentMethod.CASH,
}


def method_of(value: object) -> PaymentMethod:
    """The canonical method for an Opay instrumentType/payMethod; unknown ones are ``other``."""
    if not isinstance(value, str):
        return PaymentMethod.OTHER
    return METHODS.get(re.sub(r"[^a-z0-9]", "", value.lower()), PaymentMethod.OTHER)


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class FieldErrors:
    """Reads the fields of one JSON object and collects every problem, named ``<prefix><field>``,
    so one 422 lists all of them. Each reader returns ``None`` for a bad or absent field."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(self.prefix + name, []).append(message)

    def raise_if_any(self, message: str) -> None:
        if self.errors:
            raise PayloadError(message, self.errors)

    def text(self, obj: dict, name: str, *, required: bool = False, max_length: int = 200) -> str | None:
        value = obj.get(name)
        if _absent(value):
            if required:
                self.add(name, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.add(name, "must be a string")
            return None
        value = str(value).strip()
        if len(value) > max_length:
            self.add(name, f"must be at most {max_length} characters")
            return None
        return value

    def currency(self, obj: dict, name: str, *, default: str | None = None) -> str | None:
        value = obj.get(name)
        if _absent(value):
            if default is None:
                self.add(name, "is required")
            return default
        try:
            return normalize_currency(value)
        except MoneyError as exc:
            self.add(name, str(exc))
            return None

    def choice(self, obj: dict, name: str, table: dict):
        """The table's value for an upper-cased code; absent or unknown codes are errors."""
        value = obj.get(name)
        if _absent(value):
            self.add(name, "is required")
            return None
        if not isinstance(value, str) or value.strip().upper() not in table:
            self.add(name, f"must be one of: {', '.join(table)}")
            return None
        return table[value.strip().upper()]

    def flag(self, obj: dict, name: str) -> bool | None:
        """A JSON boolean; absent reads as false."""
        value = obj.get(name, False)
        if not isinstance(value, bool):
            self.add(name, "must be true or false")
            return None
        return value

    def minor_amount(
        self, obj: dict, name: str, currency: str | None, *, required: bool = True, positive: bool = True
    ) -> Decimal | None:
        """A whole number of minor units (kobo), as a digit string or a JSON integer."""
        value = obj.get(name)
        if _absent(value):
            if required:
                self.add(name, "is required")
            return None
        minor = self._whole_number(name, value)
        if minor is not None and positive and minor == 0:
            self.add(name, "must be greater than zero")
            return None
        if minor is None or currency is None:
            return None
        return from_minor(minor, currency)

    def _whole_number(self, name: str, value: object) -> int | None:
        if isinstance(value, str) and DIGITS.fullmatch(value.strip()):
            text = value.strip().lstrip("0") or "0"
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            text = str(value)
        else:
            self.add(
                name,
                f'must be a whole number of minor units (kobo), e.g. "49160" for 491.60 NGN; got {value!r}',
            )
            return None
        # Compare lengths before int(): a thousand-digit string is refused, not converted.
        if len(text) > len(str(MAX_MINOR_UNITS)) or int(text) > MAX_MINOR_UNITS:
            self.add(name, "is larger than this service accepts")
            return None
        return int(text)

    def major_amount(
        self, obj: dict, name: str, currency: str | None, *, required: bool = True, positive: bool = True
    ) -> Decimal | None:
        """A decimal amount in the currency's main unit (naira), never rounded."""
        value = obj.get(name)
        if _absent(value):
            if required:
                self.add(name, "is required")
            return None
        try:
            amount = parse_decimal(value)
            if positive and amount <= 0:
                raise MoneyError("must be greater than zero")
            if amount < 0:
                raise MoneyError("must not be negative")
            if currency is not None:
                to_minor(amount, currency)  # refuses more decimals than the currency has
        except MoneyError as exc:
            self.add(name, str(exc))
            return None
        return amount if currency is not None else None

    def epoch_millis(self, obj: dict, name: str) -> dt.datetime | None:
        """Epoch milliseconds (digit string or JSON integer) as tz-aware UTC; "0" reads as absent."""
        value = obj.get(name)
        if _absent(value) or value in ("0", 0):
            return None
        return self._millis(name, value)

    def _millis(self, name: str, value: object) -> dt.datetime | None:
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, bool) or not (isinstance(text, int) or (isinstance(text, str) and DIGITS.fullmatch(text))):
            self.add(name, f'must be epoch milliseconds, e.g. "1795341903000"; got {value!r}')
            return None
        millis = int(text) if len(str(text)) <= 15 else LATEST_MILLIS + 1
        if not EARLIEST_MILLIS <= millis < LATEST_MILLIS:
            self.add(name, f"must be epoch milliseconds between the years 2000 and 2100; got {value!r}")
            return None
        return EPOCH + dt.timedelta(milliseconds=millis)

    def instant(self, obj: dict, name: str) -> dt.datetime | None:
        """An ISO 8601 time (without an offset: UTC) or epoch milliseconds, as tz-aware UTC."""
        value = obj.get(name)
        if _absent(value):
            self.add(name, "is required")
            return None
        if isinstance(value, int) or (isinstance(value, str) and DIGITS.fullmatch(value.strip())):
            return self._millis(name, value)
        try:
            when = dt.datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
        except ValueError:
            when = None
        if when is None:
            self.add(name, f'must be an ISO 8601 time such as "2026-11-22T09:20:46Z"; got {value!r}')
            return None
        try:
            return utc_time(when)
        except ValueError as exc:
            self.add(name, f"{exc}; got {value!r}")
            return None
