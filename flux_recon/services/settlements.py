"""Settlements: payouts recorded with their lines, matched line <-> payment <-> order, missing webhooks
recovered, breaks found; statement imports, column mappings, the not-in-settlement sweep."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

import peewee
from peewee import fn

from flux_recon.core.domain_events import announce, payment_event
from flux_recon.core.states import PaymentStatus, Verdict
from flux_recon.models import Integration, Payment, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.prepared import Param, Prepared, PreparedInsert
from flux_recon.models.settlement import (
    Settlement,
    SettlementBreak,
    SettlementLine,
    SettlementSource,
    SettlementState,
    SettlementStatus,
    StatementMapping,
)
from flux_recon.models.transactions import locked, write_transaction
from flux_recon.money import MoneyError, format_minor, normalize_currency, to_minor
from flux_recon.outbound.outbox import enqueue
from flux_recon.providers import NoticeKind, Payer, PaymentNotice
from flux_recon.providers.generic_statement import GenericCsv, validate_mapping
from flux_recon.providers.settlements import (
    SettlementLineRecord,
    SettlementRecord,
    StatementContext,
    StatementError,
    StatementFormat,
)
from flux_recon.reconciliation import InvalidNotice, ReconciliationSettings
from flux_recon.reconciliation.records import tenant_settings
from flux_recon.services import settlement_exceptions  # noqa: F401 - registers the settlement exception items
from flux_recon.services.errors import Invalid, NotFound
from flux_recon.services.owned import get_owned

# Lines written, matched and settled together: what an import holds in memory at once.
BATCH_SIZE = 1000
MAX_REFERENCE = 200
GENERIC = GenericCsv()


class BreakKind:
    """The kinds of break (docs/settlements.md)."""

    AMOUNT_DIFFERS = "amount_differs"
    FEE_DIFFERS = "fee_differs"
    NET_DIFFERS = "net_differs"
    CURRENCY_DIFFERS = "currency_differs"
    NOT_A_PAYMENT = "not_a_payment"
    LINE_DIFFERS = "line_differs"
    IN_TWO_SETTLEMENTS = "in_two_settlements"
    TOTALS_DIFFER = "totals_differ"
    SOURCES_DISAGREE = "sources_disagree"


class StatementRefused(Invalid):
    """A statement refused whole; ``fields`` names each bad line and column."""


@dataclass
class ImportSummary:
    """What one import (or one settlement webhook) did."""

    settlements: list[int] = field(default_factory=list)
    lines_read: int = 0
    lines_added: int = 0
    lines_known: int = 0
    payments_settled: int = 0
    payments_recovered: int = 0
    breaks_found: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class EventSpool:
    """Domain events of one long transaction: written to the outbox batch by batch inside it,
    kept in a temporary file (not in memory) until the commit, then handed to plugins."""

    def __init__(self):
        self.file = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+")

    def add(self, events: list[dict]) -> None:
        if events:
            enqueue(events)
            for event in events:
                self.file.write(json.dumps(event, default=str) + "\n")

    def replay(self) -> Iterator[dict]:
        self.file.seek(0)
        for line in self.file:
            yield json.loads(line)

    def close(self) -> None:
        self.file.close()


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


# --- recording ----------------------------------------------------------------------------


# What matching a line reads of its payment (the whole row, with its raw payload, costs more).
COMPARED = (
    Payment.id,
    Payment.tenant,
    Payment.external_id,
    Payment.kind,
    Payment.status,
    Payment.reconciliation,
    Payment.currency,
    Payment.amount_minor,
    Payment.fee_minor,
    Payment.settlement_minor,
    Payment.settlement_line_id,
)
_insert_line = PreparedInsert(
    SettlementLine, conflict_target=[SettlementLine.settlement, SettlementLine.transaction_id]
)
_link_line = Prepared(
    lambda: SettlementLine.update(payment=Param.of(SettlementLine.payment)).where(SettlementLine.id == Param("id"))
)
_settle_payment = Prepared(
    lambda: Payment.update(
        settlement_state=SettlementState.SETTLED.value,
        settlement_line_id=Param.of(Payment.settlement_line_id),
        updated_at=Param.of(Payment.updated_at),
    ).where((Payment.id == Param("id")) & Payment.settlement_line_id.is_null())
)


class SettlementRecorder:
    """Records one source's settlements and lines for one integration, inside the caller's
    write transaction, ``BATCH_SIZE`` lines at a time: so a million lines take bounded memory.

    Feed it ``SettlementRecord``s (``header``) and ``SettlementLineRecord``s (``line``); call
    ``finish()`` once. Bad values are noted on ``context`` and nothing more is written once
    any is: the caller then rolls the transaction back.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        integration: Integration,
        source: str,
        engine,
        actor: str,
        spool: EventSpool,
        context: StatementContext,
        settings: ReconciliationSettings | None = None,
    ):
        self.tenant_id = tenant_id
        self.integration = integration
        self.provider = integration.provider
        self.source = SettlementSource(source)
        self.engine = engine
        self.actor = actor
        self.spool = spool
        self.context = context
        self.settings = settings or tenant_settings(tenant_id)
        self.settlements: dict[str, Settlement] = {}
        self.pending: list[tuple[Settlement, SettlementLineRecord, dict]] = []
        self.summary = ImportSummary()
        self.new_breaks: set[int] = set()  # settlements that got a break in this run

    # Feeding.

    def feed(self, items: Iterable[SettlementRecord | SettlementLineRecord]) -> None:
        for item in items:
            if isinstance(item, SettlementRecord):
                self.header(item)
                for line in item.lines:
                    self.line(line if line.settlement_reference else _named(line, item.reference))
            elif isinstance(item, SettlementLineRecord):
                self.line(item)
            else:
                self.context.error(None, "format", f"the statement format yielded a {type(item).__name__}")

    def header(self, record: SettlementRecord) -> None:
        where = record.line
        reference = (record.reference or "").strip()
        if not reference or len(reference) > MAX_REFERENCE:
            self.context.error(where, "reference", f"a settlement reference of 1 to {MAX_REFERENCE} characters")
            return
        try:
            currency = normalize_currency(record.currency)
            totals = [None if v is None else to_minor(v, currency) for v in (record.gross, record.fees, record.net)]
        except MoneyError as exc:
            self.context.error(where, "currency" if "currency" in str(exc) else "amount", str(exc))
            return
        if not isinstance(record.settled_at, dt.datetime) or record.settled_at.utcoffset() is None:
            self.context.error(where, "settled_at", "is required: a time with its UTC offset")
            return
        if self.context.error_count:
            return  # refused anyway: write nothing more
        self.settlements[reference] = self._upsert(reference, currency, totals, record)

    def line(self, record: SettlementLineRecord) -> None:
        self.summary.lines_read += 1
        settlement = self._settlement_of(record)
        values = self._line_values(record, settlement) if settlement is not None else None
        if values is None or self.context.error_count:
            return
        self.pending.append((settlement, record, values))
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def _settlement_of(self, record: SettlementLineRecord) -> Settlement | None:
        reference = record.settlement_reference
        if reference is None and len(self.settlements) == 1:
            return next(iter(self.settlements.values()))
        settlement = self.settlements.get(reference) if reference else None
        if settlement is None and not self.context.error_count:
            self.context.error(
                record.line, "settlement_reference", f"names no settlement of this statement: {reference!r}"
            )
        return settlement

    def _line_values(self, record: SettlementLineRecord, settlement: Settlement) -> dict | None:
        where = record.line
        transaction_id = (record.transaction_id or "").strip() if isinstance(record.transaction_id, str) else ""
        if not transaction_id or len(transaction_id) > MAX_REFERENCE:
            self.context.error(where, "transaction_id", f"is required: 1 to {MAX_REFERENCE} characters")
            return None
        values = {"transaction_id": transaction_id}
        for name, amount in (("amount", record.amount), ("fee", record.fee), ("net", record.net_amount)):
            try:
                if not isinstance(amount, Decimal):
                    raise MoneyError("must be a Decimal amount")
                values[f"{name}_minor"] = to_minor(amount, settlement.currency)
            except MoneyError as exc:
                self.context.error(where, name, str(exc))
                return None
        if values["amount_minor"] <= 0:
            self.context.error(where, "amount", "must be greater than zero")
            return None
        if record.paid_at is not None and record.paid_at.utcoffset() is None:
            self.context.error(where, "paid_at", "must have a UTC offset")
            return None
        reference = (record.reference or "").strip()[:MAX_REFERENCE] or None
        values.update(reference=reference, paid_at=record.paid_at, payer_email=(record.payer_email or None))
        return values

    # Writing.

    def _upsert(self, reference: str, currency: str, totals: list, record: SettlementRecord) -> Settlement:
        key = (Settlement.tenant == self.tenant_id) & (Settlement.provider == self.provider)
        key &= Settlement.reference == reference
        own_totals = all(v is not None for v in totals)
        gross, fees, net = totals if own_totals else (0, 0, 0)
        # ON CONFLICT DO NOTHING: two sources recording the same payout at once make one row.
        Settlement.insert(
            tenant=self.tenant_id,
            integration=self.integration.id,
            provider=self.provider,
            reference=reference,
            settled_at=record.settled_at,
            currency=currency,
            gross_minor=gross,
            fees_minor=fees,
            net_minor=net,
            totals_from_lines=not own_totals,
            destination_account=record.destination_account,
            destination_bank=record.destination_bank,
            destination_name=record.destination_name,
            source=self.source,
            sources=[self.source],
        ).on_conflict_ignore().execute()
        settlement = locked(Settlement.select().where(key)).get()
        if settlement.id not in self.summary.settlements:
            self.summary.settlements.append(settlement.id)
        changed = {}
        if self.source not in settlement.sources:
            changed["sources"] = [*settlement.sources, self.source]
        if own_totals and settlement.totals_from_lines:
            changed.update(gross_minor=gross, fees_minor=fees, net_minor=net, totals_from_lines=False)
        elif own_totals and (gross, fees, net) != (settlement.gross_minor, settlement.fees_minor, settlement.net_minor):
            self._break(
                settlement,
                BreakKind.SOURCES_DISAGREE,
                f"the {self.source} says gross/fees/net "
                f"{'/'.join(format_minor(v, currency) for v in (gross, fees, net))}, the settlement holds "
                f"{'/'.join(format_minor(v, currency) for v in (settlement.gross_minor, settlement.fees_minor, settlement.net_minor))}",  # noqa: E501
                settlement_value=format_minor(net, currency),
                ledger_value=format_minor(settlement.net_minor, currency),
            )
        if currency != settlement.currency:
            self.context.error(record.line, "currency", f"settlement {reference} is in {settlement.currency}")
        for name in ("destination_account", "destination_bank", "destination_name"):
            if getattr(record, name) and not getattr(settlement, name):
                changed[name] = getattr(record, name)
        if changed:
            changed["updated_at"] = utcnow()
            Settlement.update(**changed).where(Settlement.id == settlement.id).execute()
            for name, value in changed.items():
                setattr(settlement, name, value)
        record_audit(
            self.tenant_id,
            self.actor,
            "settlement.recorded",
            "settlement",
            settlement.id,
            {"source": str(self.source), "reference": reference, "provider": self.provider},
        )
        return settlement

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch or self.context.error_count:
            return
        new = self._insert_lines(batch)
        if not new:
            return
        self._find_in_other_settlements(new)
        by_id = self._payments_by_transaction_id(new)
        events: list[dict] = []
        found = []
        for line in new:
            payment = by_id.get(line.transaction_id) or self._payment_by_reference(line)
            if payment is None:
                payment, recovered_events = self._recover(line)
                events += recovered_events
            if payment is not None:
                self._compare(line, payment)
                found.append((line, payment))
        events += self._settle(found)
        self.spool.add(events)

    def _insert_lines(self, batch) -> list[SettlementLine]:
        """Insert the lines not already recorded; a line already there with other values is a break."""
        ids_by_settlement: dict[int, list[str]] = {}
        for settlement, _, values in batch:
            ids_by_settlement.setdefault(settlement.id, []).append(values["transaction_id"])
        known = {}
        for settlement_id, transaction_ids in ids_by_settlement.items():
            query = SettlementLine.select().where(
                (SettlementLine.settlement == settlement_id) & SettlementLine.transaction_id.in_(transaction_ids)
            )
            known.update({(row.settlement_id, row.transaction_id): row for row in query})
        rows, wanted = [], {}
        for settlement, record, values in batch:
            key = (settlement.id, values["transaction_id"])
            existing = known.get(key) or wanted.get(key)
            if existing is not None:
                self.summary.lines_known += 1
                self._compare_repeated(settlement, existing, values, record)
                continue
            row = {
                "settlement": settlement.id,
                "tenant": self.tenant_id,
                "provider": self.provider,
                "currency": settlement.currency,
                **values,
            }
            wanted[key] = _Row(settlement.id, values)
            rows.append(row)
        settlements = {s.id: s for s, _, _ in batch}
        new = []
        for row in rows:
            # One prepared statement per line (peewee renders it once): a thousand-row
            # INSERT is slower to build than to run. A line a concurrent import of the same
            # file has just written is skipped, as a known one.
            line = _insert_line(**row)
            if line is None:
                self.summary.lines_known += 1
                continue
            line.settlement = settlements[row["settlement"]]
            new.append(line)
        self.summary.lines_added += len(new)
        return new

    def _compare_repeated(self, settlement, existing, values, record) -> None:
        stored = (existing.amount_minor, existing.fee_minor, existing.net_minor)
        given = (values["amount_minor"], values["fee_minor"], values["net_minor"])
        if stored == given:
            return
        currency = settlement.currency
        self._break(
            settlement,
            BreakKind.LINE_DIFFERS,
            f"transaction {values['transaction_id']} is listed again with amount/fee/net "
            f"{'/'.join(format_minor(v, currency) for v in given)}; it was recorded with "
            f"{'/'.join(format_minor(v, currency) for v in stored)}",
            line_id=getattr(existing, "id", None),
            settlement_value=format_minor(given[0], currency),
            ledger_value=format_minor(stored[0], currency),
        )

    def _find_in_other_settlements(self, new: list[SettlementLine]) -> None:
        query = SettlementLine.select(SettlementLine.transaction_id, SettlementLine.settlement).where(
            (SettlementLine.tenant == self.tenant_id)
            & (SettlementLine.provider == self.provider)
            & SettlementLine.transaction_id.in_([line.transaction_id for line in new])
        )
        elsewhere: dict[str, set[int]] = {}
        for row in query.tuples():
            elsewhere.setdefault(row[0], set()).add(row[1])
        for line in new:
            others = sorted(elsewhere.get(line.transaction_id, set()) - {line.settlement_id})
            if others:
                self._break(
                    line.settlement,
                    BreakKind.IN_TWO_SETTLEMENTS,
                    f"transaction {line.transaction_id} is also in settlement(s) {', '.join(map(str, others))}",
                    line_id=line.id,
                )

    def _payments_by_transaction_id(self, new: list[SettlementLine]) -> dict[str, Payment]:
        query = Payment.select(*COMPARED).where(
            (Payment.tenant == self.tenant_id)
            & (Payment.provider == self.provider)
            & Payment.external_id.in_([line.transaction_id for line in new])
        )
        return {payment.external_id: payment for payment in query.objects()}

    def _payment_by_reference(self, line: SettlementLine) -> Payment | None:
        """The one unsettled succeeded payment of this provider carrying the line's reference."""
        if not line.reference:
            return None
        from flux_recon.services.payments import carries_reference  # the same search the API filter uses

        candidates = list(
            Payment.select()
            .where(
                (Payment.tenant == self.tenant_id)
                & (Payment.provider == self.provider)
                & (Payment.kind == NoticeKind.PAYMENT.value)
                & (Payment.status == PaymentStatus.SUCCEEDED.value)
                & Payment.settlement_line_id.is_null()
                & carries_reference(line.reference)
            )
            .limit(2)
        )
        return candidates[0] if len(candidates) == 1 else None

    def _recover(self, line: SettlementLine) -> tuple[Payment | None, list[dict]]:
        """The webhook of a settled transaction never came: record the payment from the line,
        under the transaction id its webhook would carry, and reconcile it like any payment."""
        settlement = line.settlement
        notice = PaymentNotice(
            external_id=line.transaction_id,
            amount=Decimal(format_minor(line.amount_minor, line.currency)),
            currency=line.currency,
            occurred_at=line.paid_at or settlement.settled_at,
            references=(line.reference,) if line.reference else (),
            payer=Payer(email=line.payer_email.lower() if line.payer_email else None),
            fee=Decimal(format_minor(line.fee_minor, line.currency)),
            settlement_amount=Decimal(format_minor(line.net_minor, line.currency)),
            raw={"recovered_from": f"settlement:{settlement.id}", "settlement_reference": settlement.reference},
        )
        try:
            outcome = self.engine.record(
                tenant_id=self.tenant_id,
                provider=self.provider,
                notice=notice,
                integration_id=self.integration.id,
                actor=self.actor,
                settings=self.settings,
            )
        except InvalidNotice as exc:
            self.context.error(None, exc.field, f"transaction {line.transaction_id}: {exc.message}")
            return None, []
        payment = outcome.payment
        if outcome.status != Verdict.ACCEPTED:
            return payment, outcome.events  # its webhook came meanwhile: matched as usual
        origin = f"settlement:{settlement.id}"
        Payment.update(recovered_from=origin).where(Payment.id == payment.id).execute()
        payment.recovered_from = origin
        SettlementLine.update(recovered=True).where(SettlementLine.id == line.id).execute()
        record_audit(
            self.tenant_id,
            self.actor,
            "payment.recovered",
            "payment",
            payment.id,
            {
                "source": str(self.source),
                "settlement_id": settlement.id,
                "settlement_reference": settlement.reference,
                "line_id": line.id,
                "transaction_id": line.transaction_id,
                "reason": "missing_webhook",
            },
        )
        self.summary.payments_recovered += 1
        return payment, outcome.events

    def _compare(self, line: SettlementLine, payment: Payment) -> None:
        """Breaks where the line and its payment disagree (both values named)."""
        settlement = line.settlement
        currency = line.currency
        if payment.kind != NoticeKind.PAYMENT.value:
            self._break(
                settlement,
                BreakKind.NOT_A_PAYMENT,
                f"transaction {line.transaction_id} is a {payment.kind} in the ledger",
                line_id=line.id,
                payment_id=payment.id,
            )
            return
        if payment.currency != currency:
            self._break(
                settlement,
                BreakKind.CURRENCY_DIFFERS,
                f"the line is in {currency}, the payment in {payment.currency}",
                line_id=line.id,
                payment_id=payment.id,
                settlement_value=currency,
                ledger_value=payment.currency,
            )
        else:
            for kind, noun, settled, recorded in (
                (BreakKind.AMOUNT_DIFFERS, "amount", line.amount_minor, payment.amount_minor),
                (BreakKind.FEE_DIFFERS, "fee", line.fee_minor, payment.fee_minor),
                (BreakKind.NET_DIFFERS, "net", line.net_minor, payment.settlement_minor),
            ):
                if recorded is not None and settled != recorded:
                    shown = format_minor(settled, currency), format_minor(recorded, currency)
                    self._break(
                        settlement,
                        kind,
                        f"transaction {line.transaction_id}: the line's {noun} {shown[0]} differs from "
                        f"the payment's {shown[1]} {currency}",
                        line_id=line.id,
                        payment_id=payment.id,
                        settlement_value=shown[0],
                        ledger_value=shown[1],
                    )

    def _settle(self, found: list[tuple[SettlementLine, Payment]]) -> list[dict]:
        """Link each line to its payment, and mark each payment not yet settled as settled by its
        first line. Returns the payment.settled events."""
        if not found:
            return []
        for line, payment in found:
            _link_line.execute(id=line.id, payment=payment.id)
        first: dict[int, tuple[SettlementLine, Payment]] = {}
        for line, payment in found:
            if payment.kind == NoticeKind.PAYMENT.value and payment.settlement_line_id is None:
                first.setdefault(payment.id, (line, payment))
        now = utcnow()
        # Only a payment no other line settled meanwhile (a concurrent import): the rest keep theirs.
        settled = {
            payment_id
            for payment_id, (line, _) in first.items()
            if _settle_payment.execute(id=payment_id, settlement_line_id=line.id, updated_at=now).rowcount
        }
        events = []
        for payment_id in [pid for pid in first if pid in settled]:
            line, payment = first[payment_id]
            payment.settlement_state = SettlementState.SETTLED
            payment.settlement_line_id = line.id
            event = payment_event("payment.settled", payment)
            event["payload"].update(settlement_id=line.settlement_id, line_id=line.id)
            events.append(event)
        self.summary.payments_settled += len(settled)
        return events

    def _break(self, settlement: Settlement, kind: str, message: str, **values) -> None:
        SettlementBreak.create(
            settlement=settlement.id,
            tenant=self.tenant_id,
            kind=kind,
            line=values.get("line_id"),
            payment=values.get("payment_id"),
            settlement_value=values.get("settlement_value"),
            ledger_value=values.get("ledger_value"),
            message=message,
        )
        self.summary.breaks_found += 1
        self.new_breaks.add(settlement.id)

    def finish(self) -> ImportSummary:
        """Write what is pending, then each settlement's totals, status and events."""
        self.flush()
        if self.context.error_count:
            return self.summary
        events = []
        for settlement in self.settlements.values():
            events += self._close(settlement)
        self.spool.add(events)
        return self.summary

    def _close(self, settlement: Settlement) -> list[dict]:
        lines = SettlementLine.select(
            fn.COUNT(SettlementLine.id),
            fn.COALESCE(fn.SUM(SettlementLine.amount_minor), 0),
            fn.COALESCE(fn.SUM(SettlementLine.fee_minor), 0),
            fn.COALESCE(fn.SUM(SettlementLine.net_minor), 0),
            fn.MIN(SettlementLine.paid_at),
        ).where(SettlementLine.settlement == settlement.id)
        count, gross, fees, net, first_paid = lines.tuples().get()
        first_paid = SettlementLine.paid_at.python_value(first_paid) if first_paid is not None else None
        changes = {"line_count": count, "period_start": first_paid or settlement.settled_at, "updated_at": utcnow()}
        # The totals check is made afresh each time lines are added.
        SettlementBreak.delete().where(
            (SettlementBreak.settlement == settlement.id) & (SettlementBreak.kind == BreakKind.TOTALS_DIFFER)
        ).execute()
        if settlement.totals_from_lines:
            changes.update(gross_minor=gross, fees_minor=fees, net_minor=net)
        else:
            own = {"gross": settlement.gross_minor, "fees": settlement.fees_minor, "net": settlement.net_minor}
            if own["gross"] - own["fees"] != own["net"]:
                self._break(
                    settlement,
                    BreakKind.TOTALS_DIFFER,
                    f"gross {format_minor(own['gross'], settlement.currency)} less fees "
                    f"{format_minor(own['fees'], settlement.currency)} is not the net "
                    f"{format_minor(own['net'], settlement.currency)}",
                    settlement_value=format_minor(own["net"], settlement.currency),
                    ledger_value=format_minor(own["gross"] - own["fees"], settlement.currency),
                )
            if count:
                for name, summed in (("gross", gross), ("fees", fees), ("net", net)):
                    if summed != own[name]:
                        shown = format_minor(own[name], settlement.currency), format_minor(summed, settlement.currency)
                        self._break(
                            settlement,
                            BreakKind.TOTALS_DIFFER,
                            f"the settlement's {name} is {shown[0]} but its {count} lines add up to {shown[1]}",
                            settlement_value=shown[0],
                            ledger_value=shown[1],
                        )
        break_count = SettlementBreak.select().where(SettlementBreak.settlement == settlement.id).count()
        unmatched = (
            SettlementLine.select()
            .where((SettlementLine.settlement == settlement.id) & SettlementLine.payment.is_null())
            .exists()
        )
        if break_count or unmatched:
            status = SettlementStatus.WITH_BREAKS
        elif count == 0:
            status = SettlementStatus.AWAITING_LINES
        else:
            status = SettlementStatus.RECONCILED
        changes.update(break_count=break_count, status=status)
        Settlement.update(**changes).where(Settlement.id == settlement.id).execute()
        fresh = Settlement.get_by_id(settlement.id)
        document = settlement_document(fresh)
        events = [_settlement_event("settlement.received", fresh, document)]
        if settlement.id in self.new_breaks:
            events.append(_settlement_event("settlement.break_found", fresh, document))
        return events


