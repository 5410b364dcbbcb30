"""The exception queue: every item a person must look at, derived from the current state by
registered sources, and the decisions (resolve, re-open) people record on them.

An item is never stored: each *source* (payments, orders, unrecognized webhooks; later
modules add their own with ``register_source``) selects its rows in the queue with an
indexed query. An item's id is ``<source>:<subject id>`` ("payment:42", "order:12",
"webhook:7"). Resolving stores a decision with the item's state *fingerprint*; the item
stays hidden while its state keeps that fingerprint, and comes back when it changes.
Resolving never changes money.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

import peewee
from peewee import SQL, Case, Value, fn

from flux_recon.core.states import OrderStatus, Reconciliation, Verdict
from flux_recon.models import ExceptionDecision, Payment, SalesOrder, WebhookEvent, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import locked, write_transaction
from flux_recon.money import MoneyError, format_minor, parse_amount
from flux_recon.providers import NoticeKind
from flux_recon.services import suggestions
from flux_recon.services.errors import Conflict, Invalid, NotFound

RESOLVED = "resolved"
REOPENED = "reopened"
STATUSES = ("open", RESOLVED, "all")
SORTS = ("age", "amount")
MAX_BULK = 200
# Candidate orders shown per payment item.
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class Columns:
    """What a source's rows mean to the queue, as SQL expressions over its model.

    ``since`` should lead an index with the tenant (the queue sorts by it); ``reason`` and
    ``fingerprint`` are computed by the database, so filtering and hiding resolved items
    happen in the query, not in Python. A column a source does not have is None."""

    subject_id: peewee.Node
    since: peewee.Node
    reason: peewee.Node
    fingerprint: peewee.Node
    amount_minor: peewee.Node | None = None
    currency: peewee.Node | None = None
    provider: peewee.Node | None = None


@dataclass
class Description:
    """How a source shows one of its items to a person."""

    message: str
    since: dt.datetime
    amount_minor: int | None = None
    currency: str | None = None
    provider: str | None = None
    subject: dict = field(default_factory=dict)
    candidates: list[dict] = field(default_factory=list)


class ExceptionSource:
    """One kind of exception item. Subclass it, set ``key`` (the id prefix) and ``reasons``,
    and implement ``columns``, ``query`` and ``describe``; then ``register_source(Instance())``."""

    key: ClassVar[str]
    reasons: ClassVar[tuple[str, ...]]

    def columns(self) -> Columns:
        raise NotImplementedError

    def query(self, tenant_id: str, reasons: set[str]) -> peewee.ModelSelect:
        """The tenant's rows in the queue, narrowed to ``reasons`` where that helps an index
        (the queue also filters on the ``reason`` column)."""
        raise NotImplementedError

    def describe(self, tenant_id: str, reasons: dict[int, str]) -> dict[int, Description]:
        """A description of each subject id in ``reasons`` (one page: at most a few hundred)."""
        raise NotImplementedError


_SOURCES: dict[str, ExceptionSource] = {}


def register_source(source: ExceptionSource) -> ExceptionSource:
    """Add a source of exception items; its key must be new and its reasons not another's."""
    if ":" in source.key or source.key in _SOURCES:
        raise ValueError(f"exception source key {source.key!r} is taken or contains ':'")
    taken = {reason for other in _SOURCES.values() for reason in other.reasons}
    if taken & set(source.reasons):
        raise ValueError(f"reasons already produced by another source: {sorted(taken & set(source.reasons))}")
    _SOURCES[source.key] = source
    return source


def unregister_source(key: str) -> None:
    """Remove a source (tests, and a plugin being unloaded); unknown keys are ignored."""
    _SOURCES.pop(key, None)


def registered_sources() -> list[ExceptionSource]:
    return list(_SOURCES.values())


def known_reasons() -> list[str]:
    return [reason for source in _SOURCES.values() for reason in source.reasons]


