"""The reconciliation engine: strategies, allocation, order/payment state. No Flask imports."""

from .engine import Engine
from .matchers import AmountCustomerMatcher, Matcher, ReferenceMatcher, VirtualAccountMatcher
from .order_state import derive_status
from .records import InvalidNotice, Outcome
from .settings import ReconciliationSettings

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
