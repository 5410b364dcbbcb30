"""Reconciliation runs: every open payment of a tenant retried against today's orders, page by page."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import peewee

from flux_recon.core.states import Reconciliation
from flux_recon.models import Payment, ReconciliationRun, ReconciliationRunChange, Tenant, db, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.connections import UNAVAILABLE_ERRORS
from flux_recon.models.reconciliation_run import OPEN_STATES
from flux_recon.models.transactions import advisory_key, is_sqlite, write_transaction
from flux_recon.outbound.outbox import publishing
from flux_recon.reconciliation import refunds
from flux_recon.reconciliation.records import tenant_settings
from flux_recon.reconciliation.rematch import rematch_payment
from flux_recon.services.errors import Conflict, Invalid
from flux_recon.services.owned import get_owned

log = logging.getLogger(__name__)

# Payments read per query: a run holds one page in memory, never the whole backlog.
PAGE_SIZE = 500
# SQLite has no lock a dead process gives back: a "running" row whose heartbeat is this old
# belongs to a run that died, and no longer blocks a new one.
STALE_AFTER = dt.timedelta(minutes=10)
# How many of a run's changes its detail shows; all of them are at .../changes.
CHANGES_SHOWN = 1000


@dataclass(frozen=True)
class RunRequest:
    """What to retry: payments that occurred in [occurred_from, occurred_to), of ``provider``."""

    occurred_from: dt.datetime | None = None
    occurred_to: dt.datetime | None = None
    provider: str | None = None
    dry_run: bool = False

    def check(self) -> None:
        if self.occurred_from and self.occurred_to and self.occurred_from >= self.occurred_to:
            message = "from must be earlier than to"
            raise Invalid(message, {"to": [message]})


def get_run(tenant_id: str, run_id: int) -> ReconciliationRun:
    """The tenant's run, or NotFound."""
    return get_owned(ReconciliationRun, run_id, "reconciliation run", tenant_id)


def list_runs(tenant_id: str, *, status: str | None = None, dry_run: bool | None = None) -> peewee.ModelSelect:
    """The tenant's runs, newest first: a query the caller pages through."""
    query = ReconciliationRun.select().where(ReconciliationRun.tenant == tenant_id)
    if status is not None:
        query = query.where(ReconciliationRun.status == status)
    if dry_run is not None:
        query = query.where(ReconciliationRun.dry_run == dry_run)
    return query.order_by(ReconciliationRun.id.desc())


def list_changes(tenant_id: str, run_id: int) -> peewee.ModelSelect:
    """What a run changed (or, a dry run, would have changed), in the order it was done."""
    get_run(tenant_id, run_id)
    return (
        ReconciliationRunChange.select()
        .where(ReconciliationRunChange.run == run_id)
        .order_by(ReconciliationRunChange.id)
    )


def shown_changes(run: ReconciliationRun) -> list[ReconciliationRunChange]:
    """The first CHANGES_SHOWN changes of a run, for its detail."""
    return list(list_changes(run.tenant_id, run.id).limit(CHANGES_SHOWN))


def tenants_with_open_payments() -> list[str]:
    """Every tenant that has a payment a run could change (for the worker's schedule)."""
    has_open = Payment.select(Payment.id).where((Payment.tenant == Tenant.id) & Payment.reconciliation.in_(OPEN_STATES))
    return [row.id for row in Tenant.select(Tenant.id).where(peewee.fn.EXISTS(has_open)).order_by(Tenant.id)]


def run_reconciliation(
    tenant_id: str,
    actor: str,
    engine,
    plugin_manager,
    request: RunRequest | None = None,
    *,
    page_size: int = PAGE_SIZE,
    stop: threading.Event | None = None,
) -> ReconciliationRun:
    """Retry the tenant's open payments (unmatched, ambiguous, orphan refunds) against the
    orders as they are now, and store the run with what it changed. A dry run stores what
    would change and changes nothing else. Raises Conflict while another run of the tenant
    is in progress, Invalid for a date range that ends before it starts. ``stop``, once set,
    ends the run after the payment in hand (status ``interrupted``; what it did is kept).

    A dry run does everything a run does in one transaction that is rolled back (see
    ``_dry_run``), so each payment sees what the ones before it would have taken."""
    request = request or RunRequest()
    request.check()
    with _one_run_per_tenant(tenant_id) as run_lock:
        run = run_lock.start(actor, request)
        work = _dry_run if request.dry_run else _work_through
        try:
            finished = work(run, engine, plugin_manager, page_size, stop)
        except UNAVAILABLE_ERRORS:
            raise  # nothing more can be written; the guard is given back below
        except Exception as exc:
            log.exception("reconciliation run %s failed", run.id)
            _finish(run, "failed", f"{type(exc).__name__}: {exc}"[:500])
        else:
            if finished:
                _finish(run, "completed", None)
            else:
                _finish(run, "interrupted", "stopped before the end; a later run retries the rest")
    return ReconciliationRun.get_by_id(run.id)