@dataclass
class Filters:
    reasons: list[str] | None = None
    provider: str | None = None
    currency: str | None = None
    min_age: dt.timedelta | None = None
    max_age: dt.timedelta | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    status: str = "open"
    sort: str = "age"
    descending: bool = True


@dataclass
class Item:
    """One exception as the API shows it."""

    id: str
    source: str
    subject_id: int
    reason: str
    fingerprint: str
    status: str
    decision: ExceptionDecision | None
    message: str
    since: dt.datetime
    amount_minor: int | None
    currency: str | None
    provider: str | None
    subject: dict
    candidates: list[dict]

    @property
    def amount(self) -> str | None:
        return None if self.amount_minor is None else format_minor(self.amount_minor, self.currency)

    @property
    def age_seconds(self) -> int:
        return max(int((utcnow() - self.since).total_seconds()), 0)


def _money(minor: int, currency: str) -> str:
    return f"{format_minor(minor, currency)} {currency}"


def _concat(*parts) -> peewee.Node:
    """Text joined by '|' in SQL; NULLs become empty so a fingerprint is never NULL."""
    expression = None
    for part in parts:
        text = fn.COALESCE(part.cast("TEXT"), "")
        expression = text if expression is None else expression.concat("|").concat(text)
    return expression


# ---------------------------------------------------------------- the built-in sources


class PaymentSource(ExceptionSource):
    """Payments and refunds the engine could not apply: unmatched, ambiguous, exception, orphan."""

    key = "payment"
    reasons = (
        "no_order",
        "ambiguous",
        "order_cancelled",
        "currency_mismatch",
        "refund_exceeds_payment",
        "orphan_refund",
        "payment_exception",
    )
    STATES = {
        "no_order": Reconciliation.UNMATCHED,
        "ambiguous": Reconciliation.AMBIGUOUS,
        "orphan_refund": Reconciliation.ORPHAN,
    }

    def columns(self):
        is_payment = Payment.kind == NoticeKind.PAYMENT.value
        exception = Payment.reconciliation == Reconciliation.EXCEPTION
        # The engine says why a payment is an exception in reconciliation_reason; its
        # wording ("order X is cancelled", "... currency ... differs ...") is read here.
        reason = Case(
            None,
            (
                (Payment.reconciliation == Reconciliation.UNMATCHED, "no_order"),
                (Payment.reconciliation == Reconciliation.AMBIGUOUS, "ambiguous"),
                (Payment.reconciliation == Reconciliation.ORPHAN, "orphan_refund"),
                (exception & is_payment & Payment.reconciliation_reason.contains("is cancelled"), "order_cancelled"),
                (exception & Payment.reconciliation_reason.contains("currency"), "currency_mismatch"),
                (exception & ~is_payment, "refund_exceeds_payment"),
            ),
            "payment_exception",
        )
        at_stake = Case(
            None,
            ((is_payment, Payment.amount_minor - Payment.refunded_minor - Payment.allocated_minor),),
            Payment.amount_minor,
        )
        # Every field the item's meaning rests on, and no timestamp: a reconciliation run
        # that looks at a payment again and leaves it as it was does not re-open it.
        fingerprint = _concat(
            Payment.reconciliation,
            Payment.status,
            Payment.amount_minor,
            Payment.refunded_minor,
            Payment.allocated_minor,
            Payment.candidates,
            Payment.reconciliation_reason,
        )
        return Columns(
            subject_id=Payment.id,
            since=Payment.received_at,
            reason=reason,
            fingerprint=fingerprint,
            amount_minor=at_stake,
            currency=Payment.currency,
            provider=Payment.provider,
        )

    def query(self, tenant_id, reasons):
        states = {self.STATES.get(reason, Reconciliation.EXCEPTION) for reason in reasons}
        return Payment.select().where((Payment.tenant == tenant_id) & Payment.reconciliation.in_(sorted(states)))

    def describe(self, tenant_id, reasons):
        rows = {p.id: p for p in Payment.select().where((Payment.tenant == tenant_id) & Payment.id.in_(list(reasons)))}
        order_ids = {oid for p in rows.values() for oid in (p.candidates or [])[:MAX_CANDIDATES]}
        orders = {o.id: o for o in SalesOrder.select().where(SalesOrder.id.in_(list(order_ids)))} if order_ids else {}
        described = {}
        for payment_id, reason in reasons.items():
            payment = rows.get(payment_id)
            if payment is None:
                continue
            candidates = [orders[i] for i in (payment.candidates or [])[:MAX_CANDIDATES] if i in orders]
            described[payment_id] = self._describe_one(payment, reason, candidates)
        return described

    def _describe_one(self, payment: Payment, reason: str, candidates: list[SalesOrder]) -> Description:
        amount = payment.amount_minor
        if payment.kind == NoticeKind.PAYMENT:
            amount -= payment.refunded_minor + payment.allocated_minor
        shown = [_order_candidate(order) for order in candidates]
        if reason == "no_order":
            ranked = suggestions.rank(payment, limit=MAX_CANDIDATES)
            shown = [_order_candidate(s.order, s) for s in ranked]
            message = _no_order_message(payment, ranked[0] if ranked else None)
        elif reason == "ambiguous":
            names = ", ".join(order.reference for order in candidates)
            message = (
                f"{len(payment.candidates or [])} orders could be the one: {names} ({payment.reconciliation_reason})"
            )
        elif reason in ("order_cancelled", "currency_mismatch") and payment.kind == NoticeKind.PAYMENT and candidates:
            message = _order_problem(payment, candidates[0], reason)
        elif reason in ("orphan_refund", "refund_exceeds_payment", "currency_mismatch"):
            message = _refund_problem(payment, reason)
        else:
            message = payment.reconciliation_reason or f"payment is {payment.reconciliation}"
        return Description(
            message=message,
            since=payment.received_at,
            amount_minor=amount,
            currency=payment.currency,
            provider=payment.provider,
            subject={"type": payment.kind, "payment_id": payment.id, "external_id": payment.external_id},
            candidates=shown,
        )


