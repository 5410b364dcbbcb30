"""Settlements: payouts recorded with their lines, matched line <-> payment <-> order, missing webhooks
recovered, breaks found; statement imports, column mappings, the not-in-settlement sweep."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import peewee

from flux_recon.core.domain_events import announce
from flux_recon.models import Integration, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.settlement import (
    Settlement,
    SettlementBreak,
    SettlementLine,
    SettlementSource,
    SettlementState,
    StatementMapping,
)
from flux_recon.models.transactions import write_transaction
from flux_recon.providers.generic_statement import GenericCsv, validate_mapping
from flux_recon.providers.settlements import (
    SettlementLineRecord,
    SettlementRecord,
    StatementContext,
    StatementError,
    StatementFormat,
)
from flux_recon.services import settlement_exceptions  # noqa: F401 - registers the settlement exception items
from flux_recon.services.errors import Invalid, NotFound
from flux_recon.services.owned import get_owned
from flux_recon.services.settlement_recorder import (
    BATCH_SIZE,
    BreakKind,
    EventSpool,
    ImportSummary,
    SettlementRecorder,
    settlement_document,
)
from flux_recon.services.settlement_report import report
from flux_recon.services.settlement_sweep import (
    DEFAULT_CYCLES,
    DEFAULT_GRACE_HOURS,
    SweepResult,
    settlement_due,
    sweep_unsettled,
    validate_cycles,
)

log = logging.getLogger(__name__)
GENERIC = GenericCsv()

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_CYCLES",
    "DEFAULT_GRACE_HOURS",
    "BreakKind",
    "EventSpool",
    "ImportSummary",
    "SettlementRecorder",
    "StatementRefused",
    "SweepResult",
    "get_mapping",
    "get_settlement",
    "import_statement",
    "list_settlements",
    "record_settlements",
    "report",
    "save_mapping",
    "settlement_breaks",
    "settlement_document",
    "settlement_due",
    "settlement_lines",
    "settled_minor",
    "statement_formats",
    "sweep_unsettled",
    "utcnow",
    "validate_cycles",
]


class StatementRefused(Invalid):
    """A statement refused whole; ``fields`` names each bad line and column."""


# --- statement formats and mappings -------------------------------------------------------


def statement_formats(provider) -> dict[str, StatementFormat]:
    """The formats an integration of ``provider`` can import: the generic CSV and the provider's own."""
    formats = {GENERIC.name: GENERIC}
    for statement_format in getattr(provider, "statement_formats", ()) or ():
        formats[statement_format.name] = statement_format
    return formats


def _integration(tenant_id: str, integration_id: int) -> Integration:
    return get_owned(Integration, integration_id, "integration", tenant_id)


def save_mapping(tenant_id: str, actor: str, integration_id: int, mapping: dict) -> dict:
    """Save the generic CSV column mapping of an integration; Invalid naming each bad field."""
    _integration(tenant_id, integration_id)
    try:
        clean = validate_mapping(mapping)
    except StatementError as exc:
        raise Invalid(exc.message, {name: list(messages) for name, messages in exc.errors.items()}) from None
    with write_transaction():
        StatementMapping.insert(tenant=tenant_id, integration=integration_id, mapping=clean, updated_at=utcnow())\
            .on_conflict(conflict_target=[StatementMapping.integration],
                         update={StatementMapping.mapping: clean, StatementMapping.updated_at: utcnow()})\
            .execute()  # fmt: skip
        record_audit(tenant_id, actor, "settlement_mapping.saved", "integration", integration_id, clean)
    return clean


def get_mapping(tenant_id: str, integration_id: int) -> dict:
    _integration(tenant_id, integration_id)
    row = StatementMapping.get_or_none(StatementMapping.integration == integration_id)
    if row is None:
        raise NotFound(f"integration {integration_id} has no saved column mapping")
    return row.mapping


def record_settlements(
    tenant_id: str,
    integration: Integration,
    items: Iterable[SettlementRecord | SettlementLineRecord],
    *,
    source: str,
    engine,
    plugin_manager,
    actor: str | None = None,
    context: StatementContext | None = None,
) -> ImportSummary:
    """Record settlements (and their lines) from one source in ONE write transaction; the
    events reach the outbox in it and plugins after the commit. Refused whole (Invalid naming
    each bad line and column) if anything in ``items`` is wrong."""
    context = context or StatementContext()
    actor = actor or f"settlement:{source}"
    spool = EventSpool()
    try:
        try:
            with write_transaction():
                recorder = SettlementRecorder(
                    tenant_id=tenant_id,
                    integration=integration,
                    source=source,
                    engine=engine,
                    actor=actor,
                    spool=spool,
                    context=context,
                )
                recorder.feed(items)
                summary = recorder.finish()
                failure = context.failure()
                if failure is not None:
                    raise failure  # rolls the whole transaction back: nothing half-imported
        except StatementError as exc:
            raise StatementRefused(exc.message, exc.errors) from None
        _announce(plugin_manager, spool)
    finally:
        spool.close()
    return summary