class _RunLock:
    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id

    def start(self, actor: str, request: RunRequest) -> ReconciliationRun:
        """Insert this run as the tenant's running one (Conflict if another is running)."""
        now = utcnow()
        if is_sqlite():
            # Read first, without the write lock: a dry run holds it until it ends, and a
            # second run is to be refused at once, not after waiting for it.
            running = self._running()
            if running is not None and running.heartbeat_at > now - STALE_AFTER:
                raise _busy(running)
        with write_transaction():
            running = self._running()
            # On PostgreSQL the advisory lock is already ours: any "running" row is a dead
            # run's. On SQLite only a stale heartbeat says so.
            if running is not None and is_sqlite() and running.heartbeat_at > now - STALE_AFTER:
                raise _busy(running)
            if running is not None:
                _abandon(running, now)
            try:
                with db.atomic():
                    return ReconciliationRun.create(
                        tenant=self.tenant_id,
                        actor=actor,
                        dry_run=request.dry_run,
                        provider=request.provider,
                        occurred_from=request.occurred_from,
                        occurred_to=request.occurred_to,
                        started_at=now,
                        heartbeat_at=now,
                    )
            except peewee.IntegrityError:
                raise _busy(None) from None

    def _running(self) -> ReconciliationRun | None:
        return ReconciliationRun.get_or_none(
            (ReconciliationRun.tenant == self.tenant_id) & (ReconciliationRun.status == "running")
        )


def _busy(running: ReconciliationRun | None) -> Conflict:
    which = f" (run {running.id}, started {running.started_at:%Y-%m-%d %H:%M:%S} UTC)" if running else ""
    return Conflict(f"a reconciliation run is already in progress for this tenant{which}; try again when it ends")


def _abandon(run: ReconciliationRun, now: dt.datetime) -> None:
    ReconciliationRun.update(status="abandoned", finished_at=now, error="its process stopped before it ended").where(
        ReconciliationRun.id == run.id
    ).execute()
    record_audit(run.tenant_id, "engine", "reconciliation_run.abandoned", "reconciliation_run", run.id, None)


@contextmanager
def _one_run_per_tenant(tenant_id: str) -> Iterator[_RunLock]:
    """On PostgreSQL, a session advisory lock per tenant, taken without waiting (a second
    run is refused at once) and released by the server if this process dies. On SQLite,
    the "running" row and its unique index are the guard (see _RunLock.start)."""
    if is_sqlite():
        yield _RunLock(tenant_id)
        return
    key = advisory_key("reconciliation-run", tenant_id)
    # Outside any transaction: a session lock, held across the run's many transactions.
    if not db.execute_sql("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
        running = ReconciliationRun.get_or_none(
            (ReconciliationRun.tenant == tenant_id) & (ReconciliationRun.status == "running")
        )
        raise _busy(running)
    try:
        yield _RunLock(tenant_id)
    finally:
        try:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (key,))
        except UNAVAILABLE_ERRORS:
            pass  # the connection is gone, and the lock with it


def _open_payments(run: ReconciliationRun, state: str, after_id: int, limit: int) -> list[Payment]:
    query = Payment.select().where(
        (Payment.tenant == run.tenant_id)
        & (Payment.reconciliation == state)
        & (Payment.id > after_id)
        # Moved into this state by this run (an unmatched payment now ambiguous): it has
        # been retried once already.
        & ~peewee.fn.EXISTS(
            ReconciliationRunChange.select(ReconciliationRunChange.id).where(
                (ReconciliationRunChange.run == run.id) & (ReconciliationRunChange.payment == Payment.id)
            )
        )
    )
    if run.provider is not None:
        query = query.where(Payment.provider == run.provider)
    if run.occurred_from is not None:
        query = query.where(Payment.occurred_at >= run.occurred_from)
    if run.occurred_to is not None:
        query = query.where(Payment.occurred_at < run.occurred_to)
    return list(query.order_by(Payment.id).limit(limit))


def _work_through(
    run: ReconciliationRun, engine, plugin_manager, page_size: int, stop, found: list[dict] | None = None
) -> bool:
    """Retry every open payment of the run, a page at a time; False if stopped before the end.
    ``found``: where a dry run collects the changes it would make."""
    settings = tenant_settings(run.tenant_id)
    for state in OPEN_STATES:
        after_id = 0
        while page := _open_payments(run, state, after_id, page_size):
            for payment in page:
                if stop is not None and stop.is_set():
                    _save_progress(run)
                    return False
                _retry(run, payment, engine, plugin_manager, settings, found)
            after_id = page[-1].id
            _save_progress(run)
    return True


def _dry_run(run: ReconciliationRun, engine, plugin_manager, page_size: int, stop) -> bool:
    """The run done for real in one transaction that is then rolled back: each payment is
    matched against the orders as the payments before it would have left them (two payments
    for what one order owes: the second finds it paid), and every allocation, state change,
    audit entry and change row goes with the rollback. No event is published. The changes it
    found are kept in memory and stored after the rollback, with the run's counts.

    The transaction holds what it would change until the dry run ends: on PostgreSQL the rows
    of those payments and orders, on SQLite the database's write lock."""
    found: list[dict] = []
    try:
        with write_transaction() as transaction:
            try:
                return _work_through(run, engine, plugin_manager, page_size, stop, found)
            finally:
                transaction.rollback()
    finally:
        _store_changes(found)


