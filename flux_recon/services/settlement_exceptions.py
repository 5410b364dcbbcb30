"""Exception-queue items from settlements: missing webhooks, payments no settlement covered, settlements with breaks."""

from __future__ import annotations

import peewee
from peewee import Case, Value, fn

from flux_recon.models import Payment
from flux_recon.models.settlement import Settlement, SettlementState
from flux_recon.money import format_minor
from flux_recon.services.exceptions import Columns, Description, ExceptionSource, register_source

MISSING_WEBHOOK = "missing_webhook"
NOT_IN_SETTLEMENT = "not_in_settlement"
SETTLEMENT_BREAK = "settlement_break"


def _text(*parts) -> peewee.Node:
    """A fingerprint: the parts as text joined by '|', never NULL."""
    expression = None
    for part in parts:
        text = fn.COALESCE(part.cast("TEXT"), "")
        expression = text if expression is None else expression.concat("|").concat(text)
    return expression


class SettledPaymentSource(ExceptionSource):
    """Payments a settlement showed to be wrong: recorded from a settlement line because their
    webhook never came (the webhook path needs a look), or never covered by any settlement."""

    key = "settled_payment"
    reasons = (MISSING_WEBHOOK, NOT_IN_SETTLEMENT)

    def columns(self):
        return Columns(
            subject_id=Payment.id,
            since=Payment.received_at,
            reason=Case(
                None,
                [(Payment.settlement_state == SettlementState.NOT_IN_SETTLEMENT.value, NOT_IN_SETTLEMENT)],
                MISSING_WEBHOOK,
            ),  # fmt: skip
            fingerprint=_text(Payment.settlement_state, Payment.recovered_from),
            amount_minor=Payment.amount_minor,
            currency=Payment.currency,
            provider=Payment.provider,
        )

    def query(self, tenant_id, reasons):
        wanted = []
        if MISSING_WEBHOOK in reasons:
            wanted.append(Payment.recovered_from.is_null(False))
        if NOT_IN_SETTLEMENT in reasons:
            wanted.append(Payment.settlement_state == SettlementState.NOT_IN_SETTLEMENT.value)
        condition = wanted[0] if len(wanted) == 1 else (wanted[0] | wanted[1]) if wanted else Value(False)
        return Payment.select().where((Payment.tenant == tenant_id) & condition)

    def describe(self, tenant_id, reasons):
        rows = Payment.select().where((Payment.tenant == tenant_id) & Payment.id.in_(list(reasons)))
        described = {}
        for payment in rows:
            amount = f"{format_minor(payment.amount_minor, payment.currency)} {payment.currency}"
            if reasons[payment.id] == NOT_IN_SETTLEMENT:
                message = f"{payment.provider} payment {payment.external_id} of {amount} is in no settlement"
            else:
                message = (
                    f"{payment.provider} payment {payment.external_id} of {amount} was settled but its webhook "
                    f"never came: recorded from {payment.recovered_from}; check the integration's webhook URL"
                )
            described[payment.id] = Description(
                message=message,
                since=payment.received_at,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                provider=payment.provider,
                subject={"type": "payment", "payment_id": payment.id, "external_id": payment.external_id},
            )
        return described


class SettlementBreakSource(ExceptionSource):
    """Settlements that disagree with the ledger or with themselves (their breaks say how)."""

    key = "settlement"
    reasons = (SETTLEMENT_BREAK,)

    def columns(self):
        return Columns(
            subject_id=Settlement.id,
            since=Settlement.created_at,
            reason=Value(SETTLEMENT_BREAK),
            fingerprint=_text(Settlement.break_count, Settlement.line_count),
            amount_minor=Settlement.net_minor,
            currency=Settlement.currency,
            provider=Settlement.provider,
        )

    def query(self, tenant_id, reasons):
        return Settlement.select().where((Settlement.tenant == tenant_id) & (Settlement.break_count > 0))

    def describe(self, tenant_id, reasons):
        rows = Settlement.select().where((Settlement.tenant == tenant_id) & Settlement.id.in_(list(reasons)))
        return {
            row.id: Description(
                message=f"{row.provider} settlement {row.reference} has {row.break_count} break(s)",
                since=row.created_at,
                amount_minor=row.net_minor,
                currency=row.currency,
                provider=row.provider,
                subject={"type": "settlement", "settlement_id": row.id},
            )
            for row in rows
        }


for _source in (SettledPaymentSource(), SettlementBreakSource()):
    register_source(_source)