@dataclass
class _Row:
    settlement_id: int
    values: dict

    @property
    def amount_minor(self):
        return self.values["amount_minor"]

    @property
    def fee_minor(self):
        return self.values["fee_minor"]

    @property
    def net_minor(self):
        return self.values["net_minor"]


def _named(line: SettlementLineRecord, reference: str) -> SettlementLineRecord:
    return dataclasses.replace(line, settlement_reference=reference)


def _settlement_event(event_type: str, settlement: Settlement, document: dict) -> dict:
    payload = {"settlement_id": settlement.id, "status": str(settlement.status), "break_count": settlement.break_count}
    return {"event_type": event_type, "tenant_id": settlement.tenant_id, "payload": payload, "document": document}


def settlement_document(settlement: Settlement, *, breaks: int = 20) -> dict:
    """The settlement as subscribers receive it (and the catalog's example shows it)."""
    currency = settlement.currency
    rows = (
        SettlementBreak.select()
        .where(SettlementBreak.settlement == settlement.id)
        .order_by(SettlementBreak.id)
        .limit(breaks)
    )
    return {
        "id": settlement.id,
        "provider": settlement.provider,
        "integration_id": settlement.integration_id,
        "reference": settlement.reference,
        "settled_at": settlement.settled_at.isoformat(),
        "currency": currency,
        "gross": format_minor(settlement.gross_minor, currency),
        "fees": format_minor(settlement.fees_minor, currency),
        "net": format_minor(settlement.net_minor, currency),
        "status": str(settlement.status),
        "sources": list(settlement.sources),
        "line_count": settlement.line_count,
        "breaks": [
            {
                "kind": row.kind,
                "line_id": row.line_id,
                "payment_id": row.payment_id,
                "message": row.message,
                "settlement_value": row.settlement_value,
                "ledger_value": row.ledger_value,
            }
            for row in rows
        ],
    }


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
    except (StatementError, ValueError, TypeError, KeyError, UnicodeError) as exc:
        context.error(None, "file", f"the {statement_format.name} reader could not read this file: {exc}")


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


