"""Matching in both directions: a stored open payment matched again, and an order that finds its payments."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest

from flux_recon.models import AuditEntry, Payment, PaymentMatchKey, SalesOrder, Tenant, db, reference_key
from flux_recon.models.transactions import write_transaction
from flux_recon.reconciliation import manual
from flux_recon.reconciliation.records import tenant_settings
from flux_recon.reconciliation.rematch import rematch_payment
from flux_recon.services import orders
from tests.engine_helpers import NOW, live_sum, make_order, new_tenant, notice, order_state, payment, record


@pytest.fixture
def engine(app):
    with app.app_context():
        yield app.extensions["engine"]
    db.close()


def rematch(engine, tenant, the_payment, **kwargs):
    with write_transaction():
        return rematch_payment(engine, the_payment, settings=tenant_settings(tenant), actor="test", **kwargs)


def bare_order(tenant, reference, amount_minor=10000, **fields) -> SalesOrder:
    """An order written straight to the table, so nothing looks for its payments yet."""
    return SalesOrder.create(
        tenant=tenant,
        reference=reference,
        reference_key=reference_key(reference),
        amount_minor=amount_minor,
        currency="NGN",
        created_at=NOW,
        **fields,
    )


def unmatched_payment(engine, tenant, *args, **kwargs) -> Payment:
    """A payment recorded while no order matches it."""
    outcome = record(engine, tenant, notice(*args, **kwargs))
    assert outcome.reconciliation == "unmatched"
    return outcome.payment


def test_a_dry_run_reports_the_match_and_writes_nothing(engine):
    tenant = new_tenant()
    stored = unmatched_payment(engine, tenant, "T1", "100.00", "INV-1")
    order = bare_order(tenant, "INV-1")
    audit_before = AuditEntry.select().count()

    result = rematch(engine, tenant, stored, dry_run=True)

    assert (result.before, result.after, result.strategy, result.order_ids) == (
        "unmatched",
        "matched",
        "reference",
        [order.id],
    )
    assert result.changed and result.events == []
    assert payment(tenant, "T1").reconciliation == "unmatched"
    assert order_state(order.id) == ("open", 0)
    assert AuditEntry.select().count() == audit_before


def test_rematching_allocates_with_the_events_and_audit_of_a_webhook_match(engine):
    tenant = new_tenant()
    stored = unmatched_payment(engine, tenant, "T1", "100.00", "INV-1")
    order = bare_order(tenant, "INV-1")

    result = rematch(engine, tenant, stored, trigger="test")

    assert (result.after, result.order_ids) == ("matched", [order.id])
    assert [e["event_type"] for e in result.events] == ["payment.matched", "order.paid"]
    assert order_state(order.id) == ("paid", 10000)
    assert payment(tenant, "T1").reconciliation == "matched"
    actions = [
        e.action
        for e in AuditEntry.select().where(
            (AuditEntry.object_type == "payment") & (AuditEntry.object_id == str(stored.id))
        )
    ]
    assert actions == ["payment.recorded", "allocation.created", "payment.rematched"]
    # Matched now: a second attempt changes nothing.
    again = rematch(engine, tenant, stored)
    assert not again.changed and again.events == []
    assert order_state(order.id) == ("paid", 10000)


def test_two_candidate_orders_keep_the_payment_ambiguous(engine):
    tenant = new_tenant()
    stored = unmatched_payment(engine, tenant, "T1", "100.00", account="9900001111")
    first = bare_order(tenant, "INV-1", virtual_account="9900001111")
    second = bare_order(tenant, "INV-2", virtual_account="9900001111")

    result = rematch(engine, tenant, stored)

    assert (result.after, result.candidates, result.order_ids, result.events) == (
        "ambiguous",
        [first.id, second.id],
        [],
        [],
    )
    assert order_state(first.id) == order_state(second.id) == ("open", 0)
    assert payment(tenant, "T1").candidates == [first.id, second.id]


def test_an_order_unmatched_by_hand_is_not_matched_again(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    stored = record(engine, tenant, notice("T1", "100.00", "INV-1")).payment
    with write_transaction():
        manual.unmatch(stored.id, None, actor="ada", reason="not this one")

    result = rematch(engine, tenant, stored)

    assert (result.after, result.changed) == ("unmatched", False)
    assert order_state(order.id) == ("open", 0)


def test_refunds_failed_and_matched_payments_are_not_open(engine):
    tenant = new_tenant()
    failed = record(engine, tenant, notice("T1", "100.00", "INV-1", status="failed")).payment
    orphan = record(engine, tenant, notice("R1", "10.00", "INV-1", kind="refund", parent="T9")).payment
    bare_order(tenant, "INV-1")
    for stored in (failed, orphan):
        result = rematch(engine, tenant, stored)
        assert not result.changed
        assert result.after == result.before


# --- An order created or changed finds the payments that came first ---------------------


def test_an_order_created_after_its_payment_takes_it_by_reference(engine):
    tenant = new_tenant()
    unmatched_payment(engine, tenant, "T1", "60.00", "inv-7")
    unmatched_payment(engine, tenant, "T2", "40.00", "INV-7 ")
    order = make_order(tenant, "INV-7")
    # Both instalments paid before the order existed count, oldest first.
    assert order_state(order.id) == ("paid", 10000)
    assert [payment(tenant, ref).reconciliation for ref in ("T1", "T2")] == ["matched", "matched"]
    assert live_sum(order=order.id) == 10000


def test_an_order_created_after_its_payment_takes_it_by_virtual_account(engine):
    tenant = new_tenant()
    unmatched_payment(engine, tenant, "T1", "100.00", account="9900001111")
    order = make_order(tenant, "INV-1", virtual_account=" 9900001111")
    assert order_state(order.id) == ("paid", 10000)
    assert payment(tenant, "T1").reconciliation_reason == "matched to order INV-1 by virtual_account"


def test_an_order_created_after_its_payment_takes_it_by_amount_and_customer(engine):
    tenant = new_tenant()
    unmatched_payment(engine, tenant, "T1", "100.00", payer={"email": " Ada@Example.com"}, at=NOW)
    unmatched_payment(engine, tenant, "T2", "100.00", payer={"email": "someone@example.com"}, at=NOW)
    unmatched_payment(engine, tenant, "T3", "99.00", payer={"email": "ada@example.com"}, at=NOW)
    order = make_order(tenant, "INV-1", customer={"email": "ada@example.com"}, created_at=NOW + dt.timedelta(hours=2))
    assert order_state(order.id) == ("paid", 10000)
    assert [payment(tenant, t).reconciliation for t in ("T1", "T2", "T3")] == ["matched", "unmatched", "unmatched"]


@pytest.mark.parametrize(
    "skew",
    [dt.timedelta(seconds=-1), dt.timedelta(minutes=-10), dt.timedelta(seconds=1), dt.timedelta(minutes=10)],
    ids=["1s-before", "10min-before", "1s-after", "10min-after"],
)
@pytest.mark.parametrize("order_first", [True, False], ids=["order-first", "payment-first"])
def test_clock_skew_never_decides_an_amount_and_customer_match(engine, skew, order_first):
    """The payment's time is the provider's clock; seconds or minutes either way of the
    order's creation, and whichever arrives first, it is the same match."""
    tenant = new_tenant()
    customer = {"email": "ada@example.com"}
    the_notice = notice("T1", "100.00", payer=customer, at=NOW + skew)
    if order_first:
        order = make_order(tenant, "INV-1", customer=customer, created_at=NOW)
        record(engine, tenant, the_notice)
    else:
        record(engine, tenant, the_notice)
        order = make_order(tenant, "INV-1", customer=customer, created_at=NOW)
    assert payment(tenant, "T1").reconciliation == "matched"
    assert order_state(order.id) == ("paid", 10000)


