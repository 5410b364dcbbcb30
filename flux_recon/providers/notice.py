"""The canonical payment notice: the only shape of a payment the engine ever sees."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flux_recon.providers.times import EARLIEST, LATEST, OUT_OF_RANGE


class NoticeKind(enum.StrEnum):
    PAYMENT = "payment"
    REFUND = "refund"
    REVERSAL = "reversal"


class NoticeStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"


class PaymentMethod(enum.StrEnum):
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    USSD = "ussd"
    WALLET = "wallet"
    OTHER = "other"


@dataclass(frozen=True)
class Payer:
    """Who paid, as far as the provider says. Every field is optional."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    customer_id: str | None = None
    account_number: str | None = None
    bank: str | None = None


@dataclass(frozen=True)
class PaymentNotice:
    """One payment event from a provider, mapped onto the canonical fields.

    ``external_id`` is the provider's transaction id and the idempotency key;
    ``references`` are candidate order references, best first; ``amount`` is an exact
    Decimal in ``currency``; ``occurred_at`` is timezone-aware UTC.
    """

    external_id: str
    amount: Decimal
    currency: str
    occurred_at: dt.datetime
    kind: NoticeKind = NoticeKind.PAYMENT
    status: NoticeStatus = NoticeStatus.SUCCEEDED
    method: PaymentMethod = PaymentMethod.OTHER
    references: tuple[str, ...] = ()
    payer: Payer = field(default_factory=Payer)
    destination_account: str | None = None
    parent_external_id: str | None = None
    fee: Decimal | None = None
    settlement_amount: Decimal | None = None
    tenant_hint: str | None = None
    raw: Any = None

    def __post_init__(self):
        # Catch an adapter's mapping mistakes where they are made, not deep in the engine.
        if not isinstance(self.external_id, str) or not self.external_id.strip():
            raise ValueError("PaymentNotice.external_id must be a non-empty string")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError("PaymentNotice.amount must be a finite Decimal")
        if not isinstance(self.occurred_at, dt.datetime) or self.occurred_at.utcoffset() is None:
            raise ValueError("PaymentNotice.occurred_at must be a timezone-aware datetime")
        # The engine computes windows around it: a time near year 1 or 9999 would overflow there.
        if not EARLIEST <= self.occurred_at < LATEST:
            raise ValueError(f"PaymentNotice.occurred_at {OUT_OF_RANGE}: read it with utc_time()")
        if isinstance(self.references, list):
            object.__setattr__(self, "references", tuple(self.references))
        for name, enum_type in (("kind", NoticeKind), ("status", NoticeStatus), ("method", PaymentMethod)):
            object.__setattr__(self, name, enum_type(getattr(self, name)))


@dataclass(frozen=True)
class Ignored:
    """Returned by ``Provider.parse`` for an event that carries no payment.

    The webhook is acknowledged with 200 and ``"status": "ignored"`` so the provider
    stops retrying, and the inbox keeps the request with this reason.
    """

    reason: str


@dataclass(frozen=True)
class Unrecognized:
    """Returned by ``Provider.parse`` for an authenticated webhook whose event type or shape
    the adapter does not know. It may be a payment, so it is never ``Ignored``: the inbox
    keeps it with the verdict ``unrecognized``, it is counted and announced, and it can be
    replayed once the adapter learns the format. The answer's status is the provider's
    ``unrecognized_status``.
    """

    reason: str
