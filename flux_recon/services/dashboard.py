"""The console dashboard's figures: 30 days of payments per currency and per day, the queue, settlement coverage."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from peewee import SQL, Case, fn

from flux_recon.core.states import PaymentStatus, Reconciliation
from flux_recon.models import Payment, utcnow
from flux_recon.models.settlement import Settlement, SettlementState
from flux_recon.money import format_minor
from flux_recon.providers import NoticeKind
from flux_recon.services import exceptions

WINDOW_DAYS = 30
# The states a payment (not a refund) can be in, in the order the chart stacks them.
CHART_STATES = (
    Reconciliation.MATCHED,
    Reconciliation.PARTIALLY_MATCHED,
    Reconciliation.AMBIGUOUS,
    Reconciliation.UNMATCHED,
    Reconciliation.EXCEPTION,
)
COVERAGE_STATES = (SettlementState.SETTLED, SettlementState.AWAITING, SettlementState.NOT_IN_SETTLEMENT)
NOT_TRACKED = "not_tracked"


@dataclass(frozen=True)
class Day:
    date: dt.date
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive


@dataclass
class CurrencyTotals:
    """Succeeded payments in one currency: what came in, what is allocated to orders, what is open."""

    currency: str
    count: int
    received_minor: int
    matched_minor: int
    open_minor: int

    @property
    def received(self) -> str:
        return format_minor(self.received_minor, self.currency)

    @property
    def matched(self) -> str:
        return format_minor(self.matched_minor, self.currency)

    @property
    def open(self) -> str:
        return format_minor(self.open_minor, self.currency)


@dataclass
class Coverage:
    """Succeeded payments in one currency by settlement state: (count, amount in minor units)."""

    currency: str
    states: dict[str, tuple[int, int]] = field(default_factory=dict)

    def amount(self, state: str) -> str:
        return format_minor(self.states.get(state, (0, 0))[1], self.currency)

    def count(self, state: str) -> int:
        return self.states.get(state, (0, 0))[0]


@dataclass
class Overview:
    time_zone: str
    days: list[Day]
    totals: list[CurrencyTotals]
    # Per day (in ``days`` order), payments received per reconciliation state.
    per_day: list[dict[str, int]]
    queue: dict[str, int]
    # None until the tenant has any settlement: before that there is nothing to cover.
    coverage: list[Coverage] | None

    @property
    def start(self) -> dt.datetime:
        return self.days[0].start

    @property
    def end(self) -> dt.datetime:
        return self.days[-1].end


def last_days(zone: zoneinfo.ZoneInfo, now: dt.datetime, count: int = WINDOW_DAYS) -> list[Day]:
    """The ``count`` calendar days up to today in ``zone``, each with its UTC bounds (a day
    with a daylight-saving change is 23 or 25 hours long)."""
    today = now.astimezone(zone).date()
    dates = [today - dt.timedelta(days=back) for back in range(count - 1, -1, -1)]
    return [Day(day, _midnight(day, zone), _midnight(day + dt.timedelta(days=1), zone)) for day in dates]


def _midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def _received_payments(tenant_id: str, start: dt.datetime, end: dt.datetime):
    # (tenant, received_at) is an index: every figure reads only the window's rows.
    return (
        (Payment.tenant == tenant_id)
        & (Payment.received_at >= start)
        & (Payment.received_at < end)
        & (Payment.kind == NoticeKind.PAYMENT.value)
    )


def _totals(tenant_id: str, start: dt.datetime, end: dt.datetime) -> list[CurrencyTotals]:
    left = Payment.amount_minor - Payment.refunded_minor - Payment.allocated_minor
    open_minor = Case(None, ((left > 0, left),), 0)
    query = (
        Payment.select(
            Payment.currency,
            fn.COUNT(Payment.id),
            fn.SUM(Payment.amount_minor),
            fn.SUM(Payment.allocated_minor),
            fn.SUM(open_minor),
        )
        .where(_received_payments(tenant_id, start, end) & (Payment.status == PaymentStatus.SUCCEEDED.value))
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    )
    return [
        CurrencyTotals(currency, count, int(received or 0), int(matched or 0), int(left_open or 0))
        for currency, count, received, matched, left_open in query.tuples()
    ]


def _per_day(tenant_id: str, days: list[Day]) -> list[dict[str, int]]:
    # The day of each payment in the tenant's zone, as the index of the day it falls in: a
    # CASE over the days' UTC bounds works alike on SQLite and PostgreSQL, and stays exact
    # across daylight-saving changes where adding an offset would not.
    day_index = Case(None, [(Payment.received_at < day.end, index) for index, day in enumerate(days)], None)
    rows = (
        Payment.select(day_index.alias("day"), Payment.reconciliation.alias("state"))
        .where(_received_payments(tenant_id, days[0].start, days[-1].end))
        .alias("received")
    )
    # Grouped outside: PostgreSQL does not see a parameterised CASE in SELECT and in GROUP BY
    # as the same expression.
    grouped = (
        Payment.select(rows.c.day, rows.c.state, fn.COUNT(SQL("*")))
        .from_(rows)
        .group_by(rows.c.day, rows.c.state)
        .tuples()
    )
    per_day: list[dict[str, int]] = [{} for _ in days]
    for index, state, count in grouped:
        if index is not None:
            per_day[int(index)][state] = count
    return per_day


def _coverage(tenant_id: str, start: dt.datetime, end: dt.datetime) -> list[Coverage] | None:
    if not Settlement.select(SQL("1")).where(Settlement.tenant == tenant_id).limit(1).exists():
        return None
    query = (
        Payment.select(Payment.currency, Payment.settlement_state, fn.COUNT(Payment.id), fn.SUM(Payment.amount_minor))
        .where(_received_payments(tenant_id, start, end) & (Payment.status == PaymentStatus.SUCCEEDED.value))
        .group_by(Payment.currency, Payment.settlement_state)
        .order_by(Payment.currency)
    )
    by_currency: dict[str, Coverage] = {}
    for currency, state, count, amount in query.tuples():
        coverage = by_currency.setdefault(currency, Coverage(currency))
        coverage.states[state or NOT_TRACKED] = (count, int(amount or 0))
    return list(by_currency.values())


def overview(tenant_id: str, time_zone: str, now: dt.datetime | None = None) -> Overview:
    """The dashboard of the last 30 days (today included) in the tenant's ``time_zone``:
    succeeded payments received per currency (received, matched to orders, still open),
    payments per day by reconciliation state, the open queue per reason (all of it, not only
    the window's) and, once the tenant has settlements, the window's succeeded payments by
    settlement state. Amounts stay per currency, never summed across."""
    zone = zoneinfo.ZoneInfo(time_zone)
    days = last_days(zone, now or utcnow())
    start, end = days[0].start, days[-1].end
    return Overview(
        time_zone=time_zone,
        days=days,
        totals=_totals(tenant_id, start, end),
        per_day=_per_day(tenant_id, days),
        queue=exceptions.open_counts(tenant_id),
        coverage=_coverage(tenant_id, start, end),
    )
