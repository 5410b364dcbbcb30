"""Allocating payment amounts to orders and releasing them, keeping both sides' totals exact.

Every function here runs inside the caller's write transaction and locks the order row
(and the payment row) it changes, so concurrent payments for one order all count.
"""

from __future__ import annotations

from flux_recon.core.domain_events import order_event
from flux_recon.models import Allocation, Payment, SalesOrder, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.prepared import Param, Prepared, PreparedInsert, PreparedUpdate
from flux_recon.models.transactions import is_sqlite, locked
from flux_recon.reconciliation.order_state import derive_status
from flux_recon.reconciliation.rules import ReconciliationSettings

# Rendered per kind of database: FOR UPDATE only where there are row locks.
_locked_order = Prepared(lambda: locked(SalesOrder.select().where(SalesOrder.id == Param("id"))))
_insert_allocation = PreparedInsert(Allocation)
_save_allocated = PreparedUpdate(Payment, [Payment.allocated_minor])
_save_paid = PreparedUpdate(SalesOrder, [SalesOrder.amount_paid_minor, SalesOrder.status, SalesOrder.updated_at])


def lock_order(order_id: int, *, read: SalesOrder | None = None) -> SalesOrder:
    """The order, locked for the rest of the transaction. ``read``: the same order as
    already read inside this write transaction; on SQLite, whose write transaction holds
    the only write lock from its first statement, that copy is current and is returned
    without reading it again."""
    if read is not None and is_sqlite():
        return read
    order = _locked_order.first(id=order_id)
    if order is None:
        raise SalesOrder.DoesNotExist(f"order {order_id} does not exist")
    return order


def lock_payment(payment_id: int) -> Payment:
    return locked(Payment.select().where(Payment.id == payment_id)).get()


def _apply_to_order(order: SalesOrder, delta_minor: int, settings: ReconciliationSettings) -> list[dict]:
    previous = order.status
    order.amount_paid_minor += delta_minor
    order.status = derive_status(
        order.amount_minor, order.amount_paid_minor, tolerance_minor=settings.tolerance(order.currency)
    )
    order.updated_at = utcnow()
    _save_paid(order)
    return order_event(order, previous)


def allocate(
    payment: Payment,
    order: SalesOrder,
    amount_minor: int,
    *,
    matched_by: str,
    actor: str,
    settings: ReconciliationSettings,
    save_payment: bool = True,
) -> tuple[Allocation, list[dict]]:
    """Allocate ``amount_minor`` of ``payment`` to a locked, open, same-currency ``order``.
    ``save_payment=False``: the caller writes the payment's new ``allocated_minor`` itself,
    in the same transaction (with its reconciliation state)."""
    allocation = _insert_allocation(
        payment=payment,
        order=order,
        amount_minor=amount_minor,
        currency=payment.currency,
        matched_by=matched_by,
        created_by=actor,
    )
    payment.allocated_minor += amount_minor
    if save_payment:
        _save_allocated(payment)
    events = _apply_to_order(order, amount_minor, settings)
    record_audit(
        payment.tenant_id,
        actor,
        "allocation.created",
        "payment",
        payment.id,
        {
            "allocation_id": allocation.id,
            "order_id": order.id,
            "amount_minor": amount_minor,
            "matched_by": matched_by,
            "order_status": order.status,
        },
    )
    return allocation, events


def release(
    allocation: Allocation,
    amount_minor: int,
    *,
    reason: str,
    actor: str,
    settings: ReconciliationSettings,
    payment: Payment,
) -> tuple[SalesOrder, list[dict]]:
    """Release ``amount_minor`` of a live allocation (all of it, or part: the remainder
    stays allocated as a new row, so every row's amount is what it says)."""
    order = lock_order(allocation.order_id)
    allocation.released_at = utcnow()
    allocation.released_reason = reason
    allocation.save(only=[Allocation.released_at, Allocation.released_reason])
    remainder = allocation.amount_minor - amount_minor
    if remainder > 0:
        Allocation.create(
            payment=allocation.payment_id,
            order=allocation.order_id,
            amount_minor=remainder,
            currency=allocation.currency,
            matched_by=allocation.matched_by,
            created_by=allocation.created_by,
        )
    payment.allocated_minor -= amount_minor
    _save_allocated(payment)
    events = _apply_to_order(order, -amount_minor, settings)
    record_audit(
        payment.tenant_id,
        actor,
        "allocation.released",
        "payment",
        payment.id,
        {
            "allocation_id": allocation.id,
            "order_id": order.id,
            "amount_minor": amount_minor,
            "reason": reason,
            "order_status": order.status,
        },
    )
    return order, events


def live_allocations(payment_id: int) -> list[Allocation]:
    """The payment's live allocations, newest first (releases take the newest first)."""
    return list(
        Allocation.select()
        .where((Allocation.payment == payment_id) & Allocation.released_at.is_null())
        .order_by(Allocation.id.desc())
    )


def release_amount(
    payment: Payment, amount_minor: int, *, reason: str, actor: str, settings: ReconciliationSettings
) -> list[dict]:
    """Release up to ``amount_minor`` of the payment's allocations, newest first."""
    events: list[dict] = []
    for allocation in live_allocations(payment.id):
        if amount_minor <= 0:
            break
        take = min(amount_minor, allocation.amount_minor)
        _, released_events = release(allocation, take, reason=reason, actor=actor, settings=settings, payment=payment)
        events += released_events
        amount_minor -= take
    return events
