"""Refunds and reversals: release what they take back, and keep the ones that arrive early.

A refund or reversal is linked to its payment by the provider's parent id, or arrives
under the payment's own external id (it is then kept as ``<id>:<kind>``). It releases
allocations (the unallocated part of the payment is taken back first, then allocations
newest first) and the orders' statuses are derived again. One for a payment never seen is
kept as an ``orphan`` and applied when that payment arrives, or when it is received again
(a retry or a replay) after its payment arrived.
"""

from __future__ import annotations

import dataclasses

from flux_recon.core.domain_events import payment_event
from flux_recon.core.states import PaymentStatus, Reconciliation, Verdict
from flux_recon.models import Payment, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.prepared import Param, Prepared
from flux_recon.models.transactions import lock_for_transaction
from flux_recon.providers import NoticeKind, PaymentNotice
from flux_recon.reconciliation.allocation import lock_payment, release_amount
from flux_recon.reconciliation.records import Outcome, find_payment, insert_payment, settle

# Refunds waiting for this payment: looked up for every payment recorded.
_orphans = Prepared(
    lambda: (
        Payment.select()
        .where(
            (Payment.tenant == Param("tenant"))
            & (Payment.provider == Param("provider"))
            & (Payment.parent_external_id == Param("parent"))
            & (Payment.reconciliation == Reconciliation.ORPHAN)
        )
        .order_by(Payment.id)
    )
)


def lock_link(tenant_id: str, provider: str, notice: PaymentNotice) -> None:
    """Take the lock a payment shares with its refunds and reversals, keyed on the payment's
    transaction id, before either looks for the other.

    Under READ COMMITTED a refund recorded while its payment's transaction is still open
    does not see the payment, and the payment's look-up of waiting refunds does not see
    the refund: both would commit and the refund stay an orphan for ever. Holding this
    lock, whichever of the two commits second sees the first. (SQLite runs one writer at a
    time, so there it costs nothing.)"""
    if notice.kind == NoticeKind.PAYMENT:
        payment_id = notice.external_id
    else:
        payment_id = notice.parent_external_id or notice.external_id
    lock_for_transaction("payment-link", tenant_id, provider, payment_id)


def record(tenant_id, provider, notice: PaymentNotice, amount_minor, integration_id, actor, settings) -> Outcome:
    """Record a refund or reversal notice and apply it to its payment if that is known.

    One sent under the payment's own transaction id (or with no parent id) is stored under
    a key derived from that id, ``<id>:refund`` or ``<id>:reversal``: the provider's retries
    are then duplicates of it, and it can arrive before the payment without taking its id.
    """
    parent_id = notice.parent_external_id or notice.external_id
    if parent_id == notice.external_id:
        notice = dataclasses.replace(
            notice, external_id=f"{notice.external_id}:{notice.kind.value}", parent_external_id=parent_id
        )
    refund = insert_payment(tenant_id, provider, notice, amount_minor, integration_id)
    if refund is None:
        recorded = find_payment(tenant_id, provider, notice.external_id)
        refund = _completed(recorded, notice)
        if refund is None:
            return _adopt_again(recorded, actor, settings)
    elif refund.status != PaymentStatus.SUCCEEDED:
        # A refund the provider reports as pending or failed has taken nothing back (yet).
        settle(refund, Reconciliation.NOT_APPLICABLE, f"{refund.status} {refund.kind}: nothing taken back")
        return Outcome(Verdict.ACCEPTED, refund, [])

    record_audit(
        tenant_id,
        actor,
        f"{refund.kind}.recorded",
        "payment",
        refund.id,
        {
            "provider": provider,
            "external_id": refund.external_id,
            "parent_external_id": parent_id,
            "amount_minor": amount_minor,
        },
    )
    parent = _parent(tenant_id, provider, parent_id)
    if parent is None:
        settle(refund, Reconciliation.ORPHAN, f"{refund.kind} of payment {parent_id}, which has not been received")
        return Outcome(Verdict.ACCEPTED, refund, [])
    return Outcome(Verdict.ACCEPTED, refund, apply(refund, parent, actor, settings))


def _parent(tenant_id, provider, parent_id) -> Payment | None:
    return Payment.get_or_none(
        (Payment.tenant == tenant_id)
        & (Payment.provider == provider)
        & (Payment.external_id == parent_id)
        & (Payment.kind == NoticeKind.PAYMENT.value)
    )


def _adopt_again(recorded: Payment, actor, settings) -> Outcome:
    """A refund received again (the provider's retry, a replay from the inbox): a duplicate,
    unless it is still an orphan and its payment has arrived since. It is then applied now,
    so resending it repairs an orphan an earlier fault left behind. A payment still pending
    keeps it waiting: the payment applies it when it succeeds."""
    if recorded.kind == NoticeKind.PAYMENT.value or recorded.reconciliation != Reconciliation.ORPHAN:
        return Outcome(Verdict.DUPLICATE, recorded)
    parent = _parent(recorded.tenant_id, recorded.provider, recorded.parent_external_id)
    if parent is None or parent.status == PaymentStatus.PENDING:
        return Outcome(Verdict.DUPLICATE, recorded)
    events = apply(recorded, parent, actor, settings)
    note = f"{recorded.kind} received again: it was an orphan and is now applied to payment {parent.external_id}"
    return Outcome(Verdict.ACCEPTED, recorded, events, note)


