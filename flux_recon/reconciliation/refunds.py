"""Refunds and reversals: release what they take back, and keep the ones that arrive early.

A refund or reversal is linked to its payment by the provider's parent id, or arrives
under the payment's own external id. It releases allocations (the unallocated part of the
payment is taken back first, then allocations newest first) and the orders' statuses are
derived again. One for a payment never seen is kept as an ``orphan`` and applied when that
payment arrives.
"""

from __future__ import annotations

from ..models import Payment, utcnow
from ..providers import NoticeKind, PaymentNotice
from .allocation import lock_payment, release_amount
from .audit import record_audit
from .events import payment_event
from .records import Outcome, find_payment, insert_payment, settle


def record(tenant_id, provider, notice: PaymentNotice, amount_minor, integration_id, actor, settings) -> Outcome:
    """Record a refund or reversal notice and apply it to its payment if that is known."""
    refund = insert_payment(tenant_id, provider, notice, amount_minor, integration_id)
    if refund is None:
        existing = find_payment(tenant_id, provider, notice.external_id)
        if existing.kind == NoticeKind.PAYMENT.value:
            # The provider reverses a transaction under the transaction's own id.
            return _reverse_in_place(existing, notice, amount_minor, actor, settings)
        return Outcome("duplicate", existing)

    record_audit(
        tenant_id,
        actor,
        f"{refund.kind}.recorded",
        "payment",
        refund.id,
        {
            "provider": provider,
            "external_id": refund.external_id,
            "parent_external_id": refund.parent_external_id,
            "amount_minor": amount_minor,
        },
    )
    parent = None
    if notice.parent_external_id:
        parent = Payment.get_or_none(
            (Payment.tenant == tenant_id)
            & (Payment.provider == provider)
            & (Payment.external_id == notice.parent_external_id)
            & (Payment.kind == NoticeKind.PAYMENT.value)
        )
    if parent is None:
        settle(
            refund, "orphan", f"{refund.kind} of a payment not received: {notice.parent_external_id or 'no parent id'}"
        )
        return Outcome("accepted", refund, [])
    return Outcome("accepted", refund, apply(refund, parent, actor, settings))


def apply(refund: Payment, parent: Payment, actor: str, settings) -> list[dict]:
    """Take ``refund``'s amount back from ``parent`` (locked), or say why it cannot."""
    parent = lock_payment(parent.id)
    refund.candidates = None
    if refund.currency != parent.currency:
        return settle(
            refund,
            "exception",
            f"{refund.kind} currency {refund.currency} differs from the payment's {parent.currency}",
        )
    if parent.status != "succeeded":
        return settle(refund, "exception", f"{refund.kind} of a payment that is {parent.status}")
    remaining = parent.amount_minor - parent.refunded_minor
    if refund.amount_minor > remaining:
        return settle(refund, "exception", f"{refund.kind} is larger than what remains of the payment")
    events = _take_back(
        parent, refund.amount_minor, refund.kind, f"{refund.kind} {refund.external_id}", actor, settings
    )
    settle(refund, "matched", f"{refund.kind} applied to payment {parent.external_id}")
    return events


def _reverse_in_place(payment: Payment, notice: PaymentNotice, amount_minor, actor, settings) -> Outcome:
    payment = lock_payment(payment.id)
    if payment.status in ("reversed", "refunded"):
        return Outcome("duplicate", payment)
    if payment.status != "succeeded":
        # Nothing was allocated; record that the provider took it back.
        payment.status = "reversed"
        payment.save(only=[Payment.status])
        return Outcome("accepted", payment, [payment_event("payment.reversed", payment)])
    amount = min(amount_minor, payment.amount_minor - payment.refunded_minor)
    kind = "reversal" if notice.kind == NoticeKind.REVERSAL else "refund"
    events = _take_back(payment, amount, kind, f"{kind} under the same transaction id", actor, settings)
    return Outcome("accepted", payment, events)


def _take_back(parent: Payment, amount_minor: int, kind: str, reason: str, actor: str, settings) -> list[dict]:
    unallocated = parent.amount_minor - parent.refunded_minor - parent.allocated_minor
    to_release = max(amount_minor - max(unallocated, 0), 0)
    events = release_amount(parent, to_release, reason=reason, actor=actor, settings=settings)
    parent.refunded_minor += amount_minor
    if parent.refunded_minor >= parent.amount_minor:
        parent.status = "reversed" if kind == "reversal" else "refunded"
        parent.reconciliation = "not_applicable"
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
    event_type = "payment.reversed" if kind == "reversal" else "payment.refunded"
    return [payment_event(event_type, parent), *events]


def adopt_orphans(payment: Payment, actor: str, settings) -> list[dict]:
    """Apply refunds that arrived before this payment did."""
    orphans = Payment.select().where(
        (Payment.tenant == payment.tenant_id)
        & (Payment.provider == payment.provider)
        & (Payment.parent_external_id == payment.external_id)
        & (Payment.reconciliation == "orphan")
    )
    events: list[dict] = []
    for orphan in orphans.order_by(Payment.id):
        events += apply(orphan, payment, actor, settings)
    return events
