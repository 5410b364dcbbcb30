"""The generic CSV statement: any provider's export, read through a column mapping saved per integration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, BinaryIO

from flux_recon.money import CURRENCY_EXPONENTS, MoneyError, normalize_currency
from flux_recon.providers.settlements import (
    RowReader,
    SettlementLineRecord,
    SettlementRecord,
    StatementContext,
    StatementError,
    StatementFormat,
    csv_rows,
    parse_time,
    utc_offset,
)

# The fields a mapping may name a column for; the first two are required.
COLUMN_FIELDS = (
    "transaction_id",
    "amount",
    "fee",
    "net",
    "reference",
    "paid_at",
    "settlement_reference",
    "settled_at",
    "currency",
    "payer_email",
)
REQUIRED_COLUMNS = ("transaction_id", "amount")
AMOUNT_UNITS = ("major", "minor")
# Distinct settlements one file may hold: what is remembered per settlement while reading.
MAX_SETTLEMENTS_PER_FILE = 10_000


def validate_mapping(mapping: Any) -> dict:
    """A mapping as saved: ``{"columns": {field: column name}, "currency", "amounts_in",
    "delimiter", "utc_offset"}``; StatementError naming each bad field otherwise."""
    errors: dict[str, list[str]] = {}
    if not isinstance(mapping, Mapping):
        raise StatementError("the mapping must be a JSON object", {"mapping": ["must be an object"]})
    unknown = sorted(set(mapping) - {"columns", "currency", "amounts_in", "delimiter", "utc_offset"})
    for name in unknown:
        errors[name] = ["unknown setting"]
    columns = mapping.get("columns")
    clean_columns: dict[str, str] = {}
    if not isinstance(columns, Mapping):
        errors["columns"] = ["is required: an object naming the CSV column of each field"]
    else:
        for name, column in columns.items():
            if name not in COLUMN_FIELDS:
                errors[f"columns.{name}"] = [f"unknown field; the fields: {', '.join(COLUMN_FIELDS)}"]
            elif not isinstance(column, str) or not column.strip() or len(column) > 200:
                errors[f"columns.{name}"] = ["must be a column name (1 to 200 characters)"]
            else:
                clean_columns[name] = column.strip()
        for name in REQUIRED_COLUMNS:
            if name not in columns:
                errors[f"columns.{name}"] = ["is required"]
    currency = mapping.get("currency")
    if currency is not None:
        try:
            currency = normalize_currency(currency)
        except MoneyError as exc:
            errors["currency"] = [str(exc)]
    elif isinstance(columns, Mapping) and "currency" not in columns:
        errors["currency"] = ["is required when no column holds the currency (columns.currency)"]
    amounts_in = mapping.get("amounts_in", "major")
    if amounts_in not in AMOUNT_UNITS:
        errors["amounts_in"] = ["must be major (15000.00) or minor (1500000, in kobo/cents)"]
    delimiter = mapping.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        errors["delimiter"] = ["must be one character other than a quote or a line break"]
    offset = mapping.get("utc_offset", "+00:00")
    try:
        utc_offset(offset)
    except (ValueError, TypeError):
        errors["utc_offset"] = ["must be a UTC offset like +01:00, used for times written without one"]
    if errors:
        raise StatementError("the column mapping is not valid", errors)
    return {
        "columns": clean_columns,
        "currency": currency,
        "amounts_in": amounts_in,
        "delimiter": delimiter,
        "utc_offset": offset,
    }


class GenericCsv(StatementFormat):
    name = "generic_csv"
    title = "CSV with a saved column mapping"
    description = (
        "Any CSV with a header row; the integration's saved mapping names the column of each field "
        "(PUT /api/v1/settlements/mappings/{integration_id})."
    )
    content_types = ("text/csv",)

    def parse(self, stream: BinaryIO, context: StatementContext) -> Iterator[SettlementRecord | SettlementLineRecord]:
        mapping = context.options.get("mapping")
        if mapping is None:
            context.error(None, "format", "this integration has no saved column mapping for generic_csv")
            return
        columns = mapping["columns"]
        request_reference = context.options.get("reference")
        request_settled_at = context.options.get("settled_at")
        if "settlement_reference" not in columns and not request_reference:
            context.error(None, "reference", "name the settlement: map columns.settlement_reference or pass reference")
        if "settled_at" not in columns and request_settled_at is None:
            context.error(None, "settled_at", "say when it was settled: map columns.settled_at or pass settled_at")
        if context.error_count:
            return
        offset = mapping["utc_offset"]
        required = tuple(dict.fromkeys(columns.values()))
        seen: dict[str, str] = {}  # settlement reference -> its currency
        for line, row in csv_rows(stream, context, required, delimiter=mapping["delimiter"]):
            read = RowReader(context, line, row)
            currency = read.currency(columns.get("currency"), mapping["currency"])
            exponent = CURRENCY_EXPONENTS.get(currency) if mapping["amounts_in"] == "minor" else None
            if mapping["amounts_in"] == "minor" and exponent is None:
                continue  # the currency error is noted already
            amount = read.amount(columns["amount"], minor_exponent=exponent)
            fee = read.amount(columns.get("fee"), required=False, minor_exponent=exponent)
            net = read.amount(columns.get("net"), required=False, minor_exponent=exponent)
            reference = read.text(columns.get("settlement_reference")) or request_reference
            if reference is None:
                read.error(columns["settlement_reference"], "is required")
            line_record = SettlementLineRecord(
                transaction_id=read.text(columns["transaction_id"], required=True) or "",
                amount=amount,
                fee=fee if fee is not None else Decimal(0),
                net=net,
                reference=read.text(columns.get("reference")),
                paid_at=read.time(columns.get("paid_at"), offset=offset),
                payer_email=read.text(columns.get("payer_email"), max_length=320),
                settlement_reference=reference,
                line=line,
            )
            settled_at = read.time(columns.get("settled_at"), offset=offset) if "settled_at" in columns else None
            if read.bad:
                continue
            if reference not in seen:
                if len(seen) >= MAX_SETTLEMENTS_PER_FILE:
                    context.error(line, "file", f"more than {MAX_SETTLEMENTS_PER_FILE} settlements in one file")
                    return
                seen[reference] = currency
                yield SettlementRecord(
                    reference=reference,
                    settled_at=settled_at or parse_request_time(request_settled_at),
                    currency=currency,
                    line=line,
                )
            elif seen[reference] != currency:
                read.error(columns.get("currency", "currency"), f"settlement {reference} is in {seen[reference]}")
                continue
            yield line_record


def parse_request_time(value):
    """The import request's ``settled_at``: a datetime already, or ISO 8601 text."""
    return value if value is None or not isinstance(value, str) else parse_time(value)
