"""Matching in both directions: a stored open payment matched again, and an order that finds its payments."""

from __future__ import annotations

import pytest

from flux_recon.models import AuditEntry, Payment, SalesOrder, db, reference_key
from flux_recon.models.transactions import write_transaction
from flux_recon.reconciliation import manual
from flux_recon.reconciliation.records import tenant_settings
from flux_recon.reconciliation.rematch import rematch_payment
from tests.engine_helpers import NOW, make_order, new_tenant, notice, order_state, payment, record


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
