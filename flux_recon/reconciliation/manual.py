"""Matching, splitting and unmatching by hand: what a merchant does with the review queue."""

from __future__ import annotations

from flux_recon.core.domain_events import payment_event
from flux_recon.core.states import OrderStatus, PaymentStatus, Reconciliation
from flux_recon.models import SalesOrder
from flux_recon.providers import NoticeKind
from flux_recon.reconciliation.allocation import allocate, live_allocations, lock_order, lock_payment, release
from flux_recon.reconciliation.records import settle, tenant_settings


class ManualChangeRefused(Exception):
    """A manual match or unmatch that would break a rule (HTTP 409)."""


def unallocated_minor(payment) -> int:
    return payment.amount_minor - payment.refunded_minor - payment.allocated_minor


def match(payment_id: int, order: SalesOrder, amount_minor: int | None, *, actor: str, reason: str) -> list[dict]:
    """Allocate ``amount_minor`` (default: all that is unallocated) of a payment to an order.
    Call inside a write transaction; the payment and the order are locked."""
    payment = lock_payment(payment_id)
    if payment.kind != NoticeKind.PAYMENT or payment.status != PaymentStatus.SUCCEEDED:
        raise ManualChangeRefused(
            f"only succeeded payments can be matched; this one is a {payment.status} {payment.kind}"
        )
    order = lock_order(order.id)
    if order.status == OrderStatus.CANCELLED:
        raise ManualChangeRefused(f"order {order.reference} is cancelled")
    if order.currency != payment.currency:
        raise ManualChangeRefused(f"order {order.reference} is in {order.currency}, the payment in {payment.currency}")
    available = unallocated_minor(payment)
    amount_minor = available if amount_minor is None else amount_minor
    if available <= 0:
        raise ManualChangeRefused("the payment is already fully allocated; unmatch it first")
    if amount_minor > available:
        raise ManualChangeRefused("the amount is more than the unallocated part of the payment")

    settings = tenant_settings(payment.tenant_id)
    _, events = allocate(payment, order, amount_minor, matched_by="manual", actor=actor, settings=settings)
    payment.candidates = sorted({*(payment.candidates or []), order.id})
    state = Reconciliation.MATCHED if unallocated_minor(payment) == 0 else Reconciliation.PARTIALLY_MATCHED
    settle(payment, state, f"matched by hand by {actor}" + (f": {reason}" if reason else ""))
    return [payment_event("payment.matched", payment, order), *events]


def unmatch(payment_id: int, order_id: int | None, *, actor: str, reason: str) -> list[dict]:
    """Release the payment's live allocations (only those to ``order_id`` if given). The
    payment then waits in the review queue; matching it again (an order created or changed,
    a reconciliation run) never proposes an order it was unmatched from."""
    payment = lock_payment(payment_id)
    allocations = [a for a in live_allocations(payment.id) if order_id is None or a.order_id == order_id]
    if not allocations:
        raise ManualChangeRefused("nothing to unmatch: no live allocation" + (" to that order" if order_id else ""))
    settings = tenant_settings(payment.tenant_id)
    why = f"unmatched by {actor}" + (f": {reason}" if reason else "")
    events: list[dict] = []
    for allocation in allocations:
        _, released = release(
            allocation, allocation.amount_minor, reason=why, actor=actor, settings=settings, payment=payment
        )
        events += released
    state = Reconciliation.PARTIALLY_MATCHED if payment.allocated_minor else Reconciliation.UNMATCHED
    settle(payment, state, why)
    return [payment_event("payment.unmatched", payment), *events]