def _order_candidate(order: SalesOrder, suggestion: suggestions.Suggestion | None = None) -> dict:
    shown = {
        "order_id": order.id,
        "reference": order.reference,
        "status": order.status,
        "amount": format_minor(order.amount_minor, order.currency),
        "outstanding": format_minor(order.outstanding_minor, order.currency),
        "currency": order.currency,
    }
    if suggestion is not None:
        shown["score"] = suggestion.score
        shown["evidence"] = suggestion.summary()
    return shown


def _references(payment: Payment) -> str:
    return ", ".join(payment.references or []) or "none"


def _no_order_message(payment: Payment, best: suggestions.Suggestion | None) -> str:
    money = _money(payment.amount_minor, payment.currency)
    if best is None:
        return f"no order matches payment {payment.external_id} of {money} (reference {_references(payment)})"
    return (
        f"no order matches: reference {_references(payment)} vs order {best.order.reference} "
        f"(closest suggestion, score {best.score}: {best.summary()})"
    )


def _order_problem(payment: Payment, order: SalesOrder, reason: str) -> str:
    if reason == "order_cancelled":
        return (
            f"order {order.reference} is {order.status}; payment {payment.external_id} of "
            f"{_money(payment.amount_minor, payment.currency)} (reference {_references(payment)}) was meant for it"
        )
    return (
        f"currency {payment.currency} vs order {order.reference}'s {order.currency} "
        f"(payment {payment.external_id} of {_money(payment.amount_minor, payment.currency)})"
    )


def _refund_problem(refund: Payment, reason: str) -> str:
    money = _money(refund.amount_minor, refund.currency)
    parent = Payment.get_or_none(
        (Payment.tenant == refund.tenant_id)
        & (Payment.provider == refund.provider)
        & (Payment.external_id == refund.parent_external_id)
        & (Payment.kind == NoticeKind.PAYMENT.value)
    )
    if parent is None:
        return f"{refund.kind} {money} of payment {refund.parent_external_id}, which has not been received"
    if reason == "currency_mismatch":
        return f"{refund.kind} currency {refund.currency} vs payment {parent.external_id}'s {parent.currency}"
    remaining = parent.amount_minor - parent.refunded_minor
    return (
        f"{refund.kind} {money} vs {_money(remaining, parent.currency)} left of payment "
        f"{parent.external_id} ({parent.status})"
    )


