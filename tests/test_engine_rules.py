"""The reconciliation rules, one table row each, driven through the engine on a real database."""

import datetime as dt

import pytest

from flux_recon.models import db
from flux_recon.models.transactions import write_transaction
from flux_recon.reconciliation import InvalidNotice, manual, refunds
from flux_recon.reconciliation.manual import ManualChangeRefused
from tests.engine_helpers import NOW, live_sum, make_order, new_tenant, notice, order_state, payment, record


@pytest.fixture
def engine(app):
    with app.app_context():
        yield app.extensions["engine"]
    db.close()


def test_full_payment_pays_the_order(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    outcome = record(engine, tenant, notice("T1", "100.00", "INV-1"))
    assert (outcome.status, outcome.reconciliation) == ("accepted", "matched")
    assert order_state(order.id) == ("paid", 10000)
    assert [e["event_type"] for e in outcome.events] == ["payment.received", "payment.matched", "order.paid"]


@pytest.mark.parametrize(
    ("payments", "status", "paid"),
    [
        (["40.00"], "partially_paid", 4000),
        (["150.00"], "overpaid", 15000),
        (["40.00", "60.00"], "paid", 10000),
        (["40.00", "60.00", "0.01"], "overpaid", 10001),
        (["33.33", "33.33", "33.33"], "partially_paid", 9999),
    ],
    ids=["partial", "over", "two-payments", "one-kobo-over", "thirds"],
)
def test_order_status_follows_the_sum_of_allocations(engine, payments, status, paid):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    for n, amount in enumerate(payments):
        assert record(engine, tenant, notice(f"T{n}", amount, "INV-1")).reconciliation == "matched"
    assert order_state(order.id) == (status, paid)
    assert live_sum(order=order.id) == paid


def test_tolerance_lets_a_small_underpayment_count_as_paid(engine):
    tenant = new_tenant({"tolerances": {"NGN": 100}})
    order = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "99.00", "INV-1"))
    assert order_state(order.id) == ("paid", 9900)
    other = make_order(tenant, "INV-2")
    record(engine, tenant, notice("T2", "98.99", "INV-2"))
    assert order_state(other.id)[0] == "partially_paid"


