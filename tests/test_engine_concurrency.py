"""Concurrency on a real database: simultaneous payments for one order all count, and
simultaneous copies of one payment count once. Threads use separate connections."""

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
