"""The reconciliation engine: record a notice idempotently, match it, allocate it.

Plain values in, plain values out; no Flask. The caller owns the transaction (the
webhook pipeline writes the inbox row in the same one), so every write here commits or
rolls back together with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import peewee

from ..models import Allocation, Payment, SalesOrder, db, utcnow
from ..models.transactions import locked
from ..money import MoneyError, from_minor, normalize_currency, to_minor
from ..providers import NoticeKind, NoticeStatus, Payer, PaymentNotice
from .audit import record_audit
from .matchers import Matcher
from .order_state import derive_status

# Status changes a provider may send for one transaction; anything else repeated is a duplicate.
FORWARD_TRANSITIONS = {("pending", "succeeded"), ("pending", "failed")}


class InvalidNotice(ValueError):
    """The notice cannot be recorded (an amount or currency that is not exact)."""

    def __init__(self, message: str, field_name: str):
        super().__init__(message)
        self.message = message
        self.field = field_name


@dataclass
class Outcome:
    """What the engine did with one notice."""

    status: str  # "accepted" (new or changed) or "duplicate" (no effect)
    payment: Payment
    events: list[dict] = field(default_factory=list)

    @property
    def reconciliation(self) -> str:
        return self.payment.reconciliation


class Engine:
    """Records notices and reconciles payments with the registered matchers, in priority order."""

    def __init__(self, matchers: Iterable[Matcher]):
        self.matchers = sorted(matchers, key=lambda m: (m.priority, m.name))

    def record(
        self,
        *,
        tenant_id: str,
        provider: str,
        notice: PaymentNotice,
        integration_id: int | None = None,
        actor: str = "engine",
    ) -> Outcome:
        """Record one notice and reconcile it. Call inside a write transaction."""
        currency, amount_minor = _exact_amount(notice)
        fields = _payment_fields(notice, currency, amount_minor)
        try:
            # A savepoint, so a conflict leaves the caller's transaction usable. The unique
            # index settles concurrent duplicates: the loser waits, then lands here.
            with db.atomic():
                payment = Payment.create(tenant=tenant_id, integration=integration_id, provider=provider, **fields)
        except peewee.IntegrityError:
            existing = Payment.get(
                (Payment.tenant == tenant_id)
                & (Payment.provider == provider)
                & (Payment.external_id == notice.external_id)
            )
            return self._apply_status_change(existing, notice.status.value, actor)

        record_audit(
            tenant_id,
            actor,
            "payment.recorded",
            "payment",
            payment.id,
            {"provider": provider, "external_id": notice.external_id, "status": payment.status},
        )
        events = [_event("payment.received", payment)]
        events += self._reconcile(payment, notice, actor)
        return Outcome("accepted", payment, events)

    def _apply_status_change(self, payment: Payment, new_status: str, actor: str) -> Outcome:
        if (payment.status, new_status) not in FORWARD_TRANSITIONS:
            return Outcome("duplicate", payment)
        # Compare-and-set: of two concurrent deliveries of the change, exactly one applies it.
        changed = (
            Payment.update(status=new_status, updated_at=utcnow())
            .where((Payment.id == payment.id) & (Payment.status == payment.status))
            .execute()
        )
        if not changed:
            return Outcome("duplicate", Payment.get_by_id(payment.id))
        record_audit(
            payment.tenant_id,
            actor,
            "payment.status_changed",
            "payment",
            payment.id,
            {"from": payment.status, "to": new_status},
        )
        payment.status = new_status
        events = [_event("payment.received", payment)]
        events += self._reconcile(payment, _notice_from_payment(payment), actor)
        return Outcome("accepted", payment, events)

    def _reconcile(self, payment: Payment, notice, actor: str) -> list[dict]:
        if payment.status != NoticeStatus.SUCCEEDED.value:
            return self._settle(payment, "not_applicable", f"{payment.status} payments are not allocated")
        if payment.kind != NoticeKind.PAYMENT.value:
            # Refunds and reversals release allocations: the engine issue adds that rule.
            return self._settle(payment, "exception", f"{payment.kind} notices need review")

        for matcher in self.matchers:
            orders = matcher.candidates(payment.tenant_id, notice)
            if len(orders) == 1:
                return self._allocate(payment, orders[0], matcher.name, actor)
            if len(orders) > 1:
                # The strongest strategy that found anything decides: a weaker one does
                # not get to break a tie the stronger one could not.
                payment.candidates = [o.id for o in orders]
                return self._settle(payment, "ambiguous", f"{len(orders)} orders match by {matcher.name}")
        return self._settle(payment, "unmatched", "no order matches this payment")

    def _settle(self, payment: Payment, state: str, reason: str) -> list[dict]:
        payment.reconciliation = state
        payment.reconciliation_reason = reason
        payment.updated_at = utcnow()
        payment.save(
            only=[Payment.reconciliation, Payment.reconciliation_reason, Payment.candidates, Payment.updated_at]
        )
        return [_event("payment.unmatched", payment)] if state in ("unmatched", "ambiguous") else []

    def _allocate(self, payment: Payment, order: SalesOrder, strategy: str, actor: str) -> list[dict]:
        order = _lock_order(order.id)
        if order.status == "cancelled":
            return self._settle_with_order(payment, order, "the matched order is cancelled")
        if order.currency != payment.currency:
            return self._settle_with_order(
                payment, order, f"payment currency {payment.currency} differs from order currency {order.currency}"
            )

        Allocation.create(
            payment=payment,
            order=order,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            matched_by=strategy,
            created_by=actor,
        )
        previous_status = order.status
        order.amount_paid_minor += payment.amount_minor
        order.status = derive_status(order.amount_minor, order.amount_paid_minor)
        order.updated_at = utcnow()
        order.save(only=[SalesOrder.amount_paid_minor, SalesOrder.status, SalesOrder.updated_at])

        payment.allocated_minor = payment.amount_minor
        payment.candidates = [order.id]
        payment.reconciliation = "matched"
        payment.reconciliation_reason = f"matched by {strategy}"
        payment.updated_at = utcnow()
        payment.save()
        record_audit(
            payment.tenant_id,
            actor,
            "allocation.created",
            "payment",
            payment.id,
            {
                "order_id": order.id,
                "amount_minor": payment.amount_minor,
                "matched_by": strategy,
                "order_status": order.status,
            },
        )
        events = [_event("payment.matched", payment, order)]
        if order.status != previous_status and order.status in ("partially_paid", "paid", "overpaid"):
            events.append(_event(f"order.{order.status}", payment, order))
        return events

    def _settle_with_order(self, payment: Payment, order: SalesOrder, reason: str) -> list[dict]:
        payment.candidates = [order.id]
        return self._settle(payment, "exception", reason)


def _lock_order(order_id: int) -> SalesOrder:
    """Re-read the order under a row lock, so two payments for it both count."""
    return locked(SalesOrder.select().where(SalesOrder.id == order_id)).get()


def _exact_amount(notice: PaymentNotice) -> tuple[str, int]:
    try:
        currency = normalize_currency(notice.currency)
    except MoneyError as exc:
        raise InvalidNotice(str(exc), "currency") from None
    try:
        amount_minor = to_minor(notice.amount, currency)
    except MoneyError as exc:
        raise InvalidNotice(str(exc), "amount") from None
    if amount_minor <= 0:
        raise InvalidNotice("amount must be greater than zero", "amount")
    return currency, amount_minor


def _optional_minor(value, currency):
    return None if value is None else to_minor(value, currency)


def _payment_fields(notice: PaymentNotice, currency: str, amount_minor: int) -> dict:
    payer = notice.payer
    try:
        fee_minor = _optional_minor(notice.fee, currency)
        settlement_minor = _optional_minor(notice.settlement_amount, currency)
    except MoneyError as exc:
        raise InvalidNotice(str(exc), "fee") from None
    return {
        "external_id": notice.external_id,
        "kind": notice.kind.value,
        "status": notice.status.value,
        "method": notice.method.value,
        "amount_minor": amount_minor,
        "currency": currency,
        "fee_minor": fee_minor,
        "settlement_minor": settlement_minor,
        "references": list(notice.references),
        "destination_account": notice.destination_account,
        "parent_external_id": notice.parent_external_id,
        "payer_name": payer.name,
        "payer_email": payer.email,
        "payer_phone": payer.phone,
        "payer_customer_id": payer.customer_id,
        "payer_account_number": payer.account_number,
        "payer_bank": payer.bank,
        "occurred_at": notice.occurred_at,
        "raw": notice.raw,
    }


def _notice_from_payment(payment: Payment) -> PaymentNotice:
    """The notice a stored payment came from, for matching it again after a status change."""
    payer = Payer(
        name=payment.payer_name,
        email=payment.payer_email,
        phone=payment.payer_phone,
        customer_id=payment.payer_customer_id,
        account_number=payment.payer_account_number,
        bank=payment.payer_bank,
    )
    return PaymentNotice(
        external_id=payment.external_id,
        amount=from_minor(payment.amount_minor, payment.currency),
        currency=payment.currency,
        occurred_at=payment.occurred_at,
        kind=payment.kind,
        status=payment.status,
        method=payment.method,
        references=tuple(payment.references or ()),
        payer=payer,
        destination_account=payment.destination_account,
        parent_external_id=payment.parent_external_id,
    )


def _event(event_type: str, payment: Payment, order: SalesOrder | None = None) -> dict:
    payload = {"payment_id": payment.id, "reconciliation": payment.reconciliation}
    if order is not None:
        payload.update(order_id=order.id, order_status=order.status)
    return {"event_type": event_type, "tenant_id": payment.tenant_id, "payload": payload}