# Change rows inserted per statement when a dry run stores what it found.
STORE_BATCH = 500


def _store_changes(found: list[dict]) -> None:
    for start in range(0, len(found), STORE_BATCH):
        with write_transaction():
            ReconciliationRunChange.insert_many(found[start : start + STORE_BATCH]).execute()


def run_for_every_tenant(engine, plugin_manager, *, stop: threading.Event | None = None) -> dict[str, int]:
    """One scheduled round: a run (actor ``schedule``) for each tenant with open payments.
    A tenant whose run is already in progress (another worker's) is skipped. Returns the
    counts of the round: runs, skipped, examined, matched."""
    totals = {"runs": 0, "skipped": 0, "examined": 0, "matched": 0}
    for tenant_id in tenants_with_open_payments():
        if stop is not None and stop.is_set():
            break
        try:
            run = run_reconciliation(tenant_id, "schedule", engine, plugin_manager, stop=stop)
        except Conflict:
            totals["skipped"] += 1
            continue
        totals["runs"] += 1
        totals["examined"] += run.examined
        totals["matched"] += run.matched
    return totals


def _retry(run: ReconciliationRun, payment: Payment, engine, plugin_manager, settings, found=None) -> None:
    """Retry one payment in its own transaction, together with the record of what changed.
    A dry run: inside its one transaction (see ``_dry_run``); its events are dropped."""
    if run.dry_run:
        change = _retry_one(run, payment, engine, settings, found)
    else:
        with publishing(plugin_manager) as events:
            change = _retry_one(run, payment, engine, settings)
            events += change.events
    run.examined += 1
    if change.after == Reconciliation.MATCHED:
        run.matched += 1
    elif change.after in OPEN_STATES:
        run.still_open += 1
    if change.after not in (change.before, Reconciliation.MATCHED):
        run.changed += 1


@dataclass
class _Change:
    before: str
    after: str
    order_ids: list[int]
    reason: str | None
    events: list[dict]


def _retry_one(run: ReconciliationRun, payment: Payment, engine, settings, found=None) -> _Change:
    if payment.reconciliation == Reconciliation.ORPHAN:
        change = _retry_orphan(run, payment, settings)
    else:
        result = rematch_payment(
            engine,
            payment,
            settings=settings,
            actor=run.actor,
            trigger=f"reconciliation run {run.id}",
            # A dry run commits nothing, so it cannot make a payment and an order miss each
            # other; holding every examined payment's keys until it ends would make each
            # webhook sharing one wait for it.
            lock_keys=not run.dry_run,
        )
        change = _Change(result.before, result.after, list(result.order_ids), result.reason, result.events)
    if change.after != change.before:
        row = {
            "run": run.id,
            "payment": payment.id,
            "before": change.before,
            "after": change.after,
            "order_ids": change.order_ids,
            "reason": change.reason,
        }
        # Written in a dry run too: _open_payments reads it (not retried twice in one run).
        ReconciliationRunChange.create(**row)
        if found is not None:
            found.append(row)
    return change


def _retry_orphan(run: ReconciliationRun, refund: Payment, settings) -> _Change:
    """An orphan refund applied to its payment if that has arrived."""
    before = str(refund.reconciliation)
    now, events = refunds.retry_orphan(refund, run.actor, settings)
    after, reason = str(now.reconciliation), now.reconciliation_reason
    # A refund takes money back from a payment, not an order: no order ids (the reason names the payment).
    return _Change(before, after, [], reason if after != before else None, events)


def _save_progress(run: ReconciliationRun) -> None:
    run.heartbeat_at = utcnow()
    with write_transaction():
        ReconciliationRun.update(
            examined=run.examined,
            matched=run.matched,
            changed=run.changed,
            still_open=run.still_open,
            heartbeat_at=run.heartbeat_at,
        ).where(ReconciliationRun.id == run.id).execute()


def _finish(run: ReconciliationRun, status: str, error: str | None) -> None:
    now = utcnow()
    with write_transaction():
        ReconciliationRun.update(
            status=status,
            error=error,
            examined=run.examined,
            matched=run.matched,
            changed=run.changed,
            still_open=run.still_open,
            heartbeat_at=now,
            finished_at=now,
        ).where(ReconciliationRun.id == run.id).execute()
        record_audit(
            run.tenant_id,
            run.actor,
            f"reconciliation_run.{status}",
            "reconciliation_run",
            run.id,
            {
                "dry_run": run.dry_run,
                "provider": run.provider,
                "from": run.occurred_from.isoformat() if run.occurred_from else None,
                "to": run.occurred_to.isoformat() if run.occurred_to else None,
                "examined": run.examined,
                "matched": run.matched,
                "changed": run.changed,
                "still_open": run.still_open,
                "error": error,
            },
        )
