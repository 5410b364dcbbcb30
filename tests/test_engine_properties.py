"""Property-based: whatever notices arrive, in whatever order, the books stay consistent."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flux_recon.models import Allocation, Payment, SalesOrder, db
from flux_recon.reconciliation import derive_status
from tests.engine_helpers import make_order, new_tenant, notice, record

ORDERS = ["INV-0", "INV-1", "INV-2"]

payments = st.tuples(
    st.just("payment"),
    st.integers(min_value=0, max_value=7),  # transaction id: repeats are duplicates
    st.integers(min_value=1, max_value=30000),  # minor units
    st.sampled_from([*ORDERS, "NOWHERE"]),
    st.sampled_from(["succeeded", "succeeded", "pending", "failed"]),
)
refunds = st.tuples(
    st.sampled_from(["refund", "reversal"]),
    st.integers(min_value=0, max_value=7),  # which transaction it takes back (may not exist yet)
    st.integers(min_value=1, max_value=30000),
    st.integers(min_value=0, max_value=3),  # refund id
    st.booleans(),  # under the payment's own id
)


def apply(engine, tenant, step):
    if step[0] == "payment":
        _, txn, minor, reference, status = step
        amount = Decimal(minor).scaleb(-2)
        record(engine, tenant, notice(f"T{txn}", str(amount), reference, status=status))
        return
    kind, txn, minor, refund_id, same_id = step
    amount = str(Decimal(minor).scaleb(-2))
    if same_id:
        record(engine, tenant, notice(f"T{txn}", amount, kind=kind))
    else:
        record(engine, tenant, notice(f"R{refund_id}-T{txn}", amount, kind=kind, parent=f"T{txn}"))


def live(query):
    return sum(a.amount_minor for a in query.where(Allocation.released_at.is_null()))


@pytest.fixture
def engine(app):
    with app.app_context():
        yield app.extensions["engine"]
    db.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(payments, refunds), min_size=1, max_size=14))
def test_books_balance_for_any_sequence_of_notices(engine, steps):
    tenant = new_tenant()  # a fresh tenant per example keeps examples independent
    orders = [make_order(tenant, reference, "100.00") for reference in ORDERS]
    for step in steps:
        apply(engine, tenant, step)

    for order in orders:
        order = SalesOrder.get_by_id(order.id)
        # An order's paid amount is exactly the sum of its live allocations...
        assert order.amount_paid_minor == live(Allocation.select().where(Allocation.order == order.id))
        # ...and its status follows from that sum.
        assert order.status == derive_status(order.amount_minor, order.amount_paid_minor)

    for paid in Payment.select().where(Payment.tenant == tenant):
        allocated = live(Allocation.select().where(Allocation.payment == paid.id))
        assert paid.allocated_minor == allocated
        # No payment is allocated, or taken back, beyond its amount.
        assert 0 <= allocated + paid.refunded_minor <= paid.amount_minor
        if paid.status != "succeeded" or paid.kind != "payment":
            assert allocated == 0
