"""Settlements in the plugin API: statement records, the StatementFormat a provider declares, a CSV reader."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO, ClassVar

from flux_recon.money import MoneyError, normalize_currency, parse_decimal
from flux_recon.providers.notice import PaymentMethod

FORMAT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# Errors kept per statement: a file that is wrong everywhere is still refused with a
# readable answer (the count says how many there were).
MAX_ERRORS = 200
MAX_TEXT = 200
OFFSET = re.compile(r"^[+-](\d\d):(\d\d)$")


@dataclass(frozen=True)
class SettlementLineRecord:
    """One transaction a settlement paid out.

    :param transaction_id: the transaction as the provider's **webhooks** name it, i.e. the
        ``external_id`` of the ``PaymentNotice`` its webhook gives (Monnify:
        ``transactionReference``; Paystack: the charge's ``reference``). A recovered payment is
        recorded under it, so the late webhook is a duplicate.
    :param amount: what the customer paid (Decimal, exact); ``fee`` what the provider kept;
        ``net`` what reached the merchant (default ``amount - fee``).
    :param reference: the merchant's reference for it (the order reference), if given.
    :param settlement_reference: the settlement it belongs to, when a statement holds several.
    :param line: where it is in the file (1 is the header row of a CSV), for messages.
    """

    transaction_id: str
    amount: Decimal
    fee: Decimal = Decimal(0)
    net: Decimal | None = None
    reference: str | None = None
    paid_at: dt.datetime | None = None
    payer_email: str | None = None
    method: PaymentMethod = PaymentMethod.OTHER
    settlement_reference: str | None = None
    line: int | None = None

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.fee if self.net is None else self.net


@dataclass(frozen=True)
class SettlementRecord:
    """A payout: its provider reference, when, and its totals.

    ``gross``/``fees``/``net`` left None: the statement has no totals of its own, and the sums
    of its lines are taken. ``lines`` may be given here (a webhook, a JSON document) or
    yielded one by one after it as ``SettlementLineRecord``s naming it (a large CSV).
    """

    reference: str
    settled_at: dt.datetime
    currency: str
    gross: Decimal | None = None
    fees: Decimal | None = None
    net: Decimal | None = None
    destination_account: str | None = None
    destination_bank: str | None = None
    destination_name: str | None = None
    lines: tuple[SettlementLineRecord, ...] = ()
    line: int | None = None


class StatementError(ValueError):
    """A statement refused whole. ``errors`` names each bad line and column:
    ``{"line 3": {"Amount paid": ["..."]}}`` (``"file"`` for what concerns the whole file)."""

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class StatementContext:
    """What a format's ``parse`` is given besides the bytes: ``options`` (the integration's
    saved settings for this format and the import request's ``reference``/``settled_at``) and
    ``error(line, column, message)`` to note a bad value and go on reading, so one answer names
    every bad line."""

    def __init__(self, options: Mapping[str, Any] | None = None, *, max_errors: int = MAX_ERRORS):
        self.options = dict(options or {})
        self.max_errors = max_errors
        self.error_count = 0
        self._errors: dict[str, dict[str, list[str]]] = {}

    def error(self, line: int | None, column: str, message: str) -> None:
        self.error_count += 1
        if self.error_count > self.max_errors:
            return
        where = "file" if line is None else f"line {line}"
        self._errors.setdefault(where, {}).setdefault(column, []).append(message)

    @property
    def errors(self) -> dict[str, dict[str, list[str]]]:
        return self._errors

    def failure(self) -> StatementError | None:
        """The refusal these errors make, or None if there are none."""
        if not self.error_count:
            return None
        shown = "" if self.error_count <= self.max_errors else f" (the first {self.max_errors} are listed)"
        return StatementError(f"the statement has {self.error_count} errors{shown}; nothing was imported", self._errors)


class StatementFormat:
    """A statement file a provider's merchants can import. Subclass it and declare:

    - ``name``: unique among the provider's formats (``paystack_payout``), used as ``format=``;
    - ``title``, ``description``;
    - ``content_types``: what the file is sent as (``text/csv``, ``application/json``);
    - ``parse(stream, context)``: read the binary ``stream`` and yield ``SettlementRecord``s and
      ``SettlementLineRecord``s. Note bad values with ``context.error(...)`` and keep going; the
      service refuses the whole file if any was noted. Read as you go (a file may hold a million
      lines): never ``stream.read()`` the whole of a CSV.

    Declare instances on the provider: ``statement_formats = (MyExport(),)``.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    content_types: ClassVar[tuple[str, ...]] = ("text/csv",)

    def parse(self, stream: BinaryIO, context: StatementContext) -> Iterator[SettlementRecord | SettlementLineRecord]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "content_types": list(self.content_types),
        }


