"""Payments: reading a tenant's payments, and matching, splitting and unmatching them by hand."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal

import peewee
from peewee import SQL, NodeList, Value, fn

from flux_recon.models import Allocation, Payment, SalesOrder, Settlement, SettlementLine
from flux_recon.models.audit_log import record_audit
from flux_recon.money import MoneyError, parse_amount
from flux_recon.outbound.outbox import publishing
from flux_recon.reconciliation import manual
from flux_recon.reconciliation.manual import ManualChangeRefused
from flux_recon.services.errors import Conflict, Invalid
from flux_recon.services.orders import get_order
from flux_recon.services.owned import get_owned


def get_payment(tenant_id: str, payment_id: int) -> Payment:
    """The tenant's payment, or NotFound."""
    return get_owned(Payment, payment_id, "payment", tenant_id)


def carries_reference(reference: str):
    """The reference, quoted as it sits in the stored JSON array, found by LIKE with its
    wildcards escaped: a text search, fine for a filter (matching itself never scans)."""
    quoted = json.dumps(reference).lower()
    escaped = quoted.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    # Value(converter=False) keeps JSONField from encoding the pattern a second time.
    pattern = Value(f"%{escaped}%", converter=False)
    return NodeList((fn.LOWER(Payment.references), SQL("LIKE"), pattern, SQL("ESCAPE '!'")))


def list_payments(
    tenant_id: str,
    *,
    reconciliation: list[str] | None = None,
    status: str | None = None,
    provider: str | None = None,
    kind: str | None = None,
    reference: str | None = None,
    order_id: int | None = None,
    received_from: dt.datetime | None = None,
    received_to: dt.datetime | None = None,
    currency: str | None = None,
) -> peewee.ModelSelect:
    """The tenant's payments, newest first: a query the caller pages through.

    ``reconciliation`` is any of several states (the review queue is several),
    ``reference`` one the payment carried, ``order_id`` an order it is allocated to;
    ``received_from`` is inclusive, ``received_to`` not.
    """
    query = Payment.select().where(Payment.tenant == tenant_id)
    if reconciliation:
        query = query.where(Payment.reconciliation.in_(reconciliation))
    for column, value in (
        (Payment.status, status),
        (Payment.provider, provider),
        (Payment.kind, kind),
        (Payment.currency, currency),
    ):
        if value is not None:
            query = query.where(column == value)
    if reference is not None:
        query = query.where(carries_reference(reference))
    if order_id is not None:
        query = query.where(Payment.id.in_(Allocation.select(Allocation.payment).where(Allocation.order == order_id)))
    if received_from is not None:
        query = query.where(Payment.received_at >= received_from)
    if received_to is not None:
        query = query.where(Payment.received_at < received_to)
    return query.order_by(Payment.id.desc())


def _change_by_hand(tenant_id: str, payment_id: int, plugin_manager, change: Callable[[], list[dict]]) -> Payment:
    """Run a manual change in one transaction, refuse it (Conflict) if it breaks a rule, and
    hand the resulting events to plugins after the commit. Returns the payment as it is now."""
    get_payment(tenant_id, payment_id)
    try:
        with publishing(plugin_manager) as events:
            events += change()
    except ManualChangeRefused as refused:
        raise Conflict(str(refused)) from None
    return get_payment(tenant_id, payment_id)


def match_payment(
    tenant_id: str,
    actor: str,
    payment_id: int,
    order_id: int,
    plugin_manager,
    *,
    amount: Decimal | str | None = None,
    reason: str = "",
) -> Payment:
    """Allocate ``amount`` of a payment (default: all that is unallocated) to an order by hand;
    repeat with other orders to split it. Raises NotFound for the order or the payment,
    Invalid for an amount the order's currency cannot hold, Conflict when a rule forbids it
    (not a succeeded payment, a cancelled order or one in another currency, too large an amount)."""
    order = get_order(tenant_id, order_id)
    amount_minor = None
    if amount is not None:
        try:
            amount_minor = parse_amount(amount, order.currency)
        except MoneyError as exc:
            raise Invalid(str(exc), {"amount": [str(exc)]}) from None
    return _change_by_hand(
        tenant_id,
        payment_id,
        plugin_manager,
        lambda: _match(tenant_id, actor, payment_id, order, amount_minor, reason),
    )


def _match(tenant_id: str, actor: str, payment_id: int, order, amount_minor: int | None, reason: str) -> list[dict]:
    """One manual match, with the person's reason in the audit log (the payment's own
    reconciliation reason is overwritten by whatever happens to it next)."""
    events = manual.match(payment_id, order, amount_minor, actor=actor, reason=reason)
    details = {"order_id": order.id, "order_reference": order.reference, "reason": reason}
    record_audit(tenant_id, actor, "payment.matched_by_hand", "payment", payment_id, details)
    return events


def split_payment(
    tenant_id: str,
    actor: str,
    payment_id: int,
    parts: list[tuple[int, Decimal | str]],
    plugin_manager,
    *,
    reason: str = "",
) -> Payment:
    """Allocate parts of a payment to several orders at once (``parts``: order id and
    amount), all or nothing: one transaction, each part a manual match with its rules and
    audit entries. Raises Invalid for no parts, an order named twice or an amount its
    order's currency cannot hold, NotFound for an order, Conflict when a part breaks a rule."""
    if not parts:
        raise Invalid("name at least one order and amount", {"parts": ["at least one order and amount"]})
    order_ids = [order_id for order_id, _ in parts]
    if len(set(order_ids)) != len(order_ids):
        raise Invalid("each order once: an order is named twice", {"parts": ["an order is named twice"]})
    allocations = []
    for order_id, amount in parts:
        order = get_order(tenant_id, order_id)
        try:
            allocations.append((order, parse_amount(amount, order.currency)))
        except MoneyError as exc:
            raise Invalid(f"order {order.reference}: {exc}", {"amount": [str(exc)]}) from None

    def change() -> list[dict]:
        events: list[dict] = []
        for order, amount_minor in allocations:
            events += _match(tenant_id, actor, payment_id, order, amount_minor, reason)
        return events

    return _change_by_hand(tenant_id, payment_id, plugin_manager, change)


def payment_allocations(payment: Payment, *, limit: int = 200) -> list[Allocation]:
    """The payment's allocations, live and released, oldest first, each with its order."""
    query = (
        Allocation.select(Allocation, SalesOrder)
        .join(SalesOrder)
        .where(Allocation.payment == payment.id)
        .order_by(Allocation.id)
        .limit(limit)
    )
    return list(query)


def settlement_line(payment: Payment) -> SettlementLine | None:
    """The settlement line that settled the payment (with its settlement), or None."""
    if payment.settlement_line_id is None:
        return None
    query = SettlementLine.select(SettlementLine, Settlement).join(Settlement)
    return query.where(
        (SettlementLine.id == payment.settlement_line_id) & (SettlementLine.tenant == payment.tenant_id)
    ).first()


def unmatch_payment(
    tenant_id: str, actor: str, payment_id: int, plugin_manager, *, order_id: int | None = None, reason: str = ""
) -> Payment:
    """Release a payment's live allocations (only those to ``order_id`` if given); the payment
    then waits in the review queue. Raises NotFound, or Conflict when nothing is allocated."""
    if order_id is not None:
        get_order(tenant_id, order_id)
    return _change_by_hand(
        tenant_id, payment_id, plugin_manager, lambda: manual.unmatch(payment_id, order_id, actor=actor, reason=reason)
    )
