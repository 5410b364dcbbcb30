"""The delivery worker: claims due deliveries, POSTs them, and records what happened.

Several workers may run at once: on PostgreSQL each claims its batch with
``FOR UPDATE SKIP LOCKED`` and holds it under a lease; a worker that dies mid-batch loses
nothing, because its deliveries are claimed again once the lease has expired. Every attempt
ends well inside its lease (a deadline of half the lease, at most 30 s), and a worker never
claims again what it still holds. An unreachable database stops claims and recording, not
the worker: it retries with backoff. Delivery is at least once: receivers deduplicate on
``webhook-id``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from contextlib import contextmanager
from dataclasses import dataclass

from flux_recon.core.metrics import DELIVERIES, WORKER_DATABASE_ERRORS, WORKER_DATABASE_UNAVAILABLE
from flux_recon.core.states import DeliveryStatus
from flux_recon.models import Delivery, DeliveryAttempt, OutboundEvent, Subscription, db, utcnow
from flux_recon.models.connections import UNAVAILABLE_ERRORS
from flux_recon.models.transactions import is_sqlite, write_transaction
from flux_recon.outbound.destinations import DestinationRefused, check_destination
from flux_recon.outbound.schedule import MAX_RETRY_AFTER, next_delay
from flux_recon.outbound.sender import Sender, SendResult
from flux_recon.outbound.signing import basic_authorization, signature_headers

log = logging.getLogger("flux_recon.worker")

LOG_EVERY_SECONDS = 5
EXPIRED_CHECK_INTERVAL = dt.timedelta(seconds=1)
# While the database is unreachable: the first retry after about half a second, then twice
# as long each time, at most this long (so a worker is back within seconds of the database).
RECONNECT_FIRST_DELAY = 0.5
RECONNECT_MAX_DELAY = 10.0
# The longest an attempt may take in all (connect, send, the whole answer), however slowly
# the receiver trickles it; shorter with a short lease (half of it).
MAX_DEADLINE = 30.0


@dataclass
class Job:
    """One claimed delivery with what is needed to send it (secrets already decrypted)."""

    delivery: Delivery
    url: str
    body: bytes
    event_id: str
    signing_key: str | None
    authorization: str | None


@dataclass
class Outcome:
    job: Job
    result: SendResult | None = None
    refused: str | None = None


class Worker:
    def __init__(
        self,
        secret_box,
        *,
        allow_private: bool,
        disable_after: dt.timedelta,
        clock=utcnow,
        sender: Sender | None = None,
        batch_size: int = 100,
        concurrency: int = 8,
        lease: dt.timedelta = dt.timedelta(seconds=60),
        rng: random.Random | None = None,
        graceful_timeout: float = 10.0,
    ):
        self.secret_box = secret_box
        # Subscription secrets decrypted once per worker, keyed by their ciphertext (a
        # rotated key is a new ciphertext, so it is never served stale).
        self._decrypt = functools.lru_cache(maxsize=256)(secret_box.decrypt)
        self.allow_private = allow_private
        self.disable_after = disable_after
        self.clock = clock
        self.sender = sender or Sender(pool_size=concurrency)
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = lease
        # Each attempt ends (cut if need be) within half the lease: its result is recorded
        # while the lease still keeps other workers off it.
        self.deadline = min(MAX_DEADLINE, lease.total_seconds() / 2)
        # On stop, attempts in flight get this long to finish; the rest are cut and left to
        # their lease (sent again once it expires).
        self.graceful_timeout = graceful_timeout
        # One subscription may fill all but a quarter of the slots: a hanging receiver slows
        # only itself, and a single busy subscription still gets most of the throughput.
        self.per_subscription = max(1, concurrency - max(1, concurrency // 4))
        self.rng = rng or random.Random()
        self._expired_due = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery")

    # --- claiming -------------------------------------------------------------------------
    def _joined(self):
        return (
            Delivery.select(Delivery, Subscription, OutboundEvent)
            .join(Subscription)
            .switch(Delivery)
            .join(OutboundEvent)
            .where(Subscription.enabled)
        )

    def _due_queries(self, now: dt.datetime, limit: int, *, expired: bool = True, held: frozenset[int] = frozenset()):
        """Leases that have expired (unless ``expired`` is false), then pending deliveries
        that are due, oldest first.

        Two lookups, each walking its own index (``(status, next_attempt_at, id)`` and the
        partial index of leased rows) and stopping at ``limit``: one ``… OR …`` sorted
        every due delivery on each claim, which made draining a backlog quadratic.
        """
        pending = (
            self._joined()
            .where((Delivery.status == DeliveryStatus.PENDING) & (Delivery.next_attempt_at <= now))
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        )
        leased = (
            self._joined()
            .where((Delivery.status == DeliveryStatus.DELIVERING) & (Delivery.lease_until < now))
            .order_by(Delivery.lease_until, Delivery.id)
            .limit(limit)
        )
        if held:  # an expired lease this worker still holds is not to be sent a second time
            leased = leased.where(Delivery.id.not_in(sorted(held)))
        # Expired leases first: they are a dead worker's deliveries, already late, and
        # must not wait behind a backlog of pending ones.
        queries = (leased, pending) if expired else (pending,)
        if is_sqlite():
            return queries
        return tuple(query.for_update(of=Delivery, skip_locked=True) for query in queries)

    def claim(
        self, limit: int | None = None, busy: dict[int, int] | None = None, *, cap: int | None = None
    ) -> list[Job]:
        """Take up to ``limit`` due deliveries under a lease, in one short transaction.

        With ``cap``, at most that many deliveries of one subscription are in flight at once
        (``busy`` counts those already in flight), so a slow or hanging receiver cannot take
        every slot from the others.
        """
        with self._transaction():
            rows = self._claim(limit or self.batch_size, busy, cap)
        return [self._job(row) for row in rows]

    def _claim(
        self, limit: int, busy: dict[int, int] | None, cap: int | None, held: frozenset[int] = frozenset()
    ) -> list[Delivery]:
        """The claimed rows; jobs are made from them (secrets decrypted) after the commit,
        so a secret that cannot be decrypted never undoes the claim or recorded results.
        ``held``: deliveries this worker is sending or has not recorded yet, never claimed."""
        if limit <= 0:
            return []
        now = self.clock()
        taken = dict(busy or {})
        rows = []
        # Expired leases are looked for at most once a second while none turn up: a dead
        # worker's deliveries are retaken within a second of their lease running out,
        # without a second lookup on every claim.
        look_for_expired = now >= self._expired_due
        # Read past the cap's skipped rows: a subscription at its cap may own the oldest.
        read = limit * 4 if cap else limit
        for query in self._due_queries(now, read, expired=look_for_expired, held=held):
            found = list(query)
            if look_for_expired:  # that was the lookup of expired leases
                look_for_expired = False
                if len(found) < read:
                    self._expired_due = now + EXPIRED_CHECK_INTERVAL
            for row in found:
                if len(rows) == limit:
                    break
                if row.id in held:  # pending again (redelivered by hand) while still in flight here
                    continue
                if cap is None or taken.get(row.subscription_id, 0) < cap:
                    taken[row.subscription_id] = taken.get(row.subscription_id, 0) + 1
                    rows.append(row)
            if len(rows) == limit:
                break
        if rows:
            Delivery.update(status=DeliveryStatus.DELIVERING, lease_until=now + self.lease).where(
                Delivery.id.in_([row.id for row in rows])
            ).execute()
        return rows

    @contextmanager
    def _transaction(self):
        """A write transaction for the worker's own bookkeeping.

        On PostgreSQL it commits without waiting for the WAL flush (``synchronous_commit =
        off`` for this transaction only). What a server crash can lose is the last fraction
        of a second of claims and results, and either way the delivery is sent again once
        its lease expires: delivery is at least once already, and receivers deduplicate on
        ``webhook-id``. Payments and the outbox itself are still committed durably.
        """
        with write_transaction():
            if not is_sqlite():
                # One statement for both settings, for this transaction only. enable_sort:
                # claims read rows in index order and stop at their limit; after a burst,
                # before autovacuum's ANALYZE, PostgreSQL believes few deliveries are
                # pending and would fetch and sort the whole backlog on every claim.
                db.execute_sql(
                    "SELECT set_config('synchronous_commit', 'off', true), set_config('enable_sort', 'off', true)"
                )
            yield

    def _job(self, row: Delivery) -> Job:
        subscription = row.subscription
        authorization = None
        if subscription.auth_type == "basic":
            password = self._decrypt(subscription.basic_password_encrypted)
            authorization = basic_authorization(subscription.basic_username, password)
        signing_key = self._decrypt(subscription.signing_key_encrypted) if subscription.signing_key_encrypted else None
        return Job(row, subscription.url, row.event.body.encode(), row.event.event_id, signing_key, authorization)

    # --- sending --------------------------------------------------------------------------
    def send(self, job: Job) -> Outcome:
        try:
            target = check_destination(job.url, allow_private=self.allow_private)
        except DestinationRefused as refused:
            return Outcome(job, refused=str(refused))
        headers = signature_headers(job.body, job.event_id, int(self.clock().timestamp()), job.signing_key)
        if job.authorization:
            headers["Authorization"] = job.authorization
        return Outcome(job, result=self.sender.post(target, job.body, headers, deadline=self.deadline))

    # --- recording ------------------------------------------------------------------------
    def record_all(self, outcomes: list[Outcome]) -> list[str]:
        """Record several results in one transaction; returns each delivery's new state."""
        with self._transaction():
            states = self._record_all(outcomes)
        self._count(states)
        return states

    def _record_all(self, outcomes: list[Outcome]) -> list[str]:
        if not outcomes:
            return []
        now = self.clock()
        attempts = []
        states: list[str] = [""] * len(outcomes)
        cleared: set[int] = set()  # subscriptions whose failing_since this batch has cleared
        # By subscription, keeping each one's results in the order given: subscription rows
        # are then changed in id order, so two workers recording at once on PostgreSQL wait
        # for each other instead of deadlocking.
        for index in sorted(range(len(outcomes)), key=lambda n: outcomes[n].job.delivery.subscription_id):
            outcome = outcomes[index]
            delivery, result = outcome.job.delivery, outcome.result
            error = outcome.refused or (result.error if result else None)
            attempts.append(
                {
                    DeliveryAttempt.delivery: delivery.id,
                    DeliveryAttempt.attempted_at: now,
                    DeliveryAttempt.status_code: result.status_code if result else None,
                    DeliveryAttempt.error: error,
                    DeliveryAttempt.latency_ms: result.latency_ms if result else None,
                    DeliveryAttempt.response_snippet: result.snippet if result else None,
                }
            )
            changes = {
                Delivery.attempts: delivery.attempts + 1,
                Delivery.lease_until: None,
                Delivery.last_status_code: result.status_code if result else None,
                Delivery.last_error: error,
                Delivery.last_latency_ms: result.latency_ms if result else None,
                Delivery.response_snippet: result.snippet if result else None,
            }
            succeeded = result is not None and result.ok
            if succeeded and delivery.subscription_id not in cleared:
                # A success ends its subscription's run of failures, at once: a failure later
                # in the batch starts a new run, and a success after that ends it again.
                cleared.add(delivery.subscription_id)
                Subscription.update(failing_since=None).where(
                    (Subscription.id == delivery.subscription_id) & Subscription.failing_since.is_null(False)
                ).execute()
            elif not succeeded:
                cleared.discard(delivery.subscription_id)
            state = self._next_state(delivery, outcome, delivery.attempts + 1, now, changes)
            changes[Delivery.status] = state
            Delivery.update(changes).where(Delivery.id == delivery.id).execute()
            states[index] = state
        DeliveryAttempt.insert_many(attempts).execute()
        return states

    @staticmethod
    def _count(states: list[str]) -> None:
        for state in set(states):
            DELIVERIES.labels(state).inc(states.count(state))

    def _next_state(self, delivery, outcome, attempts, now, changes) -> str:
        result = outcome.result
        subscription_id = delivery.subscription_id
        if result is not None and result.ok:
            changes[Delivery.delivered_at] = now
            return DeliveryStatus.SUCCEEDED
        if outcome.refused:
            return DeliveryStatus.FAILED  # the destination itself is not allowed: retrying cannot help
        if result.status_code == 410:
            _disable(subscription_id, "the receiver answered 410 Gone", now)
            return DeliveryStatus.FAILED
        self._note_failure(subscription_id, now)
        delay = next_delay(attempts, self.rng)
        if delay is None:
            # Also with a Retry-After: a receiver answering "Retry-After: 0" for ever must
            # not be retried without end.
            return DeliveryStatus.FAILED
        if result.status_code in (429, 503) and result.retry_after is not None:
            delay = min(dt.timedelta(seconds=result.retry_after), MAX_RETRY_AFTER)
        changes[Delivery.next_attempt_at] = now + delay
        return DeliveryStatus.PENDING

    def _note_failure(self, subscription_id: int, now: dt.datetime) -> None:
        subscription = Subscription.get_by_id(subscription_id)
        if subscription.failing_since is None:
            Subscription.update(failing_since=now).where(Subscription.id == subscription_id).execute()
        elif now - subscription.failing_since >= self.disable_after:
            _disable(
                subscription_id, f"deliveries have failed since {subscription.failing_since:%Y-%m-%d %H:%M} UTC", now
            )

    # --- running --------------------------------------------------------------------------
    def run_once(self) -> dict[str, int]:
        """Claim one batch, deliver it with several requests in flight, record the results."""
        futures = [self._pool.submit(self.send, job) for job in self.claim()]
        states = self.record_all([future.result() for future in as_completed(futures)])
        return {
            state: states.count(state)
            for state in (DeliveryStatus.SUCCEEDED, DeliveryStatus.PENDING, DeliveryStatus.FAILED)
        }

    def backlog(self) -> int:
        """Deliveries due now: pending ones whose time has come and expired leases."""
        now = self.clock()
        pending = self._joined().where((Delivery.status == DeliveryStatus.PENDING) & (Delivery.next_attempt_at <= now))
        expired = self._joined().where((Delivery.status == DeliveryStatus.DELIVERING) & (Delivery.lease_until < now))
        return pending.count() + expired.count()

    def backlog_or_unknown(self) -> int | str:
        """The backlog, or "unknown" while the database is unreachable."""
        try:
            return self.backlog()
        except UNAVAILABLE_ERRORS:
            _drop_connection()
            return "unknown"

    def run(self, stop: threading.Event, poll_interval: float = 1.0, *, until_idle: bool = False) -> None:
        """Deliver until ``stop`` is set (or, with ``until_idle``, nothing is due).

        Deliveries flow continuously: as soon as one finishes, its slot takes the next due
        one, so a slow receiver delays only its own deliveries. The results that came in
        since the last turn are recorded in the same transaction that claims their
        replacements: one commit per turn, however many finished. One log line per
        ``batch_size`` results (or every few seconds), with the backlog.

        While the database is unreachable, the attempts in flight go on and their results
        wait for it; the worker retries with backoff, logs the outage and shows it in the
        metrics. On stop, attempts still running after ``graceful_timeout`` are cut.
        """
        inflight: dict[Future, Job] = {}
        finished: list[Outcome] = []
        counts = dict.fromkeys((DeliveryStatus.SUCCEEDED, DeliveryStatus.PENDING, DeliveryStatus.FAILED), 0)
        last_log = time.monotonic()
        outage = _Outage(self.rng)
        while not stop.is_set():
            try:
                states, jobs = self._turn(finished, list(inflight.values()))
            except UNAVAILABLE_ERRORS as exc:
                stop.wait(outage.failed(exc))
                finished.extend(_collect(inflight, timeout=0))
                continue
            outage.ended()
            finished = []
            for state in states:
                counts[state] += 1
            for job in jobs:
                inflight[self._pool.submit(self.send, job)] = job
            if not inflight:
                self._log(counts, last_log)
                if until_idle:
                    return
                stop.wait(poll_interval)
                continue
            finished.extend(_collect(inflight, timeout=poll_interval))
            if sum(counts.values()) >= self.batch_size or time.monotonic() - last_log > LOG_EVERY_SECONDS:
                last_log = self._log(counts, last_log)
        self._stop(inflight, finished, counts, last_log)

    def _stop(self, inflight: dict[Future, Job], finished: list[Outcome], counts: dict[str, int], since: float):
        """Give what is in flight ``graceful_timeout`` to finish, cut the rest, and record
        what finished. A cut or unrecorded delivery keeps its lease and is sent again once
        that expires: nothing is lost."""
        if inflight:
            done, left = wait(inflight, timeout=self.graceful_timeout)
            finished.extend(future.result() for future in done)
            if left:
                self.sender.abort()
                log.warning(
                    "stopping: %d deliveries still in flight after %g s were cut; "
                    "they are sent again once their lease expires",
                    len(left),
                    self.graceful_timeout,
                )
        try:
            states = self.record_all(finished)
        except UNAVAILABLE_ERRORS as exc:
            _drop_connection()
            log.warning(
                "stopping with the database unavailable (%s): %d results not recorded; "
                "those deliveries are sent again once their lease expires",
                _describe(exc),
                len(finished),
            )
            states = []
        for state in states:
            counts[state] += 1
        self._log(counts, since)

    def _turn(self, finished: list[Outcome], inflight: list[Job]) -> tuple[list[str], list[Job]]:
        """Record ``finished`` and claim jobs for the free slots, in one transaction (none
        at all when there is nothing to record and no slot is free)."""
        free = self.concurrency - len(inflight)
        if not finished and free <= 0:
            return [], []
        busy: dict[int, int] = {}
        for job in inflight:
            busy[job.delivery.subscription_id] = busy.get(job.delivery.subscription_id, 0) + 1
        # Still this worker's: in flight, or finished and not yet recorded (while the
        # database was away, their leases may have run out).
        held = frozenset([job.delivery.id for job in inflight] + [outcome.job.delivery.id for outcome in finished])
        with self._transaction():
            states = self._record_all(finished)
            rows = self._claim(free, busy, self.per_subscription, held)
        self._count(states)
        return states, [self._job(row) for row in rows]

    def _log(self, counts: dict[str, int], since: float) -> float:
        handled = sum(counts.values())
        if handled:
            log.info(
                "delivered %d in %d ms: %d succeeded, %d to retry, %d failed; backlog %s",
                handled,
                (time.monotonic() - since) * 1000,
                counts[DeliveryStatus.SUCCEEDED],
                counts[DeliveryStatus.PENDING],
                counts[DeliveryStatus.FAILED],
                self.backlog_or_unknown(),
            )
            for key in counts:
                counts[key] = 0
        return time.monotonic()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.sender.close()


