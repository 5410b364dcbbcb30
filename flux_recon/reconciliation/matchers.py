"""Matching strategies: the Matcher contract and the built-in three, registered by hook."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ..hookspecs import hookimpl
from ..models import SalesOrder, reference_key
from ..models.prepared import Param, Prepared
from ..money import to_minor
from ..providers import PaymentNotice
from .settings import ReconciliationSettings

# Enough to show a merchant the competing orders without loading a whole customer history.
MAX_CANDIDATES = 20
OPEN_STATUSES = ("open", "partially_paid")


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
    its cost may not grow with the number of orders."""

    name: ClassVar[str]
    priority: ClassVar[int] = 1000

    def candidates(
        self, tenant_id: str, notice: PaymentNotice, settings: ReconciliationSettings
    ) -> Sequence[SalesOrder]:
        raise NotImplementedError


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
        query = (
            SalesOrder.select()
            .where((SalesOrder.tenant == tenant_id) & (SalesOrder.virtual_account == account))
            .order_by(SalesOrder.id)
            .limit(MAX_CANDIDATES)
        )
        orders = list(query)
        still_open = [order for order in orders if order.status in OPEN_STATUSES]
        return still_open or orders


class AmountCustomerMatcher(Matcher):
    """Exactly one open order of the same customer (customer id, email or phone), in the
    payment's currency, whose outstanding amount equals the payment, created within the
    tenant's window before the payment."""

    name = "amount_customer"
    priority = 300

    def candidates(self, tenant_id, notice, settings):
        payer = notice.payer
        same_customer = []
        if payer.customer_id:
            same_customer.append(SalesOrder.customer_id == payer.customer_id.strip())
        if payer.email:
            same_customer.append(SalesOrder.customer_email == payer.email.strip().lower())
        if payer.phone:
            same_customer.append(SalesOrder.customer_phone == payer.phone.strip())
        if not same_customer:
            return []
        amount_minor = to_minor(notice.amount, notice.currency)
        due = (
            (SalesOrder.tenant == tenant_id)
            & SalesOrder.status.in_(OPEN_STATUSES)
            & (SalesOrder.currency == notice.currency)
            & ((SalesOrder.amount_minor - SalesOrder.amount_paid_minor) == amount_minor)
            & (SalesOrder.created_at >= notice.occurred_at - settings.customer_window)
            & (SalesOrder.created_at <= notice.occurred_at)
        )
        return list(union_by_id(*(SalesOrder.select().where(due & who) for who in same_customer)))


@hookimpl
def flux_recon_register_matchers(register):
    register(ReferenceMatcher())
    register(VirtualAccountMatcher())
    register(AmountCustomerMatcher())
