"""Opay's own wire formats on top of the plugin API's reader: kobo amounts, epoch times, codes, methods."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flux_recon import Fields, PaymentMethod, from_minor, utc_time
from flux_recon.money import MAX_MINOR_UNITS

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Epoch milliseconds outside these bounds are not a time Opay sends: most likely seconds
# sent where milliseconds belong, which would silently read as January 1970.
EARLIEST_MILLIS = 946_684_800_000  # 2000-01-01T00:00:00Z
LATEST_MILLIS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
DIGITS = re.compile(r"[0-9]+", re.ASCII)
# Opay's older cashier writes naira with exactly two decimals ("10.00", "0.10").
NAIRA_TEXT = re.compile(r"[0-9]+\.[0-9]{2}", re.ASCII)

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


class UnknownCode(Exception):
    """A code (a status) that is a string, but none this plugin knows: a form of the
    notification Opay may have added, which the provider answers Unrecognized."""

    def __init__(self, path: str, value: str, known: tuple[str, ...]):
        super().__init__(path, value)
        self.path, self.value, self.known = path, value, known


class OpayFields(Fields):
    """One JSON object of an Opay notification (``data`` or ``payload``), read field by field,
    with the readers for Opay's own formats. Each returns ``None`` for a bad or absent field."""

    def choice(self, name: str, table: dict):
        """The table's value for an upper-cased code; an absent code or one that is not a
        string is an error, and a string the table lacks raises UnknownCode: a status Opay
        adds later may be money moving, so it must reach a person, not end in a 422."""
        value = self.data.get(name)
        if not self.present(name):
            self.error(name, "is required")
            return None
        if not isinstance(value, str):
            self.error(name, f"must be a string, one of: {', '.join(table)}")
            return None
        code = value.strip().upper()
        if code not in table:
            raise UnknownCode(self.where(name), value.strip(), tuple(table))
        return table[code]

    def flag(self, name: str) -> bool | None:
        """A JSON boolean; absent reads as false."""
        value = self.data.get(name, False)
        if not isinstance(value, bool):
            self.error(name, "must be true or false")
            return None
        return value

    def minor_amount(
        self, name: str, currency: str | None, *, required: bool = True, positive: bool = True, hint: str = ""
    ) -> Decimal | None:
        """A whole number of minor units (kobo), as a digit string or a JSON integer;
        ``hint`` is added to the error (which setting declares the unit)."""
        value = self.data.get(name)
        if not self.present(name):
            if required:
                self.error(name, "is required")
            return None
        minor = self._whole_number(name, value, hint)
        if minor is not None and positive and minor == 0:
            self.error(name, "must be greater than zero")
            return None
        if minor is None or currency is None:
            return None
        return from_minor(minor, currency)

    def _whole_number(self, name: str, value: object, hint: str = "") -> int | None:
        if isinstance(value, str) and DIGITS.fullmatch(value.strip()):
            text = value.strip().lstrip("0") or "0"
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            text = str(value)
        else:
            self.error(
                name,
                f'must be a whole number of minor units (kobo), e.g. "49160" for 491.60 NGN; got {value!r:.60}{hint}',
            )
            return None
        # Compare lengths before int(): a thousand-digit string is refused, not converted.
        if len(text) > len(str(MAX_MINOR_UNITS)) or int(text) > MAX_MINOR_UNITS:
            self.error(name, "is larger than this service accepts")
            return None
        return int(text)

    def naira_amount(
        self, name: str, currency: str | None, *, required: bool = True, positive: bool = True, hint: str = ""
    ) -> Decimal | None:
        """Main units with exactly two decimals ("10.00"), as a string or a JSON number: the
        form of Opay's older cashier. A whole number ("1000") is refused, not guessed: in that
        form it is most likely kobo sent to an integration declared to receive naira."""
        value = self.data.get(name)
        if not self.present(name):
            if required:
                self.error(name, "is required")
            return None
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, Decimal) and text.is_finite() and text.as_tuple().exponent == -2:
            text = str(text)
        if not (isinstance(text, str) and NAIRA_TEXT.fullmatch(text) and len(text) <= 20):
            self.error(name, f'must be naira with two decimals, e.g. "10.00"; got {value!r:.60}{hint}')
            return None
        amount = Decimal(text)
        if positive and amount == 0:
            self.error(name, "must be greater than zero")
            return None
        if amount * 100 > MAX_MINOR_UNITS:
            self.error(name, "is larger than this service accepts")
            return None
        return amount if currency is not None else None

    def epoch_millis(self, name: str) -> dt.datetime | None:
        """Epoch milliseconds (digit string or JSON integer) as tz-aware UTC; "0" reads as absent."""
        value = self.data.get(name)
        if not self.present(name) or value in ("0", 0):
            return None
        return self._millis(name, value)

    def _millis(self, name: str, value: object) -> dt.datetime | None:
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, bool) or not (isinstance(text, int) or (isinstance(text, str) and DIGITS.fullmatch(text))):
            self.error(name, f'must be epoch milliseconds, e.g. "1795341903000"; got {value!r}')
            return None
        millis = int(text) if len(str(text)) <= 15 else LATEST_MILLIS + 1
        if not EARLIEST_MILLIS <= millis < LATEST_MILLIS:
            self.error(name, f"must be epoch milliseconds between the years 2000 and 2100; got {value!r}")
            return None
        return EPOCH + dt.timedelta(milliseconds=millis)

    def instant(self, name: str) -> dt.datetime | None:
        """An ISO 8601 time (without an offset: UTC) or epoch milliseconds, as tz-aware UTC."""
        value = self.data.get(name)
        if not self.present(name):
            self.error(name, "is required")
            return None
        if isinstance(value, int) or (isinstance(value, str) and DIGITS.fullmatch(value.strip())):
            return self._millis(name, value)
        try:
            when = dt.datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
        except ValueError:
            when = None
        if when is None:
            self.error(name, f'must be an ISO 8601 time such as "2026-11-22T09:20:46Z"; got {value!r}')
            return None
        try:
            return utc_time(when)
        except ValueError as exc:
            self.error(name, f"{exc}; got {value!r}")
            return None
