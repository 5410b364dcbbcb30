"""The states a payment, an order, a delivery and an inbox record can be in, as StrEnums:
they compare equal to their stored strings, and a misspelt state is an AttributeError."""

from __future__ import annotations

import enum


class PaymentStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"
    # A succeeded payment may later become reversed (whole) or refunded (in full).
    REVERSED = "reversed"
    REFUNDED = "refunded"


class Reconciliation(enum.StrEnum):
    """How far a payment (or a refund) is linked to orders."""

    # Fully allocated (a refund: applied to its payment).
    MATCHED = "matched"
    # Split by hand and not yet fully allocated.
    PARTIALLY_MATCHED = "partially_matched"
    # No order found (or unmatched by a person).
    UNMATCHED = "unmatched"
    # Several candidate orders.
    AMBIGUOUS = "ambiguous"
    # Found but not applicable (currency, cancelled order).
    EXCEPTION = "exception"
    # A refund or reversal of a payment never seen.
    ORPHAN = "orphan"
    # Failed or pending payments, never allocated.
    NOT_APPLICABLE = "not_applicable"


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"
    CANCELLED = "cancelled"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERING = "delivering"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Verdict(enum.StrEnum):
    """What became of one request to a webhook URL (the inbox's verdict)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    # Authenticated, but of a type or shape its plugin does not know: kept, counted,
    # announced and replayable, since it may be a payment (never "ignored").
    UNRECOGNIZED = "unrecognized"
    IGNORED = "ignored"
    REJECTED_ADDRESS = "rejected_address"
    REJECTED_SIGNATURE = "rejected_signature"
    INVALID_PAYLOAD = "invalid_payload"
    # An auth check could not reach what it verifies against (503: the provider retries).
    VERIFICATION_UNAVAILABLE = "verification_unavailable"