def test_duplicate_notice_changes_nothing(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    again = record(engine, tenant, notice("T1", "100.00", "INV-1"))
    assert again.status == "duplicate" and again.events == []
    assert order_state(order.id) == ("paid", 10000)


def test_failed_then_succeeded_is_applied_once(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    assert record(engine, tenant, notice("T1", "100.00", "INV-1", status="pending")).reconciliation == "not_applicable"
    assert order_state(order.id) == ("open", 0)
    assert record(engine, tenant, notice("T1", "100.00", "INV-1")).reconciliation == "matched"
    assert record(engine, tenant, notice("T1", "100.00", "INV-1")).status == "duplicate"
    assert order_state(order.id) == ("paid", 10000)


def test_the_succeeded_notice_amount_replaces_the_pending_one(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "100.00", "INV-1", status="pending"))
    outcome = record(engine, tenant, notice("T1", "60.00", "INV-1"))
    assert (outcome.status, outcome.payment.amount_minor) == ("accepted", 6000)
    assert order_state(order.id) == ("partially_paid", 6000)


def test_the_best_reference_decides_before_weaker_ones(engine):
    tenant = new_tenant()
    first = make_order(tenant, "INV-1")
    make_order(tenant, "INV-2")
    outcome = record(engine, tenant, notice("T1", "100.00", "INV-1", "INV-2"))
    assert outcome.reconciliation == "matched"
    assert outcome.payment.candidates == [first.id]


@pytest.mark.parametrize("decoys", [0, 6, 7, 12])  # 2 to 14 keys: prepared up to 8, a plain query beyond
def test_any_number_of_references_finds_the_order_the_best_one_names(engine, decoys):
    tenant = new_tenant()
    wanted = make_order(tenant, "INV-2", payment_reference="PAY-9")
    make_order(tenant, "INV-1")
    other = make_order(tenant, "INV-OTHER")  # named by no reference of the notice
    references = [f"NOPE-{n}" for n in range(decoys)] + ["pay-9 ", "INV-1"]
    outcome = record(engine, tenant, notice("T1", "100.00", *references))
    assert outcome.reconciliation == "matched"
    assert outcome.payment.candidates == [wanted.id]
    assert order_state(other.id) == ("open", 0)


def test_an_external_id_too_long_to_store_is_refused(engine):
    tenant = new_tenant()
    with pytest.raises(InvalidNotice, match="longer than"):
        record(engine, tenant, notice("T" * 181, "1.00"))


def test_failed_payment_is_recorded_never_allocated(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    outcome = record(engine, tenant, notice("T1", "100.00", "INV-1", status="failed"))
    assert (outcome.payment.status, outcome.reconciliation) == ("failed", "not_applicable")
    # A failed transaction does not later "succeed" under the same id.
    assert record(engine, tenant, notice("T1", "100.00", "INV-1")).status == "duplicate"
    assert order_state(order.id) == ("open", 0)


def test_currency_mismatch_is_an_exception(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1", currency="USD")
    outcome = record(engine, tenant, notice("T1", "100.00", "INV-1", currency="NGN"))
    assert outcome.reconciliation == "exception"
    assert "currency" in outcome.payment.reconciliation_reason
    assert outcome.payment.candidates == [order.id]
    assert order_state(order.id) == ("open", 0)


def test_payment_to_a_cancelled_order_is_an_exception(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1", status="cancelled")
    outcome = record(engine, tenant, notice("T1", "100.00", "INV-1"))
    assert outcome.reconciliation == "exception"
    assert "cancelled" in outcome.payment.reconciliation_reason
    assert order_state(order.id) == ("cancelled", 0)


def test_two_orders_for_one_reference_are_ambiguous(engine):
    tenant = new_tenant()
    first = make_order(tenant, "INV-1", payment_reference="SHARED")
    second = make_order(tenant, "INV-2", payment_reference="shared")
    outcome = record(engine, tenant, notice("T1", "100.00", "SHARED"))
    assert outcome.reconciliation == "ambiguous"
    assert sorted(outcome.payment.candidates) == sorted([first.id, second.id])
    assert [e["event_type"] for e in outcome.events] == ["payment.received", "payment.unmatched"]


def test_no_candidate_is_unmatched(engine):
    tenant = new_tenant()
    make_order(tenant, "INV-1")
    assert record(engine, tenant, notice("T1", "100.00", "OTHER")).reconciliation == "unmatched"


def test_virtual_account_strategy(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1", virtual_account="9900112233")
    outcome = record(engine, tenant, notice("T1", "100.00", account="9900112233"))
    assert outcome.reconciliation == "matched"
    assert outcome.payment.allocations[0].matched_by == "virtual_account"
    assert order_state(order.id) == ("paid", 10000)


def test_virtual_account_prefers_the_open_order_of_a_reserved_account(engine):
    tenant = new_tenant()
    paid = make_order(tenant, "INV-1", virtual_account="VA-7", status="paid")
    still_open = make_order(tenant, "INV-2", virtual_account="VA-7")
    outcome = record(engine, tenant, notice("T1", "100.00", account="VA-7"))
    assert outcome.payment.candidates == [still_open.id]
    assert order_state(paid.id)[0] == "paid"


def test_amount_and_customer_strategy(engine):
    tenant = new_tenant()
    make_order(tenant, "INV-1", "250.00", customer={"email": "ada@example.com"})
    order = make_order(tenant, "INV-2", "100.00", customer={"email": "ada@example.com"})
    make_order(tenant, "INV-3", "100.00", customer={"email": "bola@example.com"})
    outcome = record(engine, tenant, notice("T1", "100.00", payer={"email": "ada@example.com"}))
    assert outcome.reconciliation == "matched"
    assert outcome.payment.allocations[0].matched_by == "amount_customer"
    assert order_state(order.id) == ("paid", 10000)


@pytest.mark.parametrize(
    ("payer", "state"),
    [
        ({"customer_id": "C-9"}, "matched"),
        ({"phone": "+2348000000009"}, "matched"),
        ({"email": "someone@else.com"}, "unmatched"),
        ({}, "unmatched"),
    ],
)
def test_amount_and_customer_matches_by_id_email_or_phone(engine, payer, state):
    tenant = new_tenant()
    make_order(tenant, "INV-1", customer={"id": "C-9", "email": "c9@example.com", "phone": "+2348000000009"})
    assert record(engine, tenant, notice("T1", "100.00", payer=payer)).reconciliation == state


def test_amount_and_customer_respects_the_window_and_ambiguity(engine):
    tenant = new_tenant({"customer_window_days": 7})
    make_order(tenant, "OLD", customer={"id": "C-1"}, created_at=NOW - dt.timedelta(days=8))
    assert record(engine, tenant, notice("T1", "100.00", payer={"customer_id": "C-1"})).reconciliation == "unmatched"
    make_order(tenant, "A", customer={"id": "C-2"})
    make_order(tenant, "B", customer={"id": "C-2"})
    assert record(engine, tenant, notice("T2", "100.00", payer={"customer_id": "C-2"})).reconciliation == "ambiguous"


def test_strategies_run_in_priority_order(engine):
    tenant = new_tenant()
    by_reference = make_order(tenant, "INV-1")
    make_order(tenant, "INV-2", virtual_account="VA-1", customer={"id": "C-1"})
    outcome = record(engine, tenant, notice("T1", "100.00", "INV-1", account="VA-1", payer={"customer_id": "C-1"}))
    assert outcome.payment.candidates == [by_reference.id]
    assert outcome.payment.allocations[0].matched_by == "reference"


def test_an_ambiguous_stronger_strategy_is_not_overruled_by_a_weaker_one(engine):
    tenant = new_tenant()
    make_order(tenant, "INV-1", payment_reference="P")
    make_order(tenant, "INV-2", payment_reference="P", virtual_account="VA-1")
    assert record(engine, tenant, notice("T1", "100.00", "P", account="VA-1")).reconciliation == "ambiguous"


def test_a_disabled_strategy_does_not_run(engine):
    tenant = new_tenant({"disabled_strategies": ["reference"]})
    make_order(tenant, "INV-1")
    assert record(engine, tenant, notice("T1", "100.00", "INV-1")).reconciliation == "unmatched"


def test_full_refund_releases_the_allocation(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    outcome = record(engine, tenant, notice("R1", "100.00", kind="refund", parent="T1"))
    assert outcome.reconciliation == "matched"
    parent = payment(tenant, "T1")
    assert (parent.status, parent.refunded_minor, parent.allocated_minor) == ("refunded", 10000, 0)
    assert order_state(order.id) == ("open", 0)
    assert "payment.refunded" in [e["event_type"] for e in outcome.events]


def test_partial_refund_releases_part(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    record(engine, tenant, notice("R1", "30.00", kind="refund", parent="T1"))
    assert order_state(order.id) == ("partially_paid", 7000)
    parent = payment(tenant, "T1")
    assert (parent.status, parent.allocated_minor, parent.refunded_minor) == ("succeeded", 7000, 3000)
    assert live_sum(order=order.id) == 7000
    # A refund larger than what is left is an exception, never applied.
    too_much = record(engine, tenant, notice("R2", "80.00", kind="refund", parent="T1"))
    assert too_much.reconciliation == "exception"
    assert order_state(order.id) == ("partially_paid", 7000)


def test_refund_takes_back_the_unallocated_part_first(engine):
    tenant = new_tenant()
    first = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "150.00"))  # unmatched
    with write_transaction():
        manual.match(payment(tenant, "T1").id, first, 10000, actor="api_key:test", reason="")
    record(engine, tenant, notice("R1", "50.00", kind="refund", parent="T1"))
    assert order_state(first.id) == ("paid", 10000)
    assert payment(tenant, "T1").refunded_minor == 5000


def test_reversal_under_the_same_id_releases_everything(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    outcome = record(engine, tenant, notice("T1", "100.00", kind="reversal"))
    assert outcome.status == "accepted"
    parent = payment(tenant, "T1")
    assert (parent.status, parent.allocated_minor, parent.reconciliation) == ("reversed", 0, "not_applicable")
    assert order_state(order.id) == ("open", 0)
    assert record(engine, tenant, notice("T1", "100.00", kind="reversal")).status == "duplicate"


def test_a_retried_partial_reversal_under_the_same_id_counts_once(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    first = record(engine, tenant, notice("T1", "40.00", kind="reversal"))
    assert (first.status, first.payment.external_id) == ("accepted", "T1:reversal")
    for _ in range(2):
        assert record(engine, tenant, notice("T1", "40.00", kind="reversal")).status == "duplicate"
    assert order_state(order.id) == ("partially_paid", 6000)
    assert payment(tenant, "T1").refunded_minor == 4000


def test_a_reversal_before_its_payment_waits_and_does_not_take_its_id(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    assert record(engine, tenant, notice("T1", "100.00", kind="reversal")).reconciliation == "orphan"
    arrived = record(engine, tenant, notice("T1", "100.00", "INV-1"))
    assert (arrived.status, arrived.payment.kind) == ("accepted", "payment")
    assert payment(tenant, "T1").status == "reversed"
    assert order_state(order.id) == ("open", 0)


def test_reversal_by_parent_id(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    record(engine, tenant, notice("V1", "100.00", kind="reversal", parent="T1"))
    assert payment(tenant, "T1").status == "reversed"
    assert order_state(order.id) == ("open", 0)


def test_orphan_refund_waits_for_its_payment(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    orphan = record(engine, tenant, notice("R1", "40.00", kind="refund", parent="T1"))
    assert orphan.reconciliation == "orphan"
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    assert payment(tenant, "R1").reconciliation == "matched"
    assert order_state(order.id) == ("partially_paid", 6000)


def left_orphan(engine, tenant, monkeypatch, refund_notice, payment_notice):
    """A refund recorded as an orphan, then its payment recorded without adopting it: the
    state a lost race between the two left behind before they shared a lock."""
    assert record(engine, tenant, refund_notice).reconciliation == "orphan"
    with monkeypatch.context() as patched:
        patched.setattr(refunds, "adopt_orphans", lambda *args: [])
        return record(engine, tenant, payment_notice)


def test_an_orphan_refund_received_again_after_its_payment_is_applied(engine, monkeypatch):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    refund = notice("R1", "100.00", kind="refund", parent="T1")
    left_orphan(engine, tenant, monkeypatch, refund, notice("T1", "100.00", "INV-1"))
    assert (payment(tenant, "R1").reconciliation, order_state(order.id)) == ("orphan", ("paid", 10000))

    again = record(engine, tenant, refund)
    assert (again.status, again.reconciliation) == ("accepted", "matched")
    assert "now applied to payment T1" in again.note
    assert [e["event_type"] for e in again.events] == ["payment.refunded"]
    assert (payment(tenant, "T1").status, payment(tenant, "T1").refunded_minor) == ("refunded", 10000)
    assert order_state(order.id) == ("open", 0)
    assert live_sum(order=order.id) == 0
    # Linked now: the next copy is a plain duplicate and takes nothing more back.
    assert record(engine, tenant, refund).status == "duplicate"
    assert payment(tenant, "T1").refunded_minor == 10000


def test_an_orphan_reversal_under_the_payments_id_received_again_is_applied(engine, monkeypatch):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    reversal = notice("T1", "40.00", kind="reversal")
    left_orphan(engine, tenant, monkeypatch, reversal, notice("T1", "100.00", "INV-1"))
    again = record(engine, tenant, reversal)
    assert (again.status, again.payment.external_id, again.reconciliation) == ("accepted", "T1:reversal", "matched")
    assert order_state(order.id) == ("partially_paid", 6000)


def test_an_orphan_refund_of_a_pending_payment_keeps_waiting_when_received_again(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    refund = notice("R1", "100.00", kind="refund", parent="T1")
    assert record(engine, tenant, refund).reconciliation == "orphan"
    record(engine, tenant, notice("T1", "100.00", "INV-1", status="pending"))
    assert (record(engine, tenant, refund).status, payment(tenant, "R1").reconciliation) == ("duplicate", "orphan")
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    assert payment(tenant, "R1").reconciliation == "matched"
    assert order_state(order.id) == ("open", 0)


def test_an_orphan_refund_whose_payment_failed_becomes_an_exception_when_received_again(engine):
    tenant = new_tenant()
    refund = notice("R1", "100.00", kind="refund", parent="T1")
    record(engine, tenant, refund)
    record(engine, tenant, notice("T1", "100.00", status="failed"))
    again = record(engine, tenant, refund)
    assert (again.status, again.reconciliation) == ("accepted", "exception")
    assert payment(tenant, "T1").refunded_minor == 0


def test_a_pending_refund_takes_nothing_back_until_it_succeeds(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    pending = record(engine, tenant, notice("R1", "100.00", kind="refund", parent="T1", status="pending"))
    assert pending.reconciliation == "not_applicable"
    assert order_state(order.id) == ("paid", 10000)
    assert record(engine, tenant, notice("R1", "100.00", kind="refund", parent="T1", status="failed")).status == (
        "duplicate"
    )
    done = record(engine, tenant, notice("R1", "100.00", kind="refund", parent="T1"))
    assert (done.status, done.reconciliation) == ("accepted", "matched")
    assert order_state(order.id) == ("open", 0)
    assert record(engine, tenant, notice("R1", "100.00", kind="refund", parent="T1")).status == "duplicate"


def test_refund_in_another_currency_is_an_exception(engine):
    tenant = new_tenant()
    make_order(tenant, "INV-1")
    record(engine, tenant, notice("T1", "100.00", "INV-1"))
    assert (
        record(engine, tenant, notice("R1", "10.00", kind="refund", parent="T1", currency="USD")).reconciliation
        == "exception"
    )


def test_split_by_hand_across_two_orders(engine):
    tenant = new_tenant()
    first = make_order(tenant, "INV-1", "60.00")
    second = make_order(tenant, "INV-2", "40.00")
    paid = record(engine, tenant, notice("T1", "100.00", "NOTHING")).payment
    with write_transaction():
        manual.match(paid.id, first, 6000, actor="api_key:x", reason="split")
    assert payment(tenant, "T1").reconciliation == "partially_matched"
    with write_transaction():
        manual.match(paid.id, second, None, actor="api_key:x", reason="split")
    assert payment(tenant, "T1").reconciliation == "matched"
    assert order_state(first.id) == ("paid", 6000) and order_state(second.id) == ("paid", 4000)
    with pytest.raises(ManualChangeRefused, match="fully allocated"), write_transaction():
        manual.match(paid.id, second, 1, actor="api_key:x", reason="")


def test_unmatch_releases_and_leaves_it_in_the_queue(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-1")
    paid = record(engine, tenant, notice("T1", "100.00", "INV-1")).payment
    with write_transaction():
        events = manual.unmatch(paid.id, None, actor="api_key:x", reason="wrong order")
    assert order_state(order.id) == ("open", 0)
    assert payment(tenant, "T1").reconciliation == "unmatched"
    assert "payment.unmatched" in [e["event_type"] for e in events]


def test_amount_more_precise_than_the_currency_is_refused(engine):
    tenant = new_tenant()
    with pytest.raises(InvalidNotice, match="decimal places"):
        record(engine, tenant, notice("T1", "10.5", currency="JPY"))
