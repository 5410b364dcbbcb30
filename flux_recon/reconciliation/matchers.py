"""Matching strategies: the Matcher contract and the built-in three, registered by hook."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import ClassVar

from flux_recon.core.states import OrderStatus, PaymentStatus, Reconciliation
from flux_recon.hookspecs import hookimpl
from flux_recon.models import Payment, PaymentMatchKey, SalesOrder, reference_key
from flux_recon.models.prepared import Param, Prepared
from flux_recon.money import to_minor
from flux_recon.providers import NoticeKind, PaymentNotice
from flux_recon.reconciliation.records import customer_keys
from flux_recon.reconciliation.rules import ReconciliationSettings

# Enough to show a merchant the competing orders without loading a whole customer history.
MAX_CANDIDATES = 20
OPEN_STATUSES = (OrderStatus.OPEN, OrderStatus.PARTIALLY_PAID)
# Open payments one strategy hands a new or changed order (instalments paid before the
# order existed, say); more wait for a reconciliation run.
MAX_OPEN_PAYMENTS = 100
# Payments waiting for an order: succeeded payments (not refunds), nothing allocated yet.
OPEN_RECONCILIATION = (Reconciliation.UNMATCHED, Reconciliation.AMBIGUOUS)


def open_payment(tenant_id: str):
    """A query of the tenant's payments still waiting for an order; a strategy's
    ``open_payments`` narrows it by an index of its own."""
    return Payment.select().where(
        (Payment.tenant == tenant_id)
        & (Payment.kind == NoticeKind.PAYMENT.value)
        & (Payment.status == PaymentStatus.SUCCEEDED.value)
        & Payment.reconciliation.in_(OPEN_RECONCILIATION)
        & (Payment.allocated_minor == 0)
    )


def union_by_id(*lookups):
    """The union of indexed lookups, lowest ids first, at most MAX_CANDIDATES.

    An OR across columns that each have their own index (``reference_key = ? OR
    payment_reference_key = ?``) makes the planner walk every order of the tenant, so
    matching slows down as orders accumulate; a UNION keeps each lookup on its index.
    """
    query = lookups[0]
    for lookup in lookups[1:]:
        query = query | lookup
    return query.order_by(SalesOrder.id).limit(MAX_CANDIDATES)


def _named_by(tenant, keys):
    """Orders whose reference or payment reference is one of ``keys``, each column on its index."""
    in_tenant = SalesOrder.tenant == tenant
    return union_by_id(
        SalesOrder.select().where(in_tenant & SalesOrder.reference_key.in_(keys)),
        SalesOrder.select().where(in_tenant & SalesOrder.payment_reference_key.in_(keys)),
    )


# The lookup prepared once per number of keys (a notice carries one reference or a few);
# more distinct references than PREPARED_REFERENCES are looked up unprepared.
PREPARED_REFERENCES = 8
_NAMED_BY = {
    count: Prepared(lambda count=count: _named_by(Param("tenant"), [Param(f"key{n}") for n in range(count)]))
    for count in range(1, PREPARED_REFERENCES + 1)
}


class Matcher:
    """A reconciliation strategy. Subclass it, set ``name`` and ``priority`` (lower runs
    first) and implement ``candidates``, which returns the orders this strategy thinks the
    notice pays: none, one (a match) or several (ambiguous). It must be an indexed query:
    its cost may not grow with the number of orders.

    ``open_payments`` is the other direction: the open payments (``open_payment(tenant)``
    narrows a query to them) that this strategy might give to ``order``, for when an order
    is created or changed. Each found payment is then matched again by every strategy, in
    priority order, so it only has to find, not decide. Also an indexed query: its cost may
    not grow with the number of payments. The default finds none (such a strategy still
    takes part when a payment is matched again, e.g. by a reconciliation run)."""

    name: ClassVar[str]
    priority: ClassVar[int] = 1000

    def candidates(
        self, tenant_id: str, notice: PaymentNotice, settings: ReconciliationSettings
    ) -> Sequence[SalesOrder]:
        raise NotImplementedError

    def open_payments(self, order: SalesOrder, settings: ReconciliationSettings) -> Sequence[Payment]:
        return ()


class ReferenceMatcher(Matcher):
    """A notice reference equals an order's ``reference`` or ``payment_reference``
    (trimmed, case-insensitive). References are tried best first: the first one that names
    any order decides, so a weaker second reference cannot make a clear match ambiguous."""

    name = "reference"
    priority = 100

    def candidates(self, tenant_id, notice, settings):
        keys = list(dict.fromkeys(key for key in map(reference_key, notice.references) if key))
        if not keys:
            return []
        # One query for all references (then best first below).
        if len(keys) <= PREPARED_REFERENCES:
            orders = _NAMED_BY[len(keys)].rows(tenant=tenant_id, **{f"key{n}": key for n, key in enumerate(keys)})
        else:
            orders = list(_named_by(tenant_id, keys))
        for key in keys:
            named = [o for o in orders if key in (o.reference_key, o.payment_reference_key)]
            if named:
                return named
        return []

    def open_payments(self, order, settings):
        keys = [key for key in dict.fromkeys((order.reference_key, order.payment_reference_key)) if key]
        return _open_payments_keyed(order, "reference", keys)


class VirtualAccountMatcher(Matcher):
    """The account paid into equals an order's ``virtual_account``.

    A customer's reserved account may serve several orders: the ones still open are the
    candidates; if none is open, every order on that account is (so a payment to a paid
    order's account shows as an overpayment, to a cancelled one as an exception).
    """

    name = "virtual_account"
    priority = 200

    def candidates(self, tenant_id, notice, settings):
        account = (notice.destination_account or "").strip()
        if not account:
            return []
        orders = _ON_ACCOUNT.rows(tenant=tenant_id, account=account)
        still_open = [order for order in orders if order.status in OPEN_STATUSES]
        return still_open or orders

    def open_payments(self, order, settings):
        account = (order.virtual_account or "").strip()
        if not account:
            return []
        return list(
            open_payment(order.tenant_id)
            .where(Payment.destination_account == account)
            .order_by(Payment.id)
            .limit(MAX_OPEN_PAYMENTS)
        )


class AmountCustomerMatcher(Matcher):
    """Exactly one open order of the same customer (customer id, email or phone), in the
    payment's currency, whose outstanding amount equals the payment, created within the
    tenant's window of the payment's time, before or after it: which of the two came first
    (or which clock was a little behind) does not decide a match."""

    name = "amount_customer"
    priority = 300

    def candidates(self, tenant_id, notice, settings):
        payer = notice.payer
        known = {
            "customer_id": payer.customer_id and payer.customer_id.strip(),
            "customer_email": payer.email and payer.email.strip().lower(),
            "customer_phone": payer.phone and payer.phone.strip(),
        }
        known = {column: value for column, value in known.items() if value}
        if not known:
            return []
        return _DUE_FROM_CUSTOMER[tuple(known)].rows(
            tenant=tenant_id,
            currency=notice.currency,
            amount_minor=to_minor(notice.amount, notice.currency),
            since=notice.occurred_at - settings.customer_window,
            until=notice.occurred_at + settings.customer_window,
            **known,
        )

    def open_payments(self, order, settings):
        if order.status not in OPEN_STATUSES or order.outstanding_minor <= 0:
            return []
        # Through the payer's keys (a customer's few payments), not the amount: many
        # payments share an amount, so that index would grow with the table.
        due = (
            (Payment.currency == order.currency)
            & (Payment.amount_minor == order.outstanding_minor)
            & Payment.occurred_at.between(
                order.created_at - settings.customer_window, order.created_at + settings.customer_window
            )
        )
        found: dict[int, Payment] = {}
        for kind, value in customer_keys(order.customer_id, order.customer_email, order.customer_phone):
            for payment in _open_payments_keyed(order, kind, [value], due):
                found.setdefault(payment.id, payment)
        return [found[payment_id] for payment_id in sorted(found)][:MAX_OPEN_PAYMENTS]


def _open_payments_keyed(order: SalesOrder, kind: str, values: list[str], *conditions) -> list[Payment]:
    """Open payments of the order's tenant with a match key of ``kind`` among ``values``."""
    if not values:
        return []
    query = (
        open_payment(order.tenant_id)
        .join(PaymentMatchKey, on=(PaymentMatchKey.payment == Payment.id))
        .where(
            (PaymentMatchKey.tenant == order.tenant_id)
            & (PaymentMatchKey.kind == kind)
            & PaymentMatchKey.value.in_(values)
        )
    )
    for condition in conditions:
        query = query.where(condition)
    return list(query.order_by(Payment.id).limit(MAX_OPEN_PAYMENTS))


def _due_from_customer(columns: tuple[str, ...]):
    """Open orders in the currency whose outstanding amount is the payment's, created in the
    window, of the customer named by any of ``columns``: one indexed lookup per column."""
    due = (
        (SalesOrder.tenant == Param("tenant"))
        & SalesOrder.status.in_(OPEN_STATUSES)
        & (SalesOrder.currency == Param("currency"))
        & ((SalesOrder.amount_minor - SalesOrder.amount_paid_minor) == Param("amount_minor"))
        & (SalesOrder.created_at >= Param("since"))
        & (SalesOrder.created_at <= Param("until"))
    )
    lookups = [SalesOrder.select().where(due & (getattr(SalesOrder, c) == Param(c))) for c in columns]
    return union_by_id(*lookups)


_ON_ACCOUNT = Prepared(
    lambda: (
        SalesOrder.select()
        .where((SalesOrder.tenant == Param("tenant")) & (SalesOrder.virtual_account == Param("account")))
        .order_by(SalesOrder.id)
        .limit(MAX_CANDIDATES)
    )
)
# Prepared for each combination of customer fields a payer may carry (in this order).
_DUE_FROM_CUSTOMER = {
    columns: Prepared(lambda columns=columns: _due_from_customer(columns))
    for size in (1, 2, 3)
    for columns in itertools.combinations(("customer_id", "customer_email", "customer_phone"), size)
}


@hookimpl
def flux_recon_register_matchers(register):
    register(ReferenceMatcher())
    register(VirtualAccountMatcher())
    register(AmountCustomerMatcher())
