"""Settlement webhooks: a SettlementNotice recorded inside the webhook's transaction, a resent one a duplicate."""

from __future__ import annotations

from flux_recon.core.states import Verdict
from flux_recon.inbound.pipeline import SettlementOutcome
from flux_recon.models import Integration
from flux_recon.models.settlement import Settlement, SettlementLine, SettlementSource
from flux_recon.models.transactions import lock_for_transaction
from flux_recon.providers import PayloadError
from flux_recon.providers.settlements import SettlementRecord, StatementContext, StatementError
from flux_recon.services.settlement_recorder import EventSpool, SettlementRecorder


class WebhookSettlements:
    """The pipeline's ``record_settlements``: bound to one engine (the app's)."""

    def __init__(self, engine):
        self.engine = engine

    def __call__(
        self, *, tenant_id: str, integration: Integration, records: tuple[SettlementRecord, ...], actor: str
    ) -> SettlementOutcome:
        return record_webhook_settlements(tenant_id, integration, records, engine=self.engine, actor=actor)


def record_webhook_settlements(
    tenant_id: str, integration: Integration, records: tuple[SettlementRecord, ...], *, engine, actor: str
) -> SettlementOutcome:
    """Record a settlement webhook's records. Call INSIDE the webhook's write transaction: the
    settlements, their lines, recovered payments and the outbox rows commit (or roll back)
    with the inbox record. A webhook whose settlements were all recorded from a webhook
    already, with every line it lists, is a duplicate and writes nothing. PayloadError
    (naming each bad record and field) for records that cannot be recorded."""
    for record in records:
        # Two deliveries of one settlement at once (PostgreSQL): the second waits for the first
        # to commit, then finds it known. On SQLite the write transaction already serializes them.
        lock_for_transaction("settlement", tenant_id, integration.provider, (record.reference or "").strip())
    if _all_known(tenant_id, integration.provider, records):
        ids = _ids(tenant_id, integration.provider, records)
        return SettlementOutcome(Verdict.DUPLICATE, ids, {"settlements": ids}, [], "settlement already recorded")
    context = StatementContext()
    spool = EventSpool()
    try:
        recorder = SettlementRecorder(
            tenant_id=tenant_id,
            integration=integration,
            source=SettlementSource.WEBHOOK.value,
            engine=engine,
            actor=actor,
            spool=spool,
            context=context,
        )
        recorder.feed(records)
        summary = recorder.finish()
        failure = context.failure()
        if failure is not None:
            raise _refusal(failure)
        events = list(spool.replay())
    finally:
        spool.close()
    note = (
        f"{len(summary.settlements)} settlement(s), {summary.lines_added} new line(s), "
        f"{summary.payments_recovered} payment(s) recovered, {summary.breaks_found} break(s)"
    )
    return SettlementOutcome(Verdict.ACCEPTED, list(summary.settlements), summary.as_dict(), events, note)


def _all_known(tenant_id: str, provider: str, records: tuple[SettlementRecord, ...]) -> bool:
    for record in records:
        settlement = Settlement.get_or_none(
            (Settlement.tenant == tenant_id)
            & (Settlement.provider == provider)
            & (Settlement.reference == (record.reference or "").strip())
        )
        if settlement is None or SettlementSource.WEBHOOK.value not in (settlement.sources or []):
            return False
        wanted = {(line.transaction_id or "").strip() for line in record.lines}
        if wanted:
            known = {
                row.transaction_id
                for row in SettlementLine.select(SettlementLine.transaction_id).where(
                    (SettlementLine.settlement == settlement.id) & SettlementLine.transaction_id.in_(list(wanted))
                )
            }
            if wanted - known:
                return False
    return True


def _ids(tenant_id: str, provider: str, records) -> list[int]:
    references = [(record.reference or "").strip() for record in records]
    query = Settlement.select(Settlement.id).where(
        (Settlement.tenant == tenant_id) & (Settlement.provider == provider) & Settlement.reference.in_(references)
    )
    return [row.id for row in query]


def _refusal(failure: StatementError) -> PayloadError:
    errors = {}
    for where, columns in failure.errors.items():
        for column, messages in columns.items():
            name = column if where == "file" else f"{where}: {column}"
            errors.setdefault(name, []).extend(messages)
    return PayloadError(f"the settlement cannot be recorded: {failure.message}", errors)
