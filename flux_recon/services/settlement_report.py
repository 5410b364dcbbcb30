"""The settlement report: per provider, day and currency, what was settled and what is still owed."""

from __future__ import annotations

import datetime as dt

from peewee import fn

from flux_recon.models import Payment
from flux_recon.models.settlement import (
    Settlement,
    SettlementLine,
    SettlementState,
)

# --- the settlement report -------------------------------------------------------------------


def report(tenant_id: str, date_from: dt.datetime | None = None, date_to: dt.datetime | None = None) -> list[dict]:
    """Per provider, day and currency: the settlements (count, lines, gross, fees, net) and
    the missing webhooks recovered from them, by the day they were settled; the payments
    awaiting settlement and not in any settlement, by the day they were paid."""
    rows: dict[tuple, dict] = {}

    def row(provider, day, currency) -> dict:
        key = (provider, str(day), currency)
        if key not in rows:
            rows[key] = {
                "provider": provider,
                "day": str(day),
                "currency": currency,
                "settlements": 0,
                "lines": 0,
                "gross_minor": 0,
                "fees_minor": 0,
                "net_minor": 0,
                "missing_webhooks": 0,
                "awaiting": 0,
                "awaiting_minor": 0,
                "not_in_settlement": 0,
                "not_in_settlement_minor": 0,
            }
        return rows[key]

    day = fn.DATE(Settlement.settled_at).coerce(False)  # the day as text, not read back as a time
    settled = Settlement.select(
        Settlement.provider,
        day,
        Settlement.currency,
        fn.COUNT(Settlement.id),
        fn.SUM(Settlement.line_count),
        fn.SUM(Settlement.gross_minor),
        fn.SUM(Settlement.fees_minor),
        fn.SUM(Settlement.net_minor),
    ).where(_window(Settlement.tenant == tenant_id, Settlement.settled_at, date_from, date_to))
    for provider, when, currency, count, lines, gross, fees, net in settled.group_by(
        Settlement.provider, day, Settlement.currency
    ).tuples():
        entry = row(provider, when, currency)
        entry.update(settlements=count, lines=int(lines or 0), gross_minor=int(gross or 0))
        entry.update(fees_minor=int(fees or 0), net_minor=int(net or 0))
    recovered = (
        SettlementLine.select(Settlement.provider, day, Settlement.currency, fn.COUNT(SettlementLine.id))
        .join(Settlement)
        .where(_window(SettlementLine.tenant == tenant_id, Settlement.settled_at, date_from, date_to))
        .where(SettlementLine.recovered)
        .group_by(Settlement.provider, day, Settlement.currency)
    )
    for provider, when, currency, count in recovered.tuples():
        row(provider, when, currency)["missing_webhooks"] = count
    paid_day = fn.DATE(Payment.occurred_at).coerce(False)
    unsettled = (
        Payment.select(
            Payment.provider,
            paid_day,
            Payment.currency,
            Payment.settlement_state,
            fn.COUNT(Payment.id),
            fn.SUM(Payment.amount_minor),
        )
        .where(_window(Payment.tenant == tenant_id, Payment.occurred_at, date_from, date_to))
        .where(Payment.settlement_state.in_([SettlementState.AWAITING, SettlementState.NOT_IN_SETTLEMENT]))
        .group_by(Payment.provider, paid_day, Payment.currency, Payment.settlement_state)
    )
    for provider, when, currency, state, count, amount in unsettled.tuples():
        entry = row(provider, when, currency)
        name = "awaiting" if state == SettlementState.AWAITING else "not_in_settlement"
        entry[name] = count
        entry[f"{name}_minor"] = int(amount or 0)
    return [rows[key] for key in sorted(rows)]


def _window(condition, column, date_from, date_to):
    if date_from is not None:
        condition &= column >= date_from
    if date_to is not None:
        condition &= column < date_to
    return condition