# --- the not-in-settlement sweep -------------------------------------------------------------

# Working days from a payment to the payout that should hold it, by provider and payment
# method ("default" for the rest). Monnify settles transfers the same day and cards the next
# working day; Paystack pays out the next working day. Setting: SETTLEMENT_CYCLES.
DEFAULT_CYCLES: dict[str, dict[str, int]] = {
    "monnify": {"bank_transfer": 0, "default": 1},
    "paystack": {"default": 1},
}
# Added to every cycle before a payment counts as not in any settlement: payouts land late,
# statements are imported later still. Setting: SETTLEMENT_GRACE_HOURS.
DEFAULT_GRACE_HOURS = 24


def settlement_due(occurred_at: dt.datetime, working_days: int, grace: dt.timedelta) -> dt.datetime:
    """When a payment's settlement is overdue: the end (UTC) of the ``working_days``-th working
    day (Monday to Friday; public holidays are not known) after the payment's day, plus ``grace``."""
    day = occurred_at.astimezone(dt.UTC).date()
    while day.weekday() >= 5:  # a weekend payment is settled from the next working day on
        day += dt.timedelta(days=1)
    remaining = working_days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), dt.UTC)
    return end_of_day + grace


def validate_cycles(cycles) -> dict[str, dict[str, int]]:
    """SETTLEMENT_CYCLES as given (``{"monnify": {"bank_transfer": 0, "default": 1}}``), or ValueError."""
    if not isinstance(cycles, dict):
        raise ValueError("SETTLEMENT_CYCLES must be an object of providers")
    for provider, by_method in cycles.items():
        if not isinstance(by_method, dict) or "default" not in by_method:
            raise ValueError(f"SETTLEMENT_CYCLES.{provider} must be an object with a default")
        for method, days in by_method.items():
            if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 30:
                raise ValueError(f"SETTLEMENT_CYCLES.{provider}.{method} must be 0 to 30 working days")
    return cycles


