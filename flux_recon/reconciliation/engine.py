"""The reconciliation engine: record a notice idempotently, match it, allocate it.

Plain values in, plain values out; no Flask. The caller owns the write transaction (the
webhook pipeline writes the inbox row in the same one), so every write here commits or
rolls back together with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flux_recon.core.domain_events import payment_event
from flux_recon.core.states import OrderStatus, PaymentStatus, Reconciliation, Verdict
from flux_recon.models import Payment, SalesOrder, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.providers import NoticeKind, NoticeStatus, PaymentNotice
from flux_recon.reconciliation import refunds
from flux_recon.reconciliation.allocation import allocate, lock_order
from flux_recon.reconciliation.match_locks import lock_match_keys, notice_keys
from flux_recon.reconciliation.matchers import AmountCustomerMatcher, Matcher, ReferenceMatcher, VirtualAccountMatcher
from flux_recon.reconciliation.records import (
    Outcome,
    exact,
    find_payment,
    insert_payment,
    notice_from_payment,
    settle,
    tenant_settings,
)
from flux_recon.reconciliation.rules import ReconciliationSettings

# Status changes a provider may send for one transaction id; anything else repeated is a duplicate.
FORWARD_TRANSITIONS = {
    (PaymentStatus.PENDING, PaymentStatus.SUCCEEDED),
    (PaymentStatus.PENDING, PaymentStatus.FAILED),
}


class Engine:
    """Records notices and reconciles payments with the registered matchers, in priority order."""

    @classmethod
    def builtin(cls) -> Engine:
        """The built-in strategies only (what ``flux_recon_register_matchers`` registers
        when no plugin adds one)."""
        return cls([ReferenceMatcher(), VirtualAccountMatcher(), AmountCustomerMatcher()])

    def __init__(self, matchers: Iterable[Matcher]):
        self.matchers = sorted(matchers, key=lambda m: (m.priority, m.name))
        names = [m.name for m in self.matchers]
        if len(names) != len(set(names)):
            raise ValueError(f"two matchers share a name: {names}")

    @property
    def strategy_names(self) -> list[str]:
        return [m.name for m in self.matchers]

    def record(
        self,
        *,
        tenant_id: str,
        provider: str,
        notice: PaymentNotice,
        integration_id: int | None = None,
        actor: str = "engine",
        settings: ReconciliationSettings | None = None,
    ) -> Outcome:
        """Record one notice and reconcile it. Call inside a write transaction.
        ``settings``: the tenant's, when the caller has already read them."""
        notice, amount_minor = exact(notice)
        if settings is None:
            settings = tenant_settings(tenant_id)
        # Before anything is read: a payment and its refunds never miss each other.
        refunds.lock_link(tenant_id, provider, notice)
        if notice.kind != NoticeKind.PAYMENT:
            return refunds.record(tenant_id, provider, notice, amount_minor, integration_id, actor, settings)
        # Asked now, read after the allocation: in pipeline mode no round trip of its own.
        orphans = refunds.waiting_orphans(tenant_id, provider, notice.external_id)
        # Before orders are read: a payment and an order created at the same moment meet.
        lock_match_keys(tenant_id, notice_keys(notice))

        payment = insert_payment(tenant_id, provider, notice, amount_minor, integration_id)
        if payment is None:
            existing = find_payment(tenant_id, provider, notice.external_id)
            outcome = self._apply_status_change(existing, notice, amount_minor, actor, settings, orphans)
            if outcome.status == Verdict.DUPLICATE:
                outcome.note = _differences(existing, notice, amount_minor)
            return outcome

        record_audit(
            tenant_id,
            actor,
            "payment.recorded",
            "payment",
            payment.id,
            {
                "provider": provider,
                "external_id": notice.external_id,
                "status": payment.status,
                "amount_minor": amount_minor,
                "currency": payment.currency,
            },
        )
        events = [payment_event("payment.received", payment)]
        events += self.reconcile(payment, notice, actor, settings, orphans)
        return Outcome(Verdict.ACCEPTED, payment, events)

    def _apply_status_change(
        self, payment: Payment, notice, amount_minor: int, actor: str, settings, orphans=None
    ) -> Outcome:
        new_status = notice.status.value
        if (payment.status, new_status) not in FORWARD_TRANSITIONS or notice.currency != payment.currency:
            return Outcome(Verdict.DUPLICATE, payment)
        # The final notice's amount is the one that moved (a pending notice may have
        # announced another). Compare-and-set: of two concurrent deliveries of the
        # change, exactly one applies it.
        changed = (
            Payment.update(status=new_status, amount_minor=amount_minor, updated_at=utcnow())
            .where((Payment.id == payment.id) & (Payment.status == payment.status))
            .execute()
        )
        if not changed:
            return Outcome(Verdict.DUPLICATE, Payment.get_by_id(payment.id))
        record_audit(
            payment.tenant_id,
            actor,
            "payment.status_changed",
            "payment",
            payment.id,
            {
                "from": payment.status,
                "to": new_status,
                "amount_minor": amount_minor,
                "previous_amount_minor": payment.amount_minor,
            },
        )
        payment.status = new_status
        payment.amount_minor = amount_minor
        events = [payment_event("payment.received", payment)]
        events += self.reconcile(payment, notice_from_payment(payment), actor, settings, orphans)
        return Outcome(Verdict.ACCEPTED, payment, events)

    def decide(
        self,
        tenant_id: str,
        notice: PaymentNotice,
        settings: ReconciliationSettings,
        *,
        excluded: frozenset[int] = frozenset(),
    ) -> Decision:
        """Which orders the strategies propose for ``notice``, in priority order; reads only.

        The strongest strategy that finds any order decides: one order is a match, several
        are ambiguous, and a weaker strategy does not get to break a tie the stronger one
        could not. ``excluded``: orders a person has unmatched this payment from; a
        strategy that finds only those leaves the payment unmatched (it is not handed to a
        weaker strategy either).
        """
        for matcher in self.matchers:
            if matcher.name in settings.disabled_strategies:
                continue
            found = matcher.candidates(tenant_id, notice, settings)
            if found:
                kept = [order for order in found if order.id not in excluded]
                return Decision(matcher.name, kept, excluded=len(found) - len(kept))
        return Decision(None, [])

    def reconcile(self, payment: Payment, notice: PaymentNotice, actor: str, settings, orphans=None) -> list[dict]:
        """Match a freshly recorded (or newly succeeded) payment and allocate it. ``orphans``:
        the refunds waiting for it, as asked for earlier in this transaction (see
        refunds.waiting_orphans); else they are read here."""
        if payment.status != NoticeStatus.SUCCEEDED.value:
            return settle(payment, Reconciliation.NOT_APPLICABLE, f"{payment.status} payments are not allocated")
        events = self.apply(
            payment, self.decide(payment.tenant_id, notice, settings), payment.amount_minor, actor, settings
        )
        return events + refunds.adopt_orphans(payment, actor, settings, orphans)

    def apply(self, payment: Payment, decision: Decision, amount_minor: int, actor: str, settings) -> list[dict]:
        """Write what ``decision`` means for ``payment``: allocate ``amount_minor`` to the one
        order, or keep the candidates (ambiguous), or leave it unmatched."""
        if decision.order is not None:
            return self._allocate_whole(payment, decision.order, decision.strategy, amount_minor, actor, settings)
        if decision.orders:
            payment.candidates = [o.id for o in decision.orders]
            return settle(payment, Reconciliation.AMBIGUOUS, decision.reason)
        return settle(payment, Reconciliation.UNMATCHED, decision.reason)

    def _allocate_whole(self, payment, order, strategy, amount_minor, actor, settings) -> list[dict]:
        order = lock_order(order.id, read=order)  # matched inside this write transaction
        payment.candidates = [order.id]
        refusal = refusal_reason(payment, order)
        if refusal is not None:
            return settle(payment, Reconciliation.EXCEPTION, refusal)
        # The payment's allocated amount is written with its reconciliation: one update.
        _, order_events = allocate(
            payment, order, amount_minor, matched_by=strategy, actor=actor, settings=settings, save_payment=False
        )
        settle(payment, Reconciliation.MATCHED, f"matched to order {order.reference} by {strategy}", allocated=True)
        return [payment_event("payment.matched", payment, order), *order_events]