def _collect(inflight: dict[Future, Job], timeout: float) -> list[Outcome]:
    """The outcomes of the attempts that have finished, waiting up to ``timeout`` for one."""
    if not inflight:
        return []
    done, _ = wait(inflight, timeout=timeout, return_when=FIRST_COMPLETED)
    for future in done:
        del inflight[future]
    return [future.result() for future in done]


def _drop_connection() -> None:
    """Close this thread's connection after a database error, without handing it back to
    the pool: the next statement opens a fresh one."""
    database = db.obj
    try:
        if hasattr(database, "manual_close"):
            database.manual_close()
        else:
            database.close()
    except Exception:  # it is broken already; all that matters is that it is gone
        database._state.reset()


def _describe(exc: BaseException) -> str:
    """One line about a database error, with the database password (if any) masked."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    password = getattr(db.obj, "connect_params", {}).get("password")
    if password:
        text = text.replace(str(password), "***")
    return f"{type(exc).__name__}: {text}"[:200]


class _Outage:
    """The database being unreachable: when to try again, the log lines, the metrics."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.since: float | None = None
        self.failures = 0

    def failed(self, exc: BaseException) -> float:
        """Record one failed turn; returns the seconds to wait before the next."""
        _drop_connection()
        WORKER_DATABASE_ERRORS.inc()
        WORKER_DATABASE_UNAVAILABLE.set(1)
        self.failures += 1
        delay = min(RECONNECT_MAX_DELAY, RECONNECT_FIRST_DELAY * 2 ** (self.failures - 1))
        delay *= self.rng.uniform(0.5, 1.0)  # workers that lost it together do not return together
        if self.since is None:
            self.since = time.monotonic()
            log.warning(
                "database unavailable (%s); deliveries in flight go on, retrying in %.1f s", _describe(exc), delay
            )
        else:
            log.warning(
                "database still unavailable after %.0f s (%s); retrying in %.1f s",
                time.monotonic() - self.since,
                _describe(exc),
                delay,
            )
        return delay

    def ended(self) -> None:
        if self.since is None:
            return
        log.warning(
            "database reachable again after %.1f s (%d failed attempts)", time.monotonic() - self.since, self.failures
        )
        WORKER_DATABASE_UNAVAILABLE.set(0)
        self.since, self.failures = None, 0


def _disable(subscription_id: int, reason: str, now: dt.datetime) -> None:
    Subscription.update(enabled=False, disabled_reason=reason, updated_at=now).where(
        (Subscription.id == subscription_id) & Subscription.enabled
    ).execute()
    log.warning("subscription %s disabled: %s", subscription_id, reason)