def csv_rows(
    stream: BinaryIO, context: StatementContext, required: tuple[str, ...], *, delimiter: str = ","
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a UTF-8 CSV (a byte-order mark is allowed) as ``(line, {column: text})``,
    read as they come. The header row is line 1; columns in ``required`` must be in it
    (else one error per missing column and no rows). A row with more fields than the header
    is noted as an error and skipped; blank rows are skipped."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            context.error(None, "file", "the file is empty: a CSV with a header row was expected")
            return
        header = [name.strip() for name in header]
        missing = [name for name in required if name not in header]
        for name in missing:
            context.error(1, name, "this column is missing from the header row")
        if missing:
            return
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                context.error(line, "row", f"{len(row)} fields, the header has {len(header)}")
                continue
            yield line, dict(zip(header, row, strict=False))
    except UnicodeDecodeError:
        context.error(getattr(reader, "line_num", 0) + 1, "file", "the file is not UTF-8 text")
    except csv.Error as exc:
        context.error(reader.line_num, "file", f"not a well-formed CSV: {exc}")


class RowReader:
    """Reads one row's values, noting each bad one on the context under its column."""

    def __init__(self, context: StatementContext, line: int, row: Mapping[str, str]):
        self.context = context
        self.line = line
        self.row = row
        self.bad = False

    def error(self, column: str, message: str) -> None:
        self.bad = True
        self.context.error(self.line, column, message)

    def text(self, column: str | None, *, required: bool = False, max_length: int = MAX_TEXT) -> str | None:
        value = (self.row.get(column) or "").strip() if column else ""
        if not value:
            if required:
                self.error(column or "column", "is required")
            return None
        if len(value) > max_length:
            self.error(column, f"is longer than {max_length} characters")
            return None
        return value

    def amount(self, column: str | None, *, required: bool = True, minor_exponent: int | None = None) -> Decimal | None:
        """A decimal amount (``15000.00``, ``15,000.00``); with ``minor_exponent`` an integer
        of minor units (kobo) converted to the major unit."""
        value = self.text(column, required=required, max_length=40)
        if value is None:
            return None
        try:
            amount = parse_decimal(value)
        except MoneyError as exc:
            self.error(column, str(exc))
            return None
        if minor_exponent is not None:
            if amount != amount.to_integral_value():
                self.error(column, f"must be a whole number of minor units, got {value!r}")
                return None
            amount = amount.scaleb(-minor_exponent)
        if amount < 0:
            self.error(column, f"must not be negative, got {value!r}")
            return None
        return amount

    def currency(self, column: str | None, default: str | None = None) -> str | None:
        value = self.text(column) or default
        if value is None:
            self.error(column or "currency", "is required")
            return None
        try:
            return normalize_currency(value)
        except MoneyError as exc:
            self.error(column or "currency", str(exc))
            return None

    def time(self, column: str | None, *, required: bool = False, offset: str = "+00:00") -> dt.datetime | None:
        value = self.text(column, required=required, max_length=40)
        if value is None:
            return None
        moment = parse_time(value, offset)
        if moment is None:
            self.error(column, f"{value!r} is not a time: write 2026-11-22T10:15:03+01:00 or 2026-11-22 10:15:03")
        return moment


def parse_time(value: str, offset: str = "+00:00") -> dt.datetime | None:
    """An ISO 8601 time or date (``2026-11-22``, ``2026-11-22 10:15:03``, ``...Z``) as UTC; a
    time without an offset is read at ``offset``. None if it is not one, or out of 1970-2199."""
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=utc_offset(offset))
    try:
        moment = moment.astimezone(dt.UTC)
    except OverflowError:
        return None
    return moment if 1970 <= moment.year < 2200 else None


def utc_offset(text: str) -> dt.timezone:
    """``+01:00`` as a timezone; ValueError for anything else."""
    match = OFFSET.match(text or "")
    if not match or int(match[1]) > 14 or int(match[2]) > 59:
        raise ValueError(f"{text!r} is not a UTC offset like +01:00")
    sign = -1 if text[0] == "-" else 1
    return dt.timezone(sign * dt.timedelta(hours=int(match[1]), minutes=int(match[2])))