class OrderSource(ExceptionSource):
    """Orders that money reached but did not settle: partially paid or overpaid."""

    key = "order"
    reasons = ("underpaid_order", "overpaid_order")
    STATES = {"underpaid_order": OrderStatus.PARTIALLY_PAID, "overpaid_order": OrderStatus.OVERPAID}

    def columns(self):
        underpaid = SalesOrder.status == OrderStatus.PARTIALLY_PAID
        return Columns(
            subject_id=SalesOrder.id,
            since=SalesOrder.created_at,
            reason=Case(None, ((underpaid, "underpaid_order"),), "overpaid_order"),
            fingerprint=_concat(SalesOrder.status, SalesOrder.amount_minor, SalesOrder.amount_paid_minor),
            amount_minor=Case(
                None,
                ((underpaid, SalesOrder.amount_minor - SalesOrder.amount_paid_minor),),
                SalesOrder.amount_paid_minor - SalesOrder.amount_minor,
            ),
            currency=SalesOrder.currency,
        )

    def query(self, tenant_id, reasons):
        states = sorted(self.STATES[reason] for reason in reasons)
        return SalesOrder.select().where((SalesOrder.tenant == tenant_id) & SalesOrder.status.in_(states))

    def describe(self, tenant_id, reasons):
        rows = SalesOrder.select().where((SalesOrder.tenant == tenant_id) & SalesOrder.id.in_(list(reasons)))
        described = {}
        for order in rows:
            paid, total = order.amount_paid_minor, order.amount_minor
            if reasons[order.id] == "underpaid_order":
                gap, word = order.outstanding_minor, "outstanding"
            else:
                gap, word = order.overpaid_minor, "over"
            described[order.id] = Description(
                message=(
                    f"order {order.reference} paid {format_minor(paid, order.currency)} of "
                    f"{_money(total, order.currency)}: {format_minor(gap, order.currency)} {word}"
                ),
                since=order.created_at,
                amount_minor=gap,
                currency=order.currency,
                subject={"type": "order", "order_id": order.id, "reference": order.reference},
            )
        return described


UNRECOGNIZED = Verdict.UNRECOGNIZED
# A replay with one of these verdicts was read by its plugin: the webhook needs no one now.
UNDERSTOOD = (Verdict.ACCEPTED, Verdict.DUPLICATE, Verdict.IGNORED)


class WebhookSource(ExceptionSource):
    """Webhooks that passed authentication but whose content no plugin recognized: they may
    carry money nobody has recorded."""

    key = "webhook"
    reasons = ("unrecognized_webhook",)

    def columns(self):
        return Columns(
            subject_id=WebhookEvent.id,
            since=WebhookEvent.received_at,
            reason=Value("unrecognized_webhook"),
            fingerprint=_concat(WebhookEvent.verdict),
            provider=WebhookEvent.provider,
        )

    def query(self, tenant_id, reasons):
        # A webhook as received (its replays are records of the same webhook), until a
        # replay of it was understood: then its money, if any, is recorded and nothing is left
        # to look at. The literal lets the planner use the partial index.
        replay = WebhookEvent.alias()
        understood = replay.select(SQL("1")).where(
            (replay.replay_of == WebhookEvent.id) & replay.verdict.in_(UNDERSTOOD)
        )
        return WebhookEvent.select().where(
            (WebhookEvent.tenant == tenant_id)
            & (WebhookEvent.verdict == SQL(f"'{UNRECOGNIZED}'"))
            & WebhookEvent.replay_of.is_null()
            & ~fn.EXISTS(understood)
        )

    def describe(self, tenant_id, reasons):
        rows = WebhookEvent.select().where((WebhookEvent.tenant == tenant_id) & WebhookEvent.id.in_(list(reasons)))
        return {
            event.id: Description(
                message=f"{event.provider} webhook not recognized: {event.reason or 'no reason given'}",
                since=event.received_at,
                provider=event.provider,
                subject={"type": "webhook_event", "webhook_event_id": event.id},
            )
            for event in rows
        }