def _announce(plugin_manager, spool: EventSpool) -> None:
    batch = []
    for event in spool.replay():
        batch.append(event)
        if len(batch) >= BATCH_SIZE:
            announce(plugin_manager, batch)
            batch = []
    announce(plugin_manager, batch)


def import_statement(
    tenant_id: str,
    actor: str,
    integration_id: int,
    format_name: str,
    stream: BinaryIO,
    *,
    providers,
    engine,
    plugin_manager,
    content_type: str | None = None,
    reference: str | None = None,
    settled_at: dt.datetime | None = None,
) -> ImportSummary:
    """Import a statement file for an integration: all of it in one transaction, or nothing
    (Invalid naming each bad line and column). The same file imported again changes nothing."""
    integration = _integration(tenant_id, integration_id)
    provider = providers.get(integration.provider)
    formats = statement_formats(provider)
    statement_format = formats.get(format_name)
    if statement_format is None:
        raise Invalid(
            f"unknown statement format {format_name!r} for {integration.provider}",
            {"format": [f"one of: {', '.join(sorted(formats))}"]},
        )
    if content_type is not None and content_type not in statement_format.content_types:
        raise Invalid(
            f"{format_name} statements are sent as {', '.join(statement_format.content_types)}, not {content_type}",
            {"content_type": [f"one of: {', '.join(statement_format.content_types)}"]},
        )
    options: dict = {"reference": reference, "settled_at": settled_at}
    if statement_format is GENERIC:
        mapping = StatementMapping.get_or_none(StatementMapping.integration == integration.id)
        options["mapping"] = mapping.mapping if mapping else None
    context = StatementContext(options)
    summary = record_settlements(
        tenant_id,
        integration,
        _guarded(statement_format, stream, context),
        source=SettlementSource.STATEMENT,
        engine=engine,
        plugin_manager=plugin_manager,
        actor=actor,
        context=context,
    )
    record_audit(tenant_id, actor, "settlement.imported", "integration", integration.id, {
        "format": format_name, **summary.as_dict()})  # fmt: skip
    return summary


def _guarded(statement_format: StatementFormat, stream, context) -> Iterator:
    """The format's records; a plugin's parser failing on odd input refuses the file, never a 500."""
    try:
        yield from statement_format.parse(stream, context)
    except StatementError as exc:
        context.error(None, "file", exc.message)
        for where, columns in exc.errors.items():
            for column, messages in columns.items() if isinstance(columns, dict) else [("file", columns)]:
                for message in messages if isinstance(messages, list) else [messages]:
                    context.error(None if where == "file" else _line_number(where), column, str(message))
    except Exception:
        # A plugin's parser failing on odd input refuses the file, never a 500 (the database's
        # own errors are not caught here: they are raised where they happen, in the recorder).
        log.exception("statement format %s failed to read a file", statement_format.name)
        context.error(None, "file", f"the {statement_format.name} reader could not read this file")


def _line_number(where: str) -> int | None:
    number = where.removeprefix("line ")
    return int(number) if number.isdigit() else None


# --- reading --------------------------------------------------------------------------------


def list_settlements(
    tenant_id: str,
    *,
    provider: str | None = None,
    integration_id: int | None = None,
    status: str | None = None,
    settled_from: dt.datetime | None = None,
    settled_to: dt.datetime | None = None,
) -> peewee.ModelSelect:
    query = Settlement.select().where(Settlement.tenant == tenant_id)
    if provider is not None:
        query = query.where(Settlement.provider == provider)
    if integration_id is not None:
        query = query.where(Settlement.integration == integration_id)
    if status is not None:
        query = query.where(Settlement.status == status)
    if settled_from is not None:
        query = query.where(Settlement.settled_at >= settled_from)
    if settled_to is not None:
        query = query.where(Settlement.settled_at < settled_to)
    return query.order_by(Settlement.settled_at.desc(), Settlement.id.desc())


def get_settlement(tenant_id: str, settlement_id: int) -> Settlement:
    return get_owned(Settlement, settlement_id, "settlement", tenant_id)


def settlement_lines(tenant_id: str, settlement_id: int) -> peewee.ModelSelect:
    get_settlement(tenant_id, settlement_id)
    return SettlementLine.select().where(SettlementLine.settlement == settlement_id).order_by(SettlementLine.id)


def settlement_breaks(tenant_id: str, settlement_id: int) -> peewee.ModelSelect:
    get_settlement(tenant_id, settlement_id)
    return SettlementBreak.select().where(SettlementBreak.settlement == settlement_id).order_by(SettlementBreak.id)


def settled_minor(order) -> int:
    """How much of what paid ``order`` is settled: its live allocations from payments a
    settlement covers (the rest awaits settlement, is not in one, or is not tracked)."""
    from flux_recon.models import Allocation, Payment

    total = (
        Allocation.select(peewee.fn.COALESCE(peewee.fn.SUM(Allocation.amount_minor), 0))
        .join(Payment)
        .where(
            (Allocation.order == order.id)
            & Allocation.released_at.is_null()
            & (Payment.settlement_state == SettlementState.SETTLED.value)
        )
        .scalar()
    )
    return int(total or 0)
