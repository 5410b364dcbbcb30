"""Recording settlements and their lines in batches: matching, recovered payments, breaks, events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from peewee import fn

from flux_recon.core.domain_events import payment_event
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
)
from flux_recon.models.transactions import locked
from flux_recon.money import MoneyError, format_minor, normalize_currency, to_minor
from flux_recon.outbound.outbox import enqueue
from flux_recon.providers import NoticeKind, Payer, PaymentNotice
from flux_recon.providers.settlements import (
    SettlementLineRecord,
    SettlementRecord,
    StatementContext,
)
from flux_recon.reconciliation import InvalidNotice, ReconciliationSettings
from flux_recon.reconciliation.records import tenant_settings

# Lines written, matched and settled together: what an import holds in memory at once.
BATCH_SIZE = 1000
MAX_REFERENCE = 200


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
        # A net stated alone (a header-only settlement webhook) is kept and checked against the lines.
        stated_net = totals[2] if not own_totals else None
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
            stated_net_minor=stated_net,
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
        if stated_net is not None and settlement.stated_net_minor is None:
            changed["stated_net_minor"] = stated_net
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
        try:
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
        except ValueError as exc:  # a time PaymentNotice cannot hold (a plugin's record, say)
            self.context.error(None, "paid_at", f"transaction {line.transaction_id}: {exc}")
            return None, []
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
            stated = settlement.stated_net_minor
            if count and stated is not None and stated != net:
                shown = format_minor(stated, settlement.currency), format_minor(net, settlement.currency)
                self._break(
                    settlement,
                    BreakKind.TOTALS_DIFFER,
                    f"the settlement's stated net is {shown[0]} but its {count} lines add up to {shown[1]}",
                    settlement_value=shown[0],
                    ledger_value=shown[1],
                )
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
