"""Matching strategies: the Matcher contract and the built-in strategies, registered by hook."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ..hookspecs import hookimpl
from ..models import SalesOrder, reference_key
from ..providers import PaymentNotice

# Enough to show a merchant the competing orders without loading a whole customer history.
MAX_CANDIDATES = 20


class Matcher:
    """A reconciliation strategy. Subclass it, set ``name`` and ``priority`` (lower runs
    first) and implement ``candidates``, which returns the orders this strategy thinks the
    notice pays: none, one (a match) or several (ambiguous). It must be an indexed query."""

    name: ClassVar[str]
    priority: ClassVar[int] = 1000

    def candidates(self, tenant_id: str, notice: PaymentNotice) -> Sequence[SalesOrder]:
        raise NotImplementedError


class ReferenceMatcher(Matcher):
    """A notice reference equals an order's ``reference`` or ``payment_reference``
    (trimmed, case-insensitive)."""

    name = "reference"
    priority = 100

    def candidates(self, tenant_id, notice):
        keys = {key for key in map(reference_key, notice.references) if key}
        if not keys:
            return []
        keys = sorted(keys)
        query = (
            SalesOrder.select()
            .where(
                (SalesOrder.tenant == tenant_id)
                & (SalesOrder.reference_key.in_(keys) | SalesOrder.payment_reference_key.in_(keys))
            )
            .order_by(SalesOrder.id)
            .limit(MAX_CANDIDATES)
        )
        return list(query)


@hookimpl
def flux_recon_register_matchers(register):
    register(ReferenceMatcher())