for _source in (PaymentSource(), OrderSource(), WebhookSource()):
    register_source(_source)


# ---------------------------------------------------------------- listing


def parse_item_id(item_id: str) -> tuple[ExceptionSource, int]:
    """``"payment:42"`` -> (the payment source, 42); NotFound for anything else."""
    key, _, number = item_id.partition(":")
    source = _SOURCES.get(key)
    if source is None or not (number.isascii() and number.isdigit()) or len(number) > 18:
        raise NotFound(f"exception {item_id} not found")
    return source, int(number)


def item_id(source: ExceptionSource, subject_id: int) -> str:
    return f"{source.key}:{subject_id}"


@dataclass
class _Bounds:
    """Filters turned into values the queries compare with."""

    since_before: dt.datetime | None
    since_after: dt.datetime | None
    amount_min: int | None
    amount_max: int | None


def _bounds(filters: Filters) -> _Bounds:
    if (filters.min_amount is not None or filters.max_amount is not None) and not filters.currency:
        raise Invalid(
            "amounts in different currencies cannot be compared: give a currency with min_amount or max_amount",
            {"currency": ["required with min_amount or max_amount"]},
        )
    amounts = {}
    for name in ("min_amount", "max_amount"):
        value = getattr(filters, name)
        try:
            amounts[name] = None if value is None else parse_amount(value, filters.currency, positive=False)
        except MoneyError as exc:
            raise Invalid(str(exc), {name: [str(exc)]}) from None
    unknown = sorted(set(filters.reasons or []) - set(known_reasons()))
    if unknown:
        message = f"unknown reason {', '.join(unknown)}; known: {', '.join(known_reasons())}"
        raise Invalid(message, {"reason": [message]})
    if filters.status not in STATUSES or filters.sort not in SORTS:
        raise Invalid("status or sort is not one of the known values", {"status": list(STATUSES), "sort": list(SORTS)})
    now = utcnow()
    return _Bounds(
        since_before=None if filters.min_age is None else now - filters.min_age,
        since_after=None if filters.max_age is None else now - filters.max_age,
        amount_min=amounts["min_amount"],
        amount_max=amounts["max_amount"],
    )


def _decided(source: ExceptionSource, tenant_id: str, columns: Columns) -> peewee.Node:
    """EXISTS: a resolution of this item, taken when its state had the fingerprint it has now."""
    resolution = ExceptionDecision.select(SQL("1")).where(
        (ExceptionDecision.tenant == tenant_id)
        & (ExceptionDecision.source == source.key)
        & (ExceptionDecision.subject_id == columns.subject_id)
        & (ExceptionDecision.status == RESOLVED)
        & (ExceptionDecision.fingerprint == columns.fingerprint)
    )
    return fn.EXISTS(resolution)


def _filtered(source: ExceptionSource, tenant_id: str, filters: Filters, bounds: _Bounds):
    """The source's query with every filter applied, or None if the filters exclude it."""
    columns = source.columns()
    reasons = set(source.reasons) if not filters.reasons else set(source.reasons) & set(filters.reasons)
    if not reasons:
        return None, columns
    query = source.query(tenant_id, reasons)
    if filters.reasons:
        query = query.where(columns.reason.in_(sorted(reasons)))
    for wanted, column in ((filters.provider, columns.provider), (filters.currency, columns.currency)):
        if wanted is not None:
            if column is None:
                return None, columns
            query = query.where(column == wanted)
    if bounds.amount_min is not None or bounds.amount_max is not None:
        if columns.amount_minor is None:
            return None, columns
        if bounds.amount_min is not None:
            query = query.where(columns.amount_minor >= bounds.amount_min)
        if bounds.amount_max is not None:
            query = query.where(columns.amount_minor <= bounds.amount_max)
    if bounds.since_before is not None:
        query = query.where(columns.since <= bounds.since_before)
    if bounds.since_after is not None:
        query = query.where(columns.since >= bounds.since_after)
    if filters.status == "open":
        query = query.where(~_decided(source, tenant_id, columns))
    elif filters.status == RESOLVED:
        query = query.where(_decided(source, tenant_id, columns))
    return query, columns