@dataclass
class SweepResult:
    awaiting: int = 0
    not_in_settlement: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def sweep_unsettled(
    *,
    now: dt.datetime | None = None,
    cycles: dict[str, dict[str, int]] | None = None,
    grace_hours: float | None = None,
    tenant_id: str | None = None,
    actor: str = "settlement-sweep",
) -> SweepResult:
    """Give each succeeded payment of a settlement-tracked integration its settlement state:
    ``awaiting_settlement`` until its provider's cycle plus the grace has passed, then
    ``not_in_settlement`` (audited). An integration is tracked once a settlement of it was
    recorded, for the payments from the earliest time its settlements cover. ``now`` is the
    clock (injectable for tests). Safe to run at any time and in several processes."""
    now = now or utcnow()
    cycles = validate_cycles(DEFAULT_CYCLES if cycles is None else cycles)
    grace = dt.timedelta(hours=DEFAULT_GRACE_HOURS if grace_hours is None else grace_hours)
    result = SweepResult()
    tracked = (
        Settlement.select(Settlement.integration, Integration.provider, fn.MIN(Settlement.period_start))
        .join(Integration)
        .where(Integration.provider.in_(list(cycles)))
        .group_by(Settlement.integration, Integration.provider)
    )
    if tenant_id is not None:
        tracked = tracked.where(Settlement.tenant == tenant_id)
    for integration_id, provider, since in list(tracked.tuples()):
        if since is None:
            continue
        since = Settlement.period_start.python_value(since)
        with write_transaction():
            result.awaiting += (
                Payment.update(settlement_state=SettlementState.AWAITING)
                .where(_sweepable(integration_id, since) & Payment.settlement_state.is_null())
                .execute()
            )
        result.not_in_settlement += _overdue(integration_id, since, cycles[provider], grace, now, actor)
    return result


