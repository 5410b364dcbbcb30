"""The delivery worker: claims due deliveries, POSTs them, and records what happened.

Several workers may run at once: on PostgreSQL each claims its batch with
``FOR UPDATE SKIP LOCKED`` and holds it under a lease; a worker that dies mid-batch loses
nothing, because its deliveries are claimed again once the lease has expired. Delivery is
at least once: receivers deduplicate on ``webhook-id``.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass

from ..extensions.observability import DELIVERIES
from ..models import Delivery, DeliveryAttempt, OutboundEvent, Subscription, utcnow
from ..models.transactions import is_sqlite, write_transaction
from .destinations import DestinationRefused, check_destination
from .schedule import MAX_RETRY_AFTER, next_delay
from .sender import Sender, SendResult
from .signing import basic_authorization, signature_headers

log = logging.getLogger("flux_recon.worker")

LOG_EVERY_SECONDS = 5


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
    ):
        self.secret_box = secret_box
        self.allow_private = allow_private
        self.disable_after = disable_after
        self.clock = clock
        self.sender = sender or Sender(pool_size=concurrency)
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.lease = lease
        # One subscription may fill all but a quarter of the slots: a hanging receiver slows
        # only itself, and a single busy subscription still gets most of the throughput.
        self.per_subscription = max(1, concurrency - max(1, concurrency // 4))
        self.rng = rng or random.Random()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="delivery")

    # --- claiming -------------------------------------------------------------------------
    def _due(self, now: dt.datetime):
        due = ((Delivery.status == "pending") & (Delivery.next_attempt_at <= now)) | (
            (Delivery.status == "delivering") & (Delivery.lease_until < now)
        )
        return (
            Delivery.select(Delivery, Subscription, OutboundEvent)
            .join(Subscription)
            .switch(Delivery)
            .join(OutboundEvent)
            .where(due & Subscription.enabled)
        )

    def claim(
        self, limit: int | None = None, busy: dict[int, int] | None = None, *, cap: int | None = None
    ) -> list[Job]:
        """Take up to ``limit`` due deliveries under a lease, in one short transaction.

        With ``cap``, at most that many deliveries of one subscription are in flight at once
        (``busy`` counts those already in flight), so a slow or hanging receiver cannot take
        every slot from the others.
        """
        now = self.clock()
        limit = limit or self.batch_size
        taken = dict(busy or {})
        with write_transaction():
            query = self._due(now).order_by(Delivery.next_attempt_at, Delivery.id).limit(limit * 4)
            if not is_sqlite():
                query = query.for_update(of=Delivery, skip_locked=True)
            rows = []
            for row in query:
                if cap is None or taken.get(row.subscription_id, 0) < cap:
                    taken[row.subscription_id] = taken.get(row.subscription_id, 0) + 1
                    rows.append(row)
                    if len(rows) == limit:
                        break
            if rows:
                Delivery.update(status="delivering", lease_until=now + self.lease).where(
                    Delivery.id.in_([row.id for row in rows])
                ).execute()
        return [self._job(row) for row in rows]

    def _job(self, row: Delivery) -> Job:
        subscription = row.subscription
        authorization = None
        if subscription.auth_type == "basic":
            password = self.secret_box.decrypt(subscription.basic_password_encrypted)
            authorization = basic_authorization(subscription.basic_username, password)
        signing_key = (
            self.secret_box.decrypt(subscription.signing_key_encrypted) if subscription.signing_key_encrypted else None
        )
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
        return Outcome(job, result=self.sender.post(target, job.body, headers))

    # --- recording ------------------------------------------------------------------------
    def record(self, outcome: Outcome) -> str:
        """Write the attempt and the delivery's next state; returns that state."""
        now = self.clock()
        delivery = outcome.job.delivery
        result = outcome.result
        attempts = delivery.attempts + 1
        with write_transaction():
            DeliveryAttempt.create(
                delivery=delivery.id,
                attempted_at=now,
                status_code=result.status_code if result else None,
                error=outcome.refused or (result.error if result else None),
                latency_ms=result.latency_ms if result else None,
                response_snippet=result.snippet if result else None,
            )
            changes = {
                Delivery.attempts: attempts,
                Delivery.lease_until: None,
                Delivery.last_status_code: result.status_code if result else None,
                Delivery.last_error: outcome.refused or (result.error if result else None),
                Delivery.last_latency_ms: result.latency_ms if result else None,
                Delivery.response_snippet: result.snippet if result else None,
            }
            state = self._next_state(delivery, outcome, attempts, now, changes)
            changes[Delivery.status] = state
            Delivery.update(changes).where(Delivery.id == delivery.id).execute()
        DELIVERIES.labels(state).inc()
        return state

    def _next_state(self, delivery, outcome, attempts, now, changes) -> str:
        result = outcome.result
        subscription_id = delivery.subscription_id
        if result is not None and result.ok:
            changes[Delivery.delivered_at] = now
            Subscription.update(failing_since=None).where(
                (Subscription.id == subscription_id) & Subscription.failing_since.is_null(False)
            ).execute()
            return "succeeded"
        if outcome.refused:
            return "failed"  # the destination itself is not allowed: retrying cannot help
        if result.status_code == 410:
            _disable(subscription_id, "the receiver answered 410 Gone", now)
            return "failed"
        self._note_failure(subscription_id, now)
        if result.status_code in (429, 503) and result.retry_after is not None:
            delay = min(dt.timedelta(seconds=result.retry_after), MAX_RETRY_AFTER)
        else:
            delay = next_delay(attempts, self.rng)
        if delay is None:
            return "failed"
        changes[Delivery.next_attempt_at] = now + delay
        return "pending"

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
        """Claim one batch, deliver it with several requests in flight, record each result."""
        counts = {"succeeded": 0, "pending": 0, "failed": 0}
        futures = [self._pool.submit(self.send, job) for job in self.claim()]
        for future in as_completed(futures):
            counts[self.record(future.result())] += 1
        return counts

    def backlog(self) -> int:
        return self._due(self.clock()).count()

    def run(self, stop: threading.Event, poll_interval: float = 1.0, *, until_idle: bool = False) -> None:
        """Deliver until ``stop`` is set (or, with ``until_idle``, nothing is due).

        Deliveries flow continuously: as soon as one finishes, its slot takes the next due
        one, so a slow receiver delays only its own deliveries. One log line per batch of
        ``batch_size`` results (or every few seconds), with the backlog.
        """
        inflight: dict = {}
        counts = {"succeeded": 0, "pending": 0, "failed": 0}
        last_log = time.monotonic()
        while not stop.is_set():
            free = self.concurrency - len(inflight)
            if free > 0:
                busy: dict[int, int] = {}
                for job in inflight.values():
                    busy[job.delivery.subscription_id] = busy.get(job.delivery.subscription_id, 0) + 1
                for job in self.claim(limit=free, busy=busy, cap=self.per_subscription):
                    inflight[self._pool.submit(self.send, job)] = job
            if not inflight:
                self._log(counts, last_log)
                if until_idle:
                    return
                stop.wait(poll_interval)
                continue
            done, _ = wait(inflight, timeout=poll_interval, return_when=FIRST_COMPLETED)
            for future in done:
                del inflight[future]
                counts[self.record(future.result())] += 1
            if sum(counts.values()) >= self.batch_size or time.monotonic() - last_log > LOG_EVERY_SECONDS:
                last_log = self._log(counts, last_log)
        for future in as_completed(inflight):  # stopping: finish and record what is in flight
            counts[self.record(future.result())] += 1
        self._log(counts, last_log)

    def _log(self, counts: dict[str, int], since: float) -> float:
        handled = sum(counts.values())
        if handled:
            log.info(
                "delivered %d in %d ms: %d succeeded, %d to retry, %d failed; backlog %d",
                handled,
                (time.monotonic() - since) * 1000,
                counts["succeeded"],
                counts["pending"],
                counts["failed"],
                self.backlog(),
            )
            for key in counts:
                counts[key] = 0
        return time.monotonic()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.sender.close()


def _disable(subscription_id: int, reason: str, now: dt.datetime) -> None:
    Subscription.update(enabled=False, disabled_reason=reason, updated_at=now).where(
        (Subscription.id == subscription_id) & Subscription.enabled
    ).execute()
    log.warning("subscription %s disabled: %s", subscription_id, reason)