class ExceptionQuery:
    """The queue with its filters: what the web layer's pager pages through
    (``paginate(page, page_size)`` and ``count()``, like a peewee query)."""

    def __init__(self, tenant_id: str, filters: Filters):
        self.tenant_id = tenant_id
        self.filters = filters
        bounds = _bounds(filters)
        self.branches = []
        for source in _SOURCES.values():
            query, columns = _filtered(source, tenant_id, filters, bounds)
            if query is not None:
                self.branches.append((source, query, columns))

    def count(self) -> int:
        return sum(query.count() for _, query, _ in self.branches)

    def paginate(self, page: int, page_size: int) -> list[Item]:
        offset = (page - 1) * page_size
        keys = self._keys(offset, page_size)
        return _items(self.tenant_id, keys)

    def _keys(self, offset: int, limit: int) -> list[tuple[str, int, str, str]]:
        """(source, subject id, reason, fingerprint) of the page's items, in order.

        Each source contributes its first offset + limit rows in the queue's order (its
        own ORDER BY ... LIMIT on its index); the database merges them with UNION ALL and
        takes the page, so a page never reads more than sources x (offset + limit) rows."""
        if not self.branches:
            return []
        branches = [self._branch(source, query, columns, offset + limit) for source, query, columns in self.branches]
        union = branches[0]
        for branch in branches[1:]:
            union = union + branch
        union = union.order_by(*self._outer_order()).limit(limit).offset(offset)
        return [(row[0], int(row[1]), row[2], row[3]) for row in union.tuples()]

    def _branch(self, source, query, columns: Columns, limit: int):
        null_amount = columns.amount_minor is None
        amount = SQL("CAST(NULL AS BIGINT)") if null_amount else columns.amount_minor
        currency = SQL("CAST(NULL AS TEXT)") if columns.currency is None else columns.currency.cast("TEXT")
        projected = query.select(
            Value(source.key).cast("TEXT").alias("source"),
            columns.subject_id.alias("subject_id"),
            columns.reason.cast("TEXT").alias("reason"),
            columns.fingerprint.alias("fingerprint"),
            columns.since.alias("since"),
            Value(1 if null_amount else 0).alias("no_amount"),
            currency.alias("currency"),
            amount.alias("amount_minor"),
        )
        inner = self._inner_order(columns, null_amount)
        return (
            projected.order_by(*inner)
            .limit(limit)
            .select_from(
                SQL("source"),
                SQL("subject_id"),
                SQL("reason"),
                SQL("fingerprint"),
                SQL("since"),
                SQL("no_amount"),
                SQL("currency"),
                SQL("amount_minor"),
            )
        )

    def _inner_order(self, columns: Columns, null_amount: bool) -> list:
        oldest_first = self.filters.descending
        by_age = (
            [columns.since.asc(), columns.subject_id.asc()]
            if oldest_first
            else [
                columns.since.desc(),
                columns.subject_id.desc(),
            ]
        )
        if self.filters.sort == "age":
            return by_age
        if null_amount:  # sorted after every amount, oldest first (as the outer order does)
            return [columns.since.asc(), columns.subject_id.asc()]
        amount = columns.amount_minor.desc() if self.filters.descending else columns.amount_minor.asc()
        currency = [columns.currency.asc()] if columns.currency is not None else []
        return [*currency, amount, columns.since.asc(), columns.subject_id.asc()]

    def _outer_order(self) -> list:
        # Result-column names only: a compound query may sort by nothing else on SQLite.
        if self.filters.sort == "age":
            direction = "ASC" if self.filters.descending else "DESC"
            return [SQL(f"since {direction}"), SQL(f"source {direction}"), SQL(f"subject_id {direction}")]
        amount = "DESC" if self.filters.descending else "ASC"
        return [
            SQL("no_amount ASC"),
            SQL("currency ASC"),
            SQL(f"amount_minor {amount}"),
            SQL("since ASC"),
            SQL("source ASC"),
            SQL("subject_id ASC"),
        ]


