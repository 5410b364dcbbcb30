"""Concurrency on a real database: simultaneous payments for one order all count,
simultaneous copies of one payment count once, and a payment and its refund at once stay
linked. Threads use separate connections."""

import threading

import pytest

from flux_recon.models import Allocation, Payment, SalesOrder, db
from tests.engine_helpers import make_order, new_tenant, notice, record

THREADS = 8
JOIN_TIMEOUT = 60


def run_at_once(app, work):
    """Run ``work(i)`` in THREADS threads released together; re-raise the first failure."""
    engine = app.extensions["engine"]
    barrier = threading.Barrier(THREADS, timeout=JOIN_TIMEOUT)
    errors = []

    def worker(i):
        try:
            with db.connection_context():  # each thread its own connection
                barrier.wait()
                work(engine, i)
        except Exception as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    if errors:
        raise errors[0]


@pytest.fixture
def tenant_with_order(app):
    with app.app_context():
        tenant = new_tenant()
        order = make_order(tenant, "INV-1", "800.00")
    db.close()
    return tenant, order.id


def test_simultaneous_payments_for_one_order_all_count(app, tenant_with_order):
    tenant, order_id = tenant_with_order
    run_at_once(app, lambda engine, i: record(engine, tenant, notice(f"T{i}", "100.00", "INV-1")))
    with db.connection_context():
        order = SalesOrder.get_by_id(order_id)
        assert order.amount_paid_minor == THREADS * 10000
        assert order.status == "paid"
        assert Allocation.select().where(Allocation.order == order_id).count() == THREADS


def test_simultaneous_copies_of_one_payment_count_once(app, tenant_with_order):
    tenant, order_id = tenant_with_order
    outcomes = []
    run_at_once(app, lambda engine, i: outcomes.append(record(engine, tenant, notice("T1", "100.00", "INV-1")).status))
    assert sorted(outcomes) == ["accepted"] + ["duplicate"] * (THREADS - 1)
    with db.connection_context():
        assert Payment.select().where(Payment.tenant == tenant).count() == 1
        assert SalesOrder.get_by_id(order_id).amount_paid_minor == 10000
        assert Allocation.select().where(Allocation.order == order_id).count() == 1


RACE_ROUNDS = 30


def race_payment_and_refund(app, tenant, external_id, refund_notice):
    """Record a payment and its refund at the same moment, each on its own connection."""
    engine = app.extensions["engine"]
    barrier = threading.Barrier(2, timeout=JOIN_TIMEOUT)
    outcomes, errors = {}, []
    notices = {"payment": notice(external_id, "100.00", external_id), "refund": refund_notice}

    def worker(name):
        try:
            with db.connection_context():
                barrier.wait()
                outcomes[name] = record(engine, tenant, notices[name]).status
        except Exception as exc:  # re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in notices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    if errors:
        raise errors[0]
    return outcomes


def test_a_payment_and_its_refund_at_the_same_moment_are_always_linked(app):
    """Under READ COMMITTED neither transaction sees the other's uncommitted row: without a
    lock both paths shared, the refund stayed an orphan and the refunded order stayed paid."""
    with app.app_context():
        tenant = new_tenant()
        orders = [make_order(tenant, f"MNFY-{i}", "100.00").id for i in range(RACE_ROUNDS)]
    db.close()
    lost = []
    for i, order_id in enumerate(orders):
        external_id = f"MNFY-{i}"
        # Both ways a refund names its payment: Monnify's own refund reference with the
        # payment's as parent, and a refund sent under the payment's own id.
        if i % 2:
            refund = notice(f"RFD-{i}", "100.00", kind="refund", parent=external_id)
        else:
            refund = notice(external_id, "100.00", kind="refund")
        outcomes = race_payment_and_refund(app, tenant, external_id, refund)
        assert outcomes == {"payment": "accepted", "refund": "accepted"}
        with db.connection_context():
            refund_row = Payment.get(
                (Payment.tenant == tenant) & (Payment.kind == "refund") & (Payment.parent_external_id == external_id)
            )
            paid = Payment.get((Payment.tenant == tenant) & (Payment.external_id == external_id))
            order = SalesOrder.get_by_id(order_id)
            live = sum(
                a.amount_minor
                for a in Allocation.select().where((Allocation.order == order_id) & Allocation.released_at.is_null())
            )
            if refund_row.reconciliation != "matched":
                lost.append((i, refund_row.reconciliation, paid.status, order.status))
                continue
            assert (paid.status, paid.refunded_minor, paid.allocated_minor) == ("refunded", 10000, 0)
            assert (order.status, order.amount_paid_minor, live) == ("open", 0, 0)
    assert not lost, f"{len(lost)} of {RACE_ROUNDS} refunds lost their payment: {lost}"
