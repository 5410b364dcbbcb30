"""The reconciliation engine: strategies, allocation, order/payment state. No Flask imports."""

from flux_recon.reconciliation.engine import Engine
from flux_recon.reconciliation.matchers import AmountCustomerMatcher, Matcher, ReferenceMatcher, VirtualAccountMatcher
from flux_recon.reconciliation.order_state import derive_status
from flux_recon.reconciliation.records import InvalidNotice, Outcome
from flux_recon.reconciliation.rules import ReconciliationSettings

__all__ = [
    "AmountCustomerMatcher",
    "Engine",
    "InvalidNotice",
    "Matcher",
    "Outcome",
    "ReconciliationSettings",
    "ReferenceMatcher",
    "VirtualAccountMatcher",
    "derive_status",
]