@dataclass
class Decision:
    """What the strategies propose for one payment: the strategy that decided (None when
    none found an order) and its orders, less any ``excluded`` by a person."""

    strategy: str | None
    orders: list[SalesOrder]
    excluded: int = 0

    @property
    def order(self) -> SalesOrder | None:
        return self.orders[0] if len(self.orders) == 1 else None

    @property
    def reason(self) -> str:
        if len(self.orders) > 1:
            return f"{len(self.orders)} orders match by {self.strategy}"
        if self.excluded:
            return f"the only orders {self.strategy} finds were unmatched from this payment by hand"
        return "no order matches this payment"


def refusal_reason(payment: Payment, order: SalesOrder) -> str | None:
    """Why ``payment`` may not be applied to the order it matched (an exception), or None."""
    if order.status == OrderStatus.CANCELLED:
        return f"order {order.reference} is cancelled"
    if order.currency != payment.currency:
        return f"payment currency {payment.currency} differs from order {order.reference}'s {order.currency}"
    return None


def _differences(recorded: Payment, notice: PaymentNotice, amount_minor: int) -> str | None:
    """What a repeated notice says differently from the recorded payment (it changes nothing)."""
    notes = []
    if (recorded.amount_minor, recorded.currency) != (amount_minor, notice.currency):
        notes.append(f"amount {notice.amount} {notice.currency} differs from the recorded payment's")
    if recorded.kind != notice.kind.value:
        notes.append(f"a {notice.kind.value} notice reuses the id of a recorded {recorded.kind}")
    elif recorded.status != notice.status.value:
        notes.append(f"status {notice.status.value} ignored: the payment is already {recorded.status}")
    return "; ".join(notes) or None
