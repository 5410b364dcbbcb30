"""The reconciliation engine: strategies, allocation, order/payment state. No Flask imports."""

from .engine import Engine, InvalidNotice, Outcome
from .matchers import Matcher, ReferenceMatcher
from .order_state import derive_status

__all__ = ["Engine", "InvalidNotice", "Matcher", "Outcome", "ReferenceMatcher", "derive_status"]