def list_exceptions(tenant_id: str, filters: Filters | None = None) -> ExceptionQuery:
    """The tenant's exception queue with ``filters`` (default: open items, oldest first).
    Invalid for an unknown reason, or an amount filter without a currency."""
    return ExceptionQuery(tenant_id, filters or Filters())


def open_counts(tenant_id: str) -> dict[str, int]:
    """How many open items the queue holds per reason (reasons with none left out): one
    grouped count per source, over the same indexed queries the queue pages through."""
    filters = Filters()
    bounds = _bounds(filters)
    counts: dict[str, int] = {}
    for source in _SOURCES.values():
        query, columns = _filtered(source, tenant_id, filters, bounds)
        if query is None:
            continue
        # Grouped outside: PostgreSQL does not see a parameterised CASE in SELECT and in
        # GROUP BY as the same expression.
        rows = query.select(columns.reason.cast("TEXT").alias("reason")).order_by().alias("items")
        grouped = Payment.select(rows.c.reason, fn.COUNT(SQL("*"))).from_(rows).group_by(rows.c.reason)
        for reason, count in grouped.tuples():
            counts[reason] = counts.get(reason, 0) + count
    return counts


def _decisions(tenant_id: str, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], ExceptionDecision]:
    keys = list(keys)
    if not keys:
        return {}
    by_source: dict[str, list[int]] = {}
    for source_key, subject_id in keys:
        by_source.setdefault(source_key, []).append(subject_id)
    condition = None
    for source_key, ids in by_source.items():
        part = (ExceptionDecision.source == source_key) & ExceptionDecision.subject_id.in_(ids)
        condition = part if condition is None else condition | part
    rows = ExceptionDecision.select().where((ExceptionDecision.tenant == tenant_id) & condition)
    return {(row.source, row.subject_id): row for row in rows}


def _items(tenant_id: str, keys: list[tuple[str, int, str, str]]) -> list[Item]:
    """The page's items, described by their sources (one batch per source)."""
    decisions = _decisions(tenant_id, ((key, subject) for key, subject, _, _ in keys))
    described: dict[tuple[str, int], Description] = {}
    by_source: dict[str, dict[int, str]] = {}
    for key, subject, reason, _ in keys:
        by_source.setdefault(key, {})[subject] = reason
    for key, reasons in by_source.items():
        for subject, description in _SOURCES[key].describe(tenant_id, reasons).items():
            described[(key, subject)] = description
    items = []
    for key, subject, reason, fingerprint in keys:
        description = described.get((key, subject))
        if description is None:  # gone between the two reads: shown on the next page load
            continue
        decision = decisions.get((key, subject))
        resolved = decision is not None and decision.status == RESOLVED and decision.fingerprint == fingerprint
        items.append(
            Item(
                id=f"{key}:{subject}",
                source=key,
                subject_id=subject,
                reason=reason,
                fingerprint=fingerprint,
                status=RESOLVED if resolved else "open",
                decision=decision,
                **dataclasses.asdict(description),
            )
        )
    return items


def _current(tenant_id: str, source: ExceptionSource, subject_id: int) -> tuple[str, str] | None:
    """(reason, fingerprint) of the item now, or None if it is not in the queue."""
    columns = source.columns()
    query = source.query(tenant_id, set(source.reasons)).where(columns.subject_id == subject_id)
    row = query.select(columns.reason.cast("TEXT"), columns.fingerprint).tuples().first()
    return None if row is None else (row[0], row[1])


