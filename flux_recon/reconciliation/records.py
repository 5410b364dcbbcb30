"""Payment rows: exact amounts, the idempotent insert, reconciliation state, the Outcome."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from flux_recon.core.domain_events import payment_event
from flux_recon.core.states import Reconciliation, Verdict
from flux_recon.models import Payment, PaymentMatchKey, Tenant, reference_key, utcnow
from flux_recon.models.order import KEY_LENGTH
from flux_recon.models.prepared import PreparedInsert, PreparedUpdate
from flux_recon.money import MoneyError, from_minor, normalize_currency, to_minor
from flux_recon.providers import NoticeKind, Payer, PaymentNotice
from flux_recon.reconciliation.rules import ReconciliationSettings

MAX_EXTERNAL_ID = 180


class InvalidNotice(ValueError):
    """The notice cannot be recorded (an amount or currency that is not exact)."""

    def __init__(self, message: str, field_name: str):
        super().__init__(message)
        self.message = message
        self.field = field_name


@dataclass
class Outcome:
    """What the engine did with one notice."""

    status: Verdict  # accepted (new or changed) or duplicate (no effect)
    payment: Payment
    events: list[dict] = field(default_factory=list)
    # Why a duplicate deserves a look (it differs from what was recorded); kept in the inbox.
    note: str | None = None

    @property
    def reconciliation(self) -> str:
        return self.payment.reconciliation


def exact(notice: PaymentNotice) -> tuple[PaymentNotice, int]:
    """The notice with a normalized currency, and its amount in minor units; or InvalidNotice."""
    try:
        currency = normalize_currency(notice.currency)
    except MoneyError as exc:
        raise InvalidNotice(str(exc), "currency") from None
    try:
        amount_minor = to_minor(notice.amount, currency)
        for name in ("fee", "settlement_amount"):
            if getattr(notice, name) is not None:
                to_minor(getattr(notice, name), currency)
    except MoneyError as exc:
        raise InvalidNotice(str(exc), "amount") from None
    if amount_minor <= 0:
        raise InvalidNotice("amount must be greater than zero", "amount")
    for name in ("external_id", "parent_external_id"):
        # Room is kept for the ":reversal" suffix a same-id reversal is stored under.
        if len(getattr(notice, name) or "") > MAX_EXTERNAL_ID:
            raise InvalidNotice(f"{name} is longer than {MAX_EXTERNAL_ID} characters", name)
    return dataclasses.replace(notice, currency=currency), amount_minor


def tenant_settings(tenant_id: str) -> ReconciliationSettings:
    stored = Tenant.select(Tenant.settings).where(Tenant.id == tenant_id).scalar()
    return ReconciliationSettings.from_json(stored)


# The idempotency key, as the unique index declares it.
PAYMENT_KEY = [Payment.tenant, Payment.provider, Payment.external_id]
_insert_payment = PreparedInsert(Payment, conflict_target=PAYMENT_KEY)
_RECONCILIATION_FIELDS = [Payment.reconciliation, Payment.reconciliation_reason, Payment.candidates, Payment.updated_at]
_save_reconciliation = PreparedUpdate(Payment, _RECONCILIATION_FIELDS)
_save_reconciliation_allocated = PreparedUpdate(Payment, [Payment.allocated_minor, *_RECONCILIATION_FIELDS])


def insert_payment(tenant_id, provider, notice: PaymentNotice, amount_minor: int, integration_id) -> Payment | None:
    """Insert the payment row; None if (tenant, provider, external_id) already exists.

    ``ON CONFLICT DO NOTHING``: a duplicate inserts nothing and leaves the caller's
    transaction usable, in one statement (no savepoint around it). The unique index
    settles concurrent duplicates: the second insert waits for the first, then does nothing.
    """
    payment = _insert_payment(
        tenant=tenant_id, integration=integration_id, provider=provider, **_fields(notice, amount_minor)
    )
    if payment is not None and notice.kind == NoticeKind.PAYMENT:
        keys = payment_match_keys(notice.references, notice.payer)
        if keys:
            PaymentMatchKey.insert_many(
                [{"tenant": tenant_id, "payment": payment.id, "kind": kind, "value": value} for kind, value in keys]
            ).execute()
    return payment


def payment_match_keys(references, payer: Payer) -> list[tuple[str, str]]:
    """What an order can find a payment by, in the forms the strategies compare: each
    reference case-folded (one longer than any order's key cannot name an order), and the
    payer's customer id and phone trimmed, email trimmed and in lower case."""
    found = [("reference", reference_key(r)) for r in references if isinstance(r, str)]
    found += customer_keys(payer.customer_id, payer.email, payer.phone)
    return [key for key in dict.fromkeys(found) if key[1] and len(key[1]) <= KEY_LENGTH]


def customer_keys(customer_id, email, phone) -> list[tuple[str, str]]:
    """A customer's id, email and phone as matching compares them (blank ones left out)."""
    keys = [
        ("customer_id", customer_id and customer_id.strip()),
        ("email", email and email.strip().lower()),
        ("phone", phone and phone.strip()),
    ]
    return [(kind, value) for kind, value in keys if value]


def find_payment(tenant_id, provider, external_id) -> Payment:
    return Payment.get(
        (Payment.tenant == tenant_id) & (Payment.provider == provider) & (Payment.external_id == external_id)
    )


def settle(payment: Payment, state: str, reason: str, *, allocated: bool = False) -> list[dict]:
    """Write the payment's reconciliation state (``allocated``: and its ``allocated_minor``);
    an unmatched or ambiguous payment is announced."""
    payment.reconciliation = state
    payment.reconciliation_reason = reason
    payment.updated_at = utcnow()
    (_save_reconciliation_allocated if allocated else _save_reconciliation)(payment)
    if state in (Reconciliation.UNMATCHED, Reconciliation.AMBIGUOUS) and payment.kind == NoticeKind.PAYMENT:
        return [payment_event("payment.unmatched", payment)]
    return []


def notice_from_payment(payment: Payment) -> PaymentNotice:
    """The notice a stored payment came from, for matching it again after a status change."""
    payer = Payer(
        name=payment.payer_name,
        email=payment.payer_email,
        phone=payment.payer_phone,
        customer_id=payment.payer_customer_id,
        account_number=payment.payer_account_number,
        bank=payment.payer_bank,
    )
    return PaymentNotice(
        external_id=payment.external_id,
        amount=from_minor(payment.amount_minor, payment.currency),
        currency=payment.currency,
        occurred_at=payment.occurred_at,
        kind=payment.kind,
        status=payment.status,
        method=payment.method,
        references=tuple(payment.references or ()),
        payer=payer,
        destination_account=payment.destination_account,
        parent_external_id=payment.parent_external_id,
    )


def _optional_minor(value, currency):
    return None if value is None else to_minor(value, currency)


def _fields(notice: PaymentNotice, amount_minor: int) -> dict:
    payer = notice.payer
    return {
        "external_id": notice.external_id,
        "kind": notice.kind.value,
        "status": notice.status.value,
        "method": notice.method.value,
        "amount_minor": amount_minor,
        "currency": notice.currency,
        "fee_minor": _optional_minor(notice.fee, notice.currency),
        "settlement_minor": _optional_minor(notice.settlement_amount, notice.currency),
        "references": list(notice.references),
        "destination_account": notice.destination_account,
        "parent_external_id": notice.parent_external_id,
        "payer_name": payer.name,
        "payer_email": payer.email,
        "payer_phone": payer.phone,
        "payer_customer_id": payer.customer_id,
        "payer_account_number": payer.account_number,
        "payer_bank": payer.bank,
        "occurred_at": notice.occurred_at,
        "raw": notice.raw,
    }
