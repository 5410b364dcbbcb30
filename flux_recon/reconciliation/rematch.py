"""Matching a stored open payment again, against the orders as they are now."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from flux_recon.core.states import PaymentStatus, Reconciliation
from flux_recon.models import Allocation, Payment, SalesOrder
from flux_recon.models.audit_log import record_audit
from flux_recon.money import from_minor
from flux_recon.providers import NoticeKind
from flux_recon.reconciliation.allocation import lock_payment
from flux_recon.reconciliation.engine import Decision, Engine, refusal_reason
from flux_recon.reconciliation.match_locks import lock_match_keys, notice_keys
from flux_recon.reconciliation.matchers import OPEN_RECONCILIATION
from flux_recon.reconciliation.records import notice_from_payment
from flux_recon.reconciliation.rules import ReconciliationSettings

# Payments still waiting for an order. Orphan refunds wait for a payment, not an order;
# exceptions and partial matches wait for a person.
OPEN_STATES = OPEN_RECONCILIATION


@dataclass
class RematchResult:
    """What matching one payment again did (or, for a dry run, would do)."""

    payment_id: int
    before: str
    after: str
    before_candidates: list[int] | None = None
    candidates: list[int] | None = None
    strategy: str | None = None
    # Orders money was allocated to (a dry run: would be).
    order_ids: list[int] = field(default_factory=list)
    reason: str | None = None
    events: list[dict] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        if self.before != self.after:
            return True
        return self.after == Reconciliation.AMBIGUOUS and self.candidates != self.before_candidates


def is_open(payment: Payment) -> bool:
    """A succeeded payment waiting for an order, with nothing allocated yet."""
    return (
        payment.kind == NoticeKind.PAYMENT
        and payment.status == PaymentStatus.SUCCEEDED
        and payment.reconciliation in OPEN_STATES
        and payment.allocated_minor == 0
        and available_minor(payment) > 0
    )


def available_minor(payment: Payment) -> int:
    """What an order can still receive from the payment (refunds taken back first)."""
    return payment.amount_minor - payment.refunded_minor - payment.allocated_minor


def unmatched_by_hand(payment_id: int) -> frozenset[int]:
    """Orders this payment was allocated to and released from: an open payment only gets
    there by a person's unmatch, whose decision the engine does not undo."""
    query = Allocation.select(Allocation.order).where(
        (Allocation.payment == payment_id) & Allocation.released_at.is_null(False)
    )
    return frozenset(row.order_id for row in query)


def rematch_payment(
    engine: Engine,
    payment: Payment,
    *,
    settings: ReconciliationSettings,
    actor: str,
    dry_run: bool = False,
    trigger: str | None = None,
    lock_keys: bool = True,
) -> RematchResult:
    """Run the engine's strategies again for one stored payment, by the same priorities.

    Only an open payment (unmatched or ambiguous, succeeded, kind payment, nothing
    allocated) can change: one order found allocates what the payment can still give, with
    the audit entries and events a webhook match has; several keep it ambiguous (no order is
    picked); none leaves it unmatched. Moving between unmatched and ambiguous is audited but
    not announced again (``payment.unmatched`` went out when the payment arrived).

    Not a dry run: call inside a write transaction; the payment's match-key locks are taken
    (see match_locks), then its row is locked and read again, so two transactions matching
    it at once allocate it once. ``lock_keys=False``: the caller already holds locks that
    cover them (an order's keys: a payment it may be for shares one) or commits nothing.
    ``dry_run`` reads only and reports what would change. ``trigger`` says why, for the
    audit log (``"order 12 created"``).
    """
    if not dry_run:
        if lock_keys:
            # Keys before rows, as a webhook and an order change take them: an order change
            # holding the order's row waits for these first, so neither holds what the
            # other waits for (payment row, then order row, here; the reverse there).
            lock_match_keys(payment.tenant_id, notice_keys(notice_from_payment(payment)))
        payment = lock_payment(payment.id)
    before = str(payment.reconciliation)
    result = RematchResult(
        payment.id,
        before,
        before,
        before_candidates=payment.candidates,
        candidates=payment.candidates,
        dry_run=dry_run,
    )
    if not is_open(payment):
        result.reason = "not open: only unmatched or ambiguous succeeded payments are matched again"
        return result
    amount_minor = available_minor(payment)
    notice = dataclasses.replace(notice_from_payment(payment), amount=from_minor(amount_minor, payment.currency))
    decision = engine.decide(payment.tenant_id, notice, settings, excluded=unmatched_by_hand(payment.id))
    _preview(result, payment, decision)
    if dry_run or not result.changed:
        return result

    events = engine.apply(payment, decision, amount_minor, actor, settings)
    result.after = str(payment.reconciliation)
    result.candidates = payment.candidates
    result.reason = payment.reconciliation_reason
    if result.after != Reconciliation.MATCHED:
        result.order_ids = []
    if result.after in OPEN_STATES:
        events = []
    result.events = events
    record_audit(
        payment.tenant_id,
        actor,
        "payment.rematched",
        "payment",
        payment.id,
        {
            "from": result.before,
            "to": result.after,
            "strategy": result.strategy,
            "order_ids": result.order_ids,
            "candidates": result.candidates,
            "trigger": trigger,
        },
    )
    return result


def _preview(result: RematchResult, payment: Payment, decision: Decision) -> None:
    """Fill ``result`` with what ``decision`` means, from the orders as read (no lock)."""
    result.strategy = decision.strategy
    order = decision.order
    if order is not None:
        result.candidates = [order.id]
        refusal = refusal_reason(payment, order)
        if refusal is None:
            result.after = Reconciliation.MATCHED
            result.order_ids = [order.id]
            result.reason = f"matched to order {order.reference} by {decision.strategy}"
        else:
            result.after = Reconciliation.EXCEPTION
            result.reason = refusal
    elif decision.orders:
        result.after = Reconciliation.AMBIGUOUS
        result.candidates = [o.id for o in decision.orders]
        result.reason = decision.reason
    else:
        result.after = Reconciliation.UNMATCHED
        result.reason = decision.reason
    result.after = str(result.after)


def open_payments_for(
    engine: Engine, order: SalesOrder, settings: ReconciliationSettings, *, previous: SalesOrder | None = None
) -> list[Payment]:
    """The open payments ``order`` may be for, oldest first: what each enabled strategy
    finds for it by an index. ``previous``: the order as it was before a change, so payments
    that named it by its old values (ambiguous between it and another) are looked at too."""
    found: dict[int, Payment] = {}
    for matcher in engine.matchers:
        if matcher.name in settings.disabled_strategies:
            continue
        for version in (order, previous) if previous is not None else (order,):
            for payment in matcher.open_payments(version, settings):
                found.setdefault(payment.id, payment)
    return [found[payment_id] for payment_id in sorted(found)]


def rematch_for_order(
    engine: Engine,
    order: SalesOrder,
    *,
    settings: ReconciliationSettings,
    actor: str,
    trigger: str,
    previous: SalesOrder | None = None,
    dry_run: bool = False,
) -> list[RematchResult]:
    """Match again every open payment a created or changed order may be for (see
    ``open_payments_for``), oldest first, each by every strategy in priority order. Call
    inside the order's write transaction; the events are the caller's to publish."""
    return [
        # The caller holds the order's match keys, one of which each of these payments shares;
        # taking more keys after the order's row would break the order locks are taken in.
        rematch_payment(
            engine, payment, settings=settings, actor=actor, dry_run=dry_run, trigger=trigger, lock_keys=False
        )
        for payment in open_payments_for(engine, order, settings, previous=previous)
    ]