def _sweepable(integration_id: int, since: dt.datetime):
    return (
        (Payment.integration == integration_id)
        & (Payment.kind == NoticeKind.PAYMENT.value)
        & (Payment.status == PaymentStatus.SUCCEEDED.value)
        & (Payment.occurred_at >= since)
    )


def _overdue(integration_id, since, by_method: dict[str, int], grace, now, actor) -> int:
    # No payment is overdue before the shortest cycle could have ended.
    earliest_due = now - grace - dt.timedelta(days=1)
    marked, after_id = 0, 0
    while True:
        with write_transaction():
            page = list(
                Payment.select(Payment.id, Payment.tenant, Payment.method, Payment.occurred_at)
                .where(
                    _sweepable(integration_id, since)
                    & (Payment.settlement_state == SettlementState.AWAITING)
                    & (Payment.occurred_at < earliest_due)
                    & (Payment.id > after_id)
                )
                .order_by(Payment.id)
                .limit(BATCH_SIZE)
            )
            for payment in page:
                days = by_method.get(payment.method, by_method["default"])
                due = settlement_due(payment.occurred_at, days, grace)
                if due > now:
                    continue
                changed = (
                    Payment.update(settlement_state=SettlementState.NOT_IN_SETTLEMENT, updated_at=utcnow())
                    .where((Payment.id == payment.id) & (Payment.settlement_state == SettlementState.AWAITING))
                    .execute()
                )
                if changed:
                    marked += 1
                    record_audit(
                        payment.tenant_id,
                        actor,
                        "payment.not_in_settlement",
                        "payment",
                        payment.id,
                        {"due": due.isoformat(), "working_days": days, "grace_hours": grace.total_seconds() / 3600},
                    )
        if len(page) < BATCH_SIZE:
            return marked
        after_id = page[-1].id