def test_outside_the_window_either_way_there_is_no_match(engine):
    tenant = new_tenant({"customer_window_days": 2})
    customer = {"phone": "+2348000000001"}
    unmatched_payment(engine, tenant, "T1", "100.00", payer=customer, at=NOW - dt.timedelta(days=2, minutes=1))
    unmatched_payment(engine, tenant, "T2", "100.00", payer=customer, at=NOW + dt.timedelta(days=2, minutes=1))
    order = make_order(tenant, "INV-1", customer=customer, created_at=NOW)
    assert order_state(order.id) == ("open", 0)
    # Inside it, after the order: matched.
    unmatched_after = record(engine, tenant, notice("T3", "100.00", payer=customer, at=NOW + dt.timedelta(days=1)))
    assert unmatched_after.reconciliation == "matched"


def test_an_ambiguous_payment_stays_ambiguous_when_an_order_adds_a_candidate(engine):
    tenant = new_tenant()
    first = bare_order(tenant, "INV-1", virtual_account="9900001111")
    second = bare_order(tenant, "INV-2", virtual_account="9900001111")
    assert record(engine, tenant, notice("T1", "100.00", account="9900001111")).reconciliation == "ambiguous"
    third = make_order(tenant, "INV-3", virtual_account="9900001111")
    stored = payment(tenant, "T1")
    assert (stored.reconciliation, stored.candidates) == ("ambiguous", [first.id, second.id, third.id])
    assert [order_state(o.id) for o in (first, second, third)] == [("open", 0)] * 3