def _completed(refund: Payment, notice: PaymentNotice) -> Payment | None:
    """A pending refund now reported succeeded, changed once (compare-and-set); else None."""
    if (refund.status, notice.status.value) != (PaymentStatus.PENDING, PaymentStatus.SUCCEEDED):
        return None
    changed = (
        Payment.update(status=PaymentStatus.SUCCEEDED, updated_at=utcnow())
        .where((Payment.id == refund.id) & (Payment.status == PaymentStatus.PENDING))
        .execute()
    )
    if not changed:
        return None
    refund.status = PaymentStatus.SUCCEEDED
    return refund


def apply(refund: Payment, parent: Payment, actor: str, settings) -> list[dict]:
    """Take ``refund``'s amount back from ``parent`` (locked), or say why it cannot."""
    parent = lock_payment(parent.id)
    refund.candidates = None
    if refund.currency != parent.currency:
        return settle(
            refund,
            Reconciliation.EXCEPTION,
            f"{refund.kind} currency {refund.currency} differs from the payment's {parent.currency}",
        )
    if parent.status != PaymentStatus.SUCCEEDED:
        return settle(refund, Reconciliation.EXCEPTION, f"{refund.kind} of a payment that is {parent.status}")
    remaining = parent.amount_minor - parent.refunded_minor
    if refund.amount_minor > remaining:
        return settle(refund, Reconciliation.EXCEPTION, f"{refund.kind} is larger than what remains of the payment")
    events = _take_back(
        parent, refund.amount_minor, refund.kind, f"{refund.kind} {refund.external_id}", actor, settings
    )
    settle(refund, Reconciliation.MATCHED, f"{refund.kind} applied to payment {parent.external_id}")
    return events


def _take_back(parent: Payment, amount_minor: int, kind: str, reason: str, actor: str, settings) -> list[dict]:
    unallocated = parent.amount_minor - parent.refunded_minor - parent.allocated_minor
    to_release = max(amount_minor - max(unallocated, 0), 0)
    events = release_amount(parent, to_release, reason=reason, actor=actor, settings=settings)
    parent.refunded_minor += amount_minor
    if parent.refunded_minor >= parent.amount_minor:
        parent.status = PaymentStatus.REVERSED if kind == NoticeKind.REVERSAL else PaymentStatus.REFUNDED
        parent.reconciliation = Reconciliation.NOT_APPLICABLE
        parent.reconciliation_reason = f"{parent.status}; its allocations were released"
    parent.updated_at = utcnow()
    parent.save(
        only=[
            Payment.refunded_minor,
            Payment.status,
            Payment.reconciliation,
            Payment.reconciliation_reason,
            Payment.updated_at,
        ]
    )
    record_audit(
        parent.tenant_id,
        actor,
        f"payment.{'reversed' if kind == 'reversal' else 'refunded'}",
        "payment",
        parent.id,
        {"amount_minor": amount_minor, "released_minor": to_release, "reason": reason},
    )
    event_type = "payment.reversed" if kind == NoticeKind.REVERSAL else "payment.refunded"
    return [payment_event(event_type, parent), *events]


def waiting_orphans(tenant_id: str, provider: str, external_id: str):
    """The refunds waiting for this payment, read later (``Prepared.later``): ask once the
    lock_link is held, so none can be recorded between the read and their adoption."""
    return _orphans.later(tenant=tenant_id, provider=provider, parent=external_id)


def adopt_orphans(payment: Payment, actor: str, settings, waiting=None) -> list[dict]:
    """Apply refunds that arrived before this payment did (``waiting``: as read by
    waiting_orphans earlier in this transaction)."""
    if waiting is not None:
        orphans = waiting()
    else:
        orphans = _orphans.rows(tenant=payment.tenant_id, provider=payment.provider, parent=payment.external_id)
    events: list[dict] = []
    for orphan in orphans:
        events += apply(orphan, payment, actor, settings)
    return events


def retry_orphan(refund: Payment, actor: str, settings) -> tuple[Payment, list[dict]]:
    """An orphan refund or reversal tried again (a reconciliation run), as if received again:
    applied to its payment if that has arrived since (and is no longer pending), else left
    an orphan. Returns the refund as it is now and the events. Call inside a write transaction."""
    lock_for_transaction("payment-link", refund.tenant_id, refund.provider, refund.parent_external_id or "")
    outcome = _adopt_again(Payment.get_by_id(refund.id), actor, settings)
    return outcome.payment, outcome.events