def get_exception(tenant_id: str, item: str) -> Item:
    """One item of the queue (open or resolved), or NotFound if it is not in the queue now."""
    source, subject_id = parse_item_id(item)
    current = _current(tenant_id, source, subject_id)
    if current is None:
        raise NotFound(f"exception {item} not found: it is not in the queue (any more)")
    found = _items(tenant_id, [(source.key, subject_id, *current)])
    if not found:
        raise NotFound(f"exception {item} not found: it is not in the queue (any more)")
    return found[0]


def _decide(tenant_id: str, actor: str, item: str, status: str, note: str) -> str | None:
    """Record one decision inside the caller's write transaction; None if done, else why not."""
    source, subject_id = parse_item_id(item)
    current = _current(tenant_id, source, subject_id)
    if current is None:
        return "not_found"
    reason, fingerprint = current
    existing = (
        locked(ExceptionDecision.select())
        .where(
            (ExceptionDecision.tenant == tenant_id)
            & (ExceptionDecision.source == source.key)
            & (ExceptionDecision.subject_id == subject_id)
        )
        .first()
    )
    is_resolved = existing is not None and existing.status == RESOLVED and existing.fingerprint == fingerprint
    if status == RESOLVED and is_resolved:
        return "already_resolved"
    if status == REOPENED and not is_resolved:
        return "not_resolved"
    values = {
        "status": status,
        "reason": reason,
        "fingerprint": fingerprint,
        "note": note,
        "actor": actor,
        "decided_at": utcnow(),
    }
    if existing is None:
        ExceptionDecision.insert(tenant=tenant_id, source=source.key, subject_id=subject_id, **values).on_conflict(
            conflict_target=[ExceptionDecision.tenant, ExceptionDecision.source, ExceptionDecision.subject_id],
            update=values,
        ).execute()
    else:
        ExceptionDecision.update(**values).where(ExceptionDecision.id == existing.id).execute()
    action = "exception.resolved" if status == RESOLVED else "exception.reopened"
    record_audit(tenant_id, actor, action, "exception", item, {"reason": reason, "note": note})
    return None


_REFUSALS = {
    "not_found": (NotFound, "exception {item} not found: it is not in the queue (any more)"),
    "already_resolved": (Conflict, "exception {item} is already resolved"),
    "not_resolved": (Conflict, "exception {item} is not resolved"),
}


def _one(tenant_id: str, actor: str, item: str, status: str, note: str) -> Item:
    with write_transaction():
        refused = _decide(tenant_id, actor, item, status, note)
    if refused:
        kind, message = _REFUSALS[refused]
        raise kind(message.format(item=item))
    return get_exception(tenant_id, item)


def resolve(tenant_id: str, actor: str, item: str, note: str) -> Item:
    """Record that a person looked at the item and decided (``note`` says what); money is
    not touched. The item stays hidden until its state changes. NotFound, or Conflict if
    it is already resolved."""
    return _one(tenant_id, actor, item, RESOLVED, note)


def reopen(tenant_id: str, actor: str, item: str, note: str = "") -> Item:
    """Put a resolved item back in the open queue. NotFound, or Conflict if it is not resolved."""
    return _one(tenant_id, actor, item, REOPENED, note)


def resolve_many(tenant_id: str, actor: str, items: list[str], note: str) -> dict:
    """Resolve several items in one transaction: ``{"resolved": [ids], "skipped": [{"id",
    "reason"}]}``; an item not in the queue or already resolved is skipped, not an error."""
    if len(items) > MAX_BULK:
        raise Invalid(f"at most {MAX_BULK} items at once", {"ids": [f"at most {MAX_BULK} items"]})
    resolved, skipped = [], []
    with write_transaction():
        for item in dict.fromkeys(items):
            try:
                refused = _decide(tenant_id, actor, item, RESOLVED, note)
            except NotFound:
                refused = "not_found"
            if refused:
                skipped.append({"id": item, "reason": refused})
            else:
                resolved.append(item)
    return {"resolved": resolved, "skipped": skipped}
