"""Suggested orders for an unmatched payment: ranked, with the evidence behind each score, and
never applied on their own. Accepting one is a manual match; declining one is remembered."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import SQL

from flux_recon.core.states import OrderStatus, PaymentStatus, Reconciliation
from flux_recon.models import Payment, SalesOrder
from flux_recon.models.audit_log import record_audit
from flux_recon.models.exception_decision import SuggestionDecline, compact_sql
from flux_recon.models.prepared import PreparedInsert
from flux_recon.models.transactions import write_transaction
from flux_recon.money import format_minor
from flux_recon.providers import NoticeKind
from flux_recon.services import payments
from flux_recon.services.errors import Conflict
from flux_recon.services.orders import get_order

# Each lookup reads at most this many orders, so a suggestion costs a few bounded, indexed
# queries however many orders the tenant has.
LOOKUP_LIMIT = 20
DEFAULT_LIMIT = 5
# A payment's first few references are looked up; providers send one or two.
MAX_REFERENCES = 5
SUGGESTIBLE = (Reconciliation.UNMATCHED, Reconciliation.AMBIGUOUS)
OPEN_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIALLY_PAID)

# What each kind of evidence is worth. A score is their sum (at most 100): a reader can
# add up the evidence lines and get the score.
POINTS = {
    "reference": 50,
    "amount": 25,
    "customer_id": 20,
    "email": 20,
    "phone": 20,
    "name": 10,
    "time": 10,
}
CLOSE_IN_TIME = dt.timedelta(days=1)
NEAR_IN_TIME = dt.timedelta(days=7)
# Declining twice is one decline: the unique (payment, order) key settles it.
_insert_decline = PreparedInsert(
    SuggestionDecline, conflict_target=[SuggestionDecline.payment, SuggestionDecline.order]
)


def compact(reference: str | None) -> str:
    """A reference as suggestions compare it: case-folded, letters and digits only
    ("INV-1001", "inv 1001" and "INV1001" are all "inv1001")."""
    return "".join(ch for ch in (reference or "").casefold() if ch.isalnum())


@dataclass(frozen=True)
class Evidence:
    kind: str
    points: int
    detail: str


@dataclass(frozen=True)
class Suggestion:
    order: SalesOrder
    score: int
    evidence: tuple[Evidence, ...]

    def summary(self) -> str:
        return "; ".join(item.detail for item in self.evidence)


def unallocated_minor(payment: Payment) -> int:
    return payment.amount_minor - payment.refunded_minor - payment.allocated_minor


def _suggestible(payment: Payment) -> None:
    if (
        payment.kind != NoticeKind.PAYMENT
        or payment.status != PaymentStatus.SUCCEEDED
        or payment.reconciliation not in SUGGESTIBLE
    ):
        raise Conflict(
            f"payment {payment.id} is a {payment.status} {payment.kind}, {payment.reconciliation}: "
            "suggestions are made for succeeded payments that are unmatched or ambiguous"
        )


def suggest(tenant_id: str, payment_id: int, *, limit: int = DEFAULT_LIMIT) -> tuple[Payment, list[Suggestion]]:
    """The tenant's payment and its best ``limit`` suggestions, best first. NotFound for
    another tenant's payment; Conflict for one that is not unmatched or ambiguous."""
    payment = payments.get_payment(tenant_id, payment_id)
    _suggestible(payment)
    return payment, rank(payment, limit=limit)


def rank(payment: Payment, *, limit: int | None = DEFAULT_LIMIT) -> list[Suggestion]:
    """Candidate orders of the payment's tenant and currency, scored, best first (ties:
    the older order first); declined ones and orders no evidence links are left out."""
    scored = [_score(payment, order) for order in _candidates(payment)]
    scored = [s for s in scored if s.evidence]
    scored.sort(key=lambda s: (-s.score, s.order.created_at, s.order.id))
    return scored if limit is None else scored[:limit]


def _candidates(payment: Payment) -> list[SalesOrder]:
    """Orders found by indexed lookups: compact reference, open amount, customer, and the
    engine's own candidates; each lookup bounded by LOOKUP_LIMIT."""
    declined = SuggestionDecline.select(SuggestionDecline.order).where(SuggestionDecline.payment == payment.id)
    base = (
        (SalesOrder.tenant == payment.tenant_id)
        & (SalesOrder.currency == payment.currency)
        & SalesOrder.id.not_in(declined)
    )
    lookups = []
    keys = list(dict.fromkeys(key for key in map(compact, (payment.references or [])[:MAX_REFERENCES]) if key))
    for column in (SalesOrder.reference_key, SalesOrder.payment_reference_key):
        for key in keys:
            lookups.append(base & (compact_sql(column) == key) & SalesOrder.status.in_(OPEN_STATUSES))
    amount = unallocated_minor(payment)
    # The literal 'open' lets the planner use the partial index of open orders by amount.
    lookups.append(base & (SalesOrder.status == SQL("'open'")) & (SalesOrder.amount_minor == amount))
    lookups.append(
        base
        & (SalesOrder.status == OrderStatus.PARTIALLY_PAID)
        & ((SalesOrder.amount_minor - SalesOrder.amount_paid_minor) == amount)
    )
    for column, value in _customer(payment).items():
        lookups.append(base & (column == value) & SalesOrder.status.in_(OPEN_STATUSES))
    if payment.candidates:
        lookups.append(base & SalesOrder.id.in_(payment.candidates[:LOOKUP_LIMIT]))
    found: dict[int, SalesOrder] = {}
    for condition in lookups:
        for order in SalesOrder.select().where(condition).order_by(SalesOrder.id).limit(LOOKUP_LIMIT):
            found.setdefault(order.id, order)
    return list(found.values())