# --- the settlement report -------------------------------------------------------------------


def report(tenant_id: str, date_from: dt.datetime | None = None, date_to: dt.datetime | None = None) -> list[dict]:
    """Per provider, day and currency: the settlements (count, lines, gross, fees, net) and
    the missing webhooks recovered from them, by the day they were settled; the payments
    awaiting settlement and not in any settlement, by the day they were paid."""
    rows: dict[tuple, dict] = {}

    def row(provider, day, currency) -> dict:
        key = (provider, str(day), currency)
        if key not in rows:
            rows[key] = {
                "provider": provider,
                "day": str(day),
                "currency": currency,
                "settlements": 0,
                "lines": 0,
                "gross_minor": 0,
                "fees_minor": 0,
                "net_minor": 0,
                "missing_webhooks": 0,
                "awaiting": 0,
                "awaiting_minor": 0,
                "not_in_settlement": 0,
                "not_in_settlement_minor": 0,
            }
        return rows[key]

    day = fn.DATE(Settlement.settled_at).coerce(False)  # the day as text, not read back as a time
    settled = Settlement.select(
        Settlement.provider,
        day,
        Settlement.currency,
        fn.COUNT(Settlement.id),
        fn.SUM(Settlement.line_count),
        fn.SUM(Settlement.gross_minor),
        fn.SUM(Settlement.fees_minor),
        fn.SUM(Settlement.net_minor),
    ).where(_window(Settlement.tenant == tenant_id, Settlement.settled_at, date_from, date_to))
    for provider, when, currency, count, lines, gross, fees, net in settled.group_by(
        Settlement.provider, day, Settlement.currency
    ).tuples():
        entry = row(provider, when, currency)
        entry.update(settlements=count, lines=int(lines or 0), gross_minor=int(gross or 0))
        entry.update(fees_minor=int(fees or 0), net_minor=int(net or 0))
    recovered = (
        SettlementLine.select(Settlement.provider, day, Settlement.currency, fn.COUNT(SettlementLine.id))
        .join(Settlement)
        .where(_window(SettlementLine.tenant == tenant_id, Settlement.settled_at, date_from, date_to))
        .where(SettlementLine.recovered)
        .group_by(Settlement.provider, day, Settlement.currency)
    )
    for provider, when, currency, count in recovered.tuples():
        row(provider, when, currency)["missing_webhooks"] = count
    paid_day = fn.DATE(Payment.occurred_at).coerce(False)
    unsettled = (
        Payment.select(
            Payment.provider,
            paid_day,
            Payment.currency,
            Payment.settlement_state,
            fn.COUNT(Payment.id),
            fn.SUM(Payment.amount_minor),
        )
        .where(_window(Payment.tenant == tenant_id, Payment.occurred_at, date_from, date_to))
        .where(Payment.settlement_state.in_([SettlementState.AWAITING, SettlementState.NOT_IN_SETTLEMENT]))
        .group_by(Payment.provider, paid_day, Payment.currency, Payment.settlement_state)
    )
    for provider, when, currency, state, count, amount in unsettled.tuples():
        entry = row(provider, when, currency)
        name = "awaiting" if state == SettlementState.AWAITING else "not_in_settlement"
        entry[name] = count
        entry[f"{name}_minor"] = int(amount or 0)
    return [rows[key] for key in sorted(rows)]


def _window(condition, column, date_from, date_to):
    if date_from is not None:
        condition &= column >= date_from
    if date_to is not None:
        condition &= column < date_to
    return condition
