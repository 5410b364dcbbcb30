"""The not-in-settlement sweep: succeeded payments awaiting their settlement, or overdue past their cycle."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from peewee import fn

from flux_recon.core.states import PaymentStatus
from flux_recon.models import Integration, Payment, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.settlement import (
    Settlement,
    SettlementState,
)
from flux_recon.models.transactions import write_transaction
from flux_recon.providers import NoticeKind
from flux_recon.services.settlement_recorder import BATCH_SIZE

# --- the not-in-settlement sweep -------------------------------------------------------------

# Working days from a payment to the payout that should hold it, by provider and payment
# method ("default" for the rest). Monnify settles transfers the same day and cards the next
# working day; Paystack pays out the next working day. Setting: SETTLEMENT_CYCLES.
DEFAULT_CYCLES: dict[str, dict[str, int]] = {
    "monnify": {"bank_transfer": 0, "default": 1},
    "paystack": {"default": 1},
}
# Added to every cycle before a payment counts as not in any settlement: payouts land late,
# statements are imported later still. Setting: SETTLEMENT_GRACE_HOURS.
DEFAULT_GRACE_HOURS = 24


def settlement_due(occurred_at: dt.datetime, working_days: int, grace: dt.timedelta) -> dt.datetime:
    """When a payment's settlement is overdue: the end (UTC) of the ``working_days``-th working
    day (Monday to Friday; public holidays are not known) after the payment's day, plus ``grace``."""
    day = occurred_at.astimezone(dt.UTC).date()
    while day.weekday() >= 5:  # a weekend payment is settled from the next working day on
        day += dt.timedelta(days=1)
    remaining = working_days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), dt.UTC)
    return end_of_day + grace


def validate_cycles(cycles) -> dict[str, dict[str, int]]:
    """SETTLEMENT_CYCLES as given (``{"monnify": {"bank_transfer": 0, "default": 1}}``), or ValueError."""
    if not isinstance(cycles, dict):
        raise ValueError("SETTLEMENT_CYCLES must be an object of providers")
    for provider, by_method in cycles.items():
        if not isinstance(by_method, dict) or "default" not in by_method:
            raise ValueError(f"SETTLEMENT_CYCLES.{provider} must be an object with a default")
        for method, days in by_method.items():
            if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 30:
                raise ValueError(f"SETTLEMENT_CYCLES.{provider}.{method} must be 0 to 30 working days")
    return cycles


@dataclass
class SweepResult:
    awaiting: int = 0
    not_in_settlement: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def sweep_unsettled(
    *,
    now: dt.datetime | None = None,
    cycles: dict[str, dict[str, int]] | None = None,
    grace_hours: float | None = None,
    tenant_id: str | None = None,
    actor: str = "settlement-sweep",
) -> SweepResult:
    """Give each succeeded payment of a settlement-tracked integration its settlement state:
    ``awaiting_settlement`` until its provider's cycle plus the grace has passed, then
    ``not_in_settlement`` (audited). An integration is tracked once a settlement of it was
    recorded, for the payments from the earliest time its settlements cover. ``now`` is the
    clock (injectable for tests). Safe to run at any time and in several processes."""
    now = now or utcnow()
    cycles = validate_cycles(DEFAULT_CYCLES if cycles is None else cycles)
    grace = dt.timedelta(hours=DEFAULT_GRACE_HOURS if grace_hours is None else grace_hours)
    result = SweepResult()
    tracked = (
        Settlement.select(Settlement.integration, Integration.provider, fn.MIN(Settlement.period_start))
        .join(Integration)
        .where(Integration.provider.in_(list(cycles)))
        .group_by(Settlement.integration, Integration.provider)
    )
    if tenant_id is not None:
        tracked = tracked.where(Settlement.tenant == tenant_id)
    for integration_id, provider, since in list(tracked.tuples()):
        if since is None:
            continue
        since = Settlement.period_start.python_value(since)
        with write_transaction():
            result.awaiting += (
                Payment.update(settlement_state=SettlementState.AWAITING)
                .where(_sweepable(integration_id, since) & Payment.settlement_state.is_null())
                .execute()
            )
        result.not_in_settlement += _overdue(integration_id, since, cycles[provider], grace, now, actor)
    return result


def _sweepable(integration_id: int, since: dt.datetime):
    return (
        (Payment.integration == integration_id)
        & (Payment.kind == NoticeKind.PAYMENT.value)
        & (Payment.status == PaymentStatus.SUCCEEDED.value)
        & (Payment.occurred_at >= since)
    )


def _overdue(integration_id, since, by_method: dict[str, int], grace, now, actor) -> int:
    # No payment is overdue before the shortest cycle could have ended.
    earliest_due = now - grace - dt.timedelta(days=1)
    marked, after_id = 0, 0
    while True:
        with write_transaction():
            page = list(
                Payment.select(Payment.id, Payment.tenant, Payment.method, Payment.occurred_at)
                .where(
                    _sweepable(integration_id, since)
                    & (Payment.settlement_state == SettlementState.AWAITING)
                    & (Payment.occurred_at < earliest_due)
                    & (Payment.id > after_id)
                )
                .order_by(Payment.id)
                .limit(BATCH_SIZE)
            )
            for payment in page:
                days = by_method.get(payment.method, by_method["default"])
                due = settlement_due(payment.occurred_at, days, grace)
                if due > now:
                    continue
                changed = (
                    Payment.update(settlement_state=SettlementState.NOT_IN_SETTLEMENT, updated_at=utcnow())
                    .where((Payment.id == payment.id) & (Payment.settlement_state == SettlementState.AWAITING))
                    .execute()
                )
                if changed:
                    marked += 1
                    record_audit(
                        payment.tenant_id,
                        actor,
                        "payment.not_in_settlement",
                        "payment",
                        payment.id,
                        {"due": due.isoformat(), "working_days": days, "grace_hours": grace.total_seconds() / 3600},
                    )
        if len(page) < BATCH_SIZE:
            return marked
        after_id = page[-1].id