def _customer(payment: Payment) -> dict:
    """The payer's identifiers in the form orders store them (email lowercased, all trimmed)."""
    known = {
        SalesOrder.customer_id: payment.payer_customer_id and payment.payer_customer_id.strip(),
        SalesOrder.customer_email: payment.payer_email and payment.payer_email.strip().lower(),
        SalesOrder.customer_phone: payment.payer_phone and payment.payer_phone.strip(),
    }
    return {column: value for column, value in known.items() if value}


def _digits(text: str | None) -> str:
    return "".join(ch for ch in (text or "") if ch.isdigit())


def _words(text: str | None) -> str:
    return " ".join((text or "").casefold().split())


def _score(payment: Payment, order: SalesOrder) -> Suggestion:
    evidence = [*_reference_evidence(payment, order)]
    money = format_minor(unallocated_minor(payment), payment.currency)
    if order.outstanding_minor == unallocated_minor(payment):
        evidence.append(Evidence("amount", POINTS["amount"], f"same amount {money} {payment.currency}"))
    evidence += _customer_evidence(payment, order)
    evidence += _time_evidence(payment, order)
    return Suggestion(order, min(sum(item.points for item in evidence), 100), tuple(evidence))


def _reference_evidence(payment: Payment, order: SalesOrder) -> list[Evidence]:
    order_keys = {compact(order.reference): order.reference, compact(order.payment_reference): order.payment_reference}
    order_keys.pop("", None)
    for reference in payment.references or []:
        named = order_keys.get(compact(reference))
        if named:
            relation = "=" if reference.strip().casefold() == named.strip().casefold() else "≈"
            return [Evidence("reference", POINTS["reference"], f"reference {reference} {relation} order {named}")]
    return []


def _customer_evidence(payment: Payment, order: SalesOrder) -> list[Evidence]:
    evidence = []
    pairs = (
        ("customer_id", payment.payer_customer_id, order.customer_id, str.strip),
        ("email", payment.payer_email, order.customer_email, lambda v: v.strip().lower()),
        ("phone", payment.payer_phone, order.customer_phone, _digits),
        ("name", payment.payer_name, order.customer_name, _words),
    )
    for kind, paid_by, ordered_by, normal in pairs:
        if paid_by and ordered_by and normal(paid_by) and normal(paid_by) == normal(ordered_by):
            label = kind.replace("_", " ")
            evidence.append(Evidence(kind, POINTS[kind], f"same customer {label} {ordered_by}"))
    return evidence


def _time_evidence(payment: Payment, order: SalesOrder) -> list[Evidence]:
    gap = abs(payment.occurred_at - order.created_at)
    when = "before" if payment.occurred_at < order.created_at else "after"
    hours = gap.total_seconds() / 3600
    span = f"{hours:.0f} h" if hours < 48 else f"{gap.days} days"
    if gap <= CLOSE_IN_TIME:
        return [Evidence("time", POINTS["time"], f"paid {span} {when} the order was created")]
    if gap <= NEAR_IN_TIME:
        return [Evidence("time", POINTS["time"] // 2, f"paid {span} {when} the order was created")]
    return []


def accept(
    tenant_id: str, actor: str, payment_id: int, order_id: int, plugin_manager, *, note: str = ""
) -> tuple[Payment, Suggestion]:
    """Match the payment to a suggested order by hand (the same operation as a manual match,
    with its rules and audit entries); Conflict if the order is not a suggestion now."""
    payment = payments.get_payment(tenant_id, payment_id)
    get_order(tenant_id, order_id)
    _suggestible(payment)
    suggestion = next((s for s in rank(payment, limit=None) if s.order.id == order_id), None)
    if suggestion is None:
        raise Conflict(
            f"order {order_id} is not a suggestion for payment {payment_id} (declined, or nothing links them); "
            "match it by hand instead"
        )
    reason = f"suggestion accepted (score {suggestion.score}: {suggestion.summary()})" + (f"; {note}" if note else "")
    matched = payments.match_payment(tenant_id, actor, payment_id, order_id, plugin_manager, reason=reason)
    with write_transaction():
        record_audit(
            tenant_id,
            actor,
            "suggestion.accepted",
            "payment",
            payment_id,
            {"order_id": order_id, "score": suggestion.score, "evidence": _evidence_json(suggestion), "note": note},
        )
    return matched, suggestion


def decline(tenant_id: str, actor: str, payment_id: int, order_id: int, *, note: str = "") -> SuggestionDecline:
    """Remember that the order is not the one this payment pays: it is never suggested for
    it again. Declining twice keeps the first decline (and answers with it)."""
    payments.get_payment(tenant_id, payment_id)
    get_order(tenant_id, order_id)
    with write_transaction():
        inserted = _insert_decline(tenant=tenant_id, payment=payment_id, order=order_id, note=note, actor=actor)
        if inserted is not None:
            record_audit(
                tenant_id, actor, "suggestion.declined", "payment", payment_id, {"order_id": order_id, "note": note}
            )
    return SuggestionDecline.get((SuggestionDecline.payment == payment_id) & (SuggestionDecline.order == order_id))


def declined_orders(payment_id: int) -> list[int]:
    """Ids of the orders declined for this payment, oldest decline first."""
    query = (
        SuggestionDecline.select(SuggestionDecline.order)
        .where(SuggestionDecline.payment == payment_id)
        .order_by(SuggestionDecline.id)
    )
    return [row.order_id for row in query]


def _evidence_json(suggestion: Suggestion) -> list[dict]:
    return [{"kind": e.kind, "points": e.points, "detail": e.detail} for e in suggestion.evidence]
