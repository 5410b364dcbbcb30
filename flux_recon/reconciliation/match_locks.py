"""Locks a payment and an order share when they could match, so neither misses the other.

Under READ COMMITTED a payment recorded while an order is being created does not see the
order, and the order's look-up of open payments does not see the payment: both would commit
and never meet. Each side first takes a transaction-scoped lock on every value a strategy
could match it by (reference keys, the account paid into, the customer's id, email and
phone); a payment and an order that could match share at least one, so whichever commits
second reads after the first committed and finds it. SQLite runs one writer at a time, so
there nothing is taken.
"""

from __future__ import annotations

from collections.abc import Iterable

from flux_recon.models import SalesOrder, db, reference_key
from flux_recon.models.transactions import advisory_key, is_sqlite
from flux_recon.providers import PaymentNotice
from flux_recon.reconciliation.records import customer_keys


def lock_match_keys(tenant_id: str, keys: Iterable[tuple[str, str]]) -> None:
    """Wait for, then hold until the transaction ends, the lock of each (kind, value): one
    statement, the locks taken in one global order so two takers never deadlock."""
    if is_sqlite():
        return
    ids = sorted({advisory_key("match", tenant_id, kind, value) for kind, value in keys if value})
    if ids:
        # unnest yields the sorted array in order, and each row takes its lock in turn.
        db.execute_sql("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", (ids,))


def notice_keys(notice: PaymentNotice) -> list[tuple[str, str]]:
    """What a payment notice could be matched by."""
    payer = notice.payer
    return [
        *(("reference", reference_key(r)) for r in notice.references if isinstance(r, str)),
        ("account", (notice.destination_account or "").strip()),
        *customer_keys(payer.customer_id, payer.email, payer.phone),
    ]


def order_keys(*orders: SalesOrder | None) -> list[tuple[str, str]]:
    """What an order (as it is, and as it was before a change) could be matched by."""
    keys: list[tuple[str, str]] = []
    for order in orders:
        if order is None:
            continue
        keys += [
            ("reference", order.reference_key),
            ("reference", order.payment_reference_key),
            ("account", (order.virtual_account or "").strip()),
            *customer_keys(order.customer_id, order.customer_email, order.customer_phone),
        ]
    return keys