def test_a_new_order_that_makes_two_candidates_does_not_pick_one(engine):
    tenant = new_tenant({"customer_window_days": 30})
    customer = {"email": "ada@example.com"}
    # The payment came 40 days after an order of the same customer and amount: outside the
    # window then, so it waits.
    first = make_order(tenant, "INV-1", customer=customer, created_at=NOW - dt.timedelta(days=40))
    stored = unmatched_payment(engine, tenant, "T1", "100.00", payer=customer, at=NOW)
    # The merchant widens the window, then enters a second order of that customer and amount.
    Tenant.update(settings={"customer_window_days": 60}).where(Tenant.id == tenant).execute()
    second = make_order(tenant, "INV-2", customer=customer, created_at=NOW + dt.timedelta(hours=1))

    stored = payment(tenant, "T1")
    assert (stored.reconciliation, stored.candidates) == ("ambiguous", [first.id, second.id])
    assert order_state(first.id) == order_state(second.id) == ("open", 0)
    assert live_sum(payment=stored.id) == 0


def test_an_order_changed_to_carry_the_reference_takes_the_payment(engine):
    tenant = new_tenant()
    unmatched_payment(engine, tenant, "T1", "100.00", "PAY-77")
    order = make_order(tenant, "INV-1")
    assert order_state(order.id) == ("open", 0)
    changed = orders.update_order(tenant, "test", order.id, {"payment_reference": "pay-77"}, engine=engine)
    assert (changed.status, changed.amount_paid_minor) == ("paid", 10000)
    assert payment(tenant, "T1").reconciliation == "matched"


def test_an_amount_change_finds_the_payment_of_the_new_amount(engine):
    tenant = new_tenant()
    customer = {"customer_id": "C-1"}
    unmatched_payment(engine, tenant, "T1", "120.00", payer=customer)
    order = make_order(tenant, "INV-1", customer={"id": "C-1"})
    assert order_state(order.id) == ("open", 0)
    orders.update_order(tenant, "test", order.id, {"amount": Decimal("120.00")}, engine=engine)
    assert order_state(order.id) == ("paid", 12000)


def test_a_change_that_removes_a_candidate_settles_an_ambiguous_payment(engine):
    tenant = new_tenant()
    first = bare_order(tenant, "INV-1", virtual_account="9900001111")
    second = bare_order(tenant, "INV-2", virtual_account="9900001111")
    assert record(engine, tenant, notice("T1", "100.00", account="9900001111")).reconciliation == "ambiguous"
    orders.update_order(tenant, "test", second.id, {"virtual_account": None}, engine=engine)
    # As a webhook arriving now would: one order on the account, so it is matched.
    assert payment(tenant, "T1").reconciliation == "matched"
    assert order_state(first.id) == ("paid", 10000)


def match_keys(payment_id) -> list[tuple[str, str]]:
    query = PaymentMatchKey.select().where(PaymentMatchKey.payment == payment_id)
    return sorted((key.kind, key.value) for key in query)


def test_payments_recorded_carry_their_match_keys_and_the_migration_fills_them_in(engine):
    tenant = new_tenant()
    payer = {"email": " Ada@Example.COM ", "phone": "+234 800", "customer_id": " C-1 "}
    stored = unmatched_payment(engine, tenant, "T1", "100.00", " Inv-9 ", "inv-9", "PAY-ß", "x" * 601, payer=payer)
    expected = [
        ("customer_id", "C-1"),
        ("email", "ada@example.com"),
        ("phone", "+234 800"),
        ("reference", "inv-9"),
        ("reference", "pay-ss"),
    ]
    assert match_keys(stored.id) == expected
    refund = record(engine, tenant, notice("R1", "10.00", "INV-9", kind="refund", parent="T1")).payment
    assert match_keys(refund.id) == []

    # Payments recorded before the table existed: the migration's backfill finds them.
    PaymentMatchKey.delete().execute()
    importlib.import_module("flux_recon.models.migrations.0009_payment_match_keys").backfill(db)
    assert match_keys(stored.id) == expected
    assert PaymentMatchKey.select().count() == len(expected)
