"""The order, payment and settings services called directly, without a request, as the CLI or a console will."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from types import SimpleNamespace

import flask
import pytest

from flux_recon.models import AuditEntry, Payment, SalesOrder, db
from flux_recon.models.transactions import write_transaction
from flux_recon.services import orders, payments, tenant_settings
from flux_recon.services.errors import Conflict, Invalid, NotFound
from tests.engine_helpers import new_tenant, notice, record

ACTOR = "console:ada"
JOIN_TIMEOUT = 30


@pytest.fixture
def ctx(app):
    """An app context with no request in it, the engine, and a plugin manager that records
    the events it is handed."""
    with app.app_context():
        assert not flask.has_request_context()
        announced: list[dict] = []
        plugins = SimpleNamespace(hook=SimpleNamespace(flux_recon_event=lambda event: announced.append(event)))
        yield SimpleNamespace(
            engine=app.extensions["engine"],
            plugins=plugins,
            announced=announced,
            tenant=new_tenant(),
            other=new_tenant(),
        )
    db.close()


def new_order(tenant_id, reference="INV-1", amount="100.00", **fields) -> SalesOrder:
    return orders.create_order(tenant_id, ACTOR, reference=reference, amount=Decimal(amount), currency="NGN", **fields)


def audit_actions(tenant_id, object_id, object_type="order") -> list[tuple[str, str]]:
    query = AuditEntry.select().where(
        (AuditEntry.tenant == tenant_id)
        & (AuditEntry.object_type == object_type)
        & (AuditEntry.object_id == str(object_id))
    )
    return [(entry.action, entry.actor) for entry in query.order_by(AuditEntry.id)]


def test_create_order_stores_minor_units_reference_keys_and_an_audit_entry(ctx):
    order = new_order(
        ctx.tenant,
        " INV-9 ",
        "1500.5",
        payment_reference="PAY-9",
        virtual_account=" 9912345678 ",
        customer={"id": "C-1", "name": "Ada", "email": "Ada@Example.com", "phone": "+234"},
    )
    stored = SalesOrder.get_by_id(order.id)
    assert (stored.reference, stored.reference_key, stored.payment_reference_key) == ("INV-9", "inv-9", "pay-9")
    assert (stored.amount_minor, stored.currency, stored.status) == (150050, "NGN", "open")
    assert (stored.virtual_account, stored.customer_email) == ("9912345678", "ada@example.com")
    assert audit_actions(ctx.tenant, order.id) == [("order.created", ACTOR)]


def test_create_order_keeps_a_given_creation_time(ctx):
    placed = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert SalesOrder.get_by_id(new_order(ctx.tenant, created_at=placed).id).created_at == placed


def test_duplicate_reference_is_a_conflict_with_the_api_message_and_nothing_written(ctx):
    new_order(ctx.tenant, "INV-1")
    with pytest.raises(Conflict) as refused:
        new_order(ctx.tenant, "inv-1 ")
    assert refused.value.message == "an order with reference 'inv-1 ' already exists"
    assert SalesOrder.select().where(SalesOrder.tenant == ctx.tenant).count() == 1
    assert AuditEntry.select().where(AuditEntry.action == "order.created").count() == 1
    new_order(ctx.other, "INV-1")  # another tenant may use it


@pytest.mark.parametrize(
    ("reference", "amount", "field"),
    [("INV-1", "10.001", "amount"), ("INV-1", "0", "amount"), ("  ", "10.00", "reference")],
)
def test_create_order_refuses_what_the_schema_would_with_the_field_named(ctx, reference, amount, field):
    with pytest.raises(Invalid) as refused:
        new_order(ctx.tenant, reference, amount)
    assert list(refused.value.fields) == [field]
    assert SalesOrder.select().count() == 0


def test_get_order_of_another_tenant_is_not_found(ctx):
    order = new_order(ctx.tenant)
    assert orders.get_order(ctx.tenant, order.id).id == order.id
    with write_transaction():
        assert orders.get_order(ctx.tenant, order.id, lock=True).id == order.id
    with pytest.raises(NotFound, match=f"^order {order.id} not found$"):
        orders.get_order(ctx.other, order.id)
    with pytest.raises(NotFound, match="^order 999999 not found$"):
        orders.get_order(ctx.tenant, 999999)


def test_list_orders_filters_and_stays_in_the_tenant(ctx):
    first = new_order(ctx.tenant, "INV-1", payment_reference="PAY-1", customer={"email": "ada@example.com"})
    second = new_order(ctx.tenant, "INV-2", customer={"phone": "+2348000000001"})
    new_order(ctx.other, "INV-3", customer={"email": "ada@example.com"})
    orders.cancel_order(ctx.tenant, ACTOR, second.id, ctx.plugins)

    def ids(**filters):
        return [order.id for order in orders.list_orders(ctx.tenant, **filters)]

    assert ids() == [second.id, first.id]
    assert ids(status="cancelled") == [second.id]
    assert ids(reference=" pay-1") == [first.id]
    assert ids(customer=" ADA@example.com ") == [first.id]
    assert ids(customer="+2348000000001") == [second.id]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert ids(created_from=later) == [] and len(ids(created_to=later)) == 2


def test_cancel_order_records_the_audit_and_announces_once(ctx):
    order = new_order(ctx.tenant)
    cancelled = orders.cancel_order(ctx.tenant, ACTOR, order.id, ctx.plugins)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert SalesOrder.get_by_id(order.id).status == "cancelled"
    assert [event["event_type"] for event in ctx.announced] == ["order.cancelled"]
    assert orders.cancel_order(ctx.tenant, ACTOR, order.id, ctx.plugins).status == "cancelled"
    assert len(ctx.announced) == 1  # cancelling again changes nothing
    assert audit_actions(ctx.tenant, order.id) == [("order.created", ACTOR), ("order.cancelled", ACTOR)]


def test_cancel_order_of_another_tenant_is_not_found(ctx):
    order = new_order(ctx.tenant)
    with pytest.raises(NotFound, match=f"^order {order.id} not found$"):
        orders.cancel_order(ctx.other, ACTOR, order.id, ctx.plugins)
    assert SalesOrder.get_by_id(order.id).status == "open" and ctx.announced == []


def test_cancel_order_with_payments_allocated_is_a_conflict_and_changes_nothing(ctx):
    order = new_order(ctx.tenant)
    record(ctx.engine, ctx.tenant, notice("T1", "40.00", "INV-1"))
    with pytest.raises(Conflict) as refused:
        orders.cancel_order(ctx.tenant, ACTOR, order.id, ctx.plugins)
    assert refused.value.message == "this order has payments allocated; unmatch them before cancelling"
    assert SalesOrder.get_by_id(order.id).status == "partially_paid"
    assert ctx.announced == [] and audit_actions(ctx.tenant, order.id) == [("order.created", ACTOR)]


def test_payment_lookups_stay_in_the_tenant(ctx):
    paid = record(ctx.engine, ctx.tenant, notice("T1", "100.00", "NOTHING")).payment
    record(ctx.engine, ctx.other, notice("T2", "100.00", "nothing"))
    assert payments.get_payment(ctx.tenant, paid.id).external_id == "T1"
    with pytest.raises(NotFound, match=f"^payment {paid.id} not found$"):
        payments.get_payment(ctx.other, paid.id)
    assert [p.id for p in payments.list_payments(ctx.tenant, reference="nothing")] == [paid.id]
    assert [p.id for p in payments.list_payments(ctx.tenant, reconciliation=["unmatched", "orphan"])] == [paid.id]
    assert list(payments.list_payments(ctx.tenant, reconciliation=["matched"])) == []


def test_split_by_hand_then_unmatch_one_order(ctx):
    first = new_order(ctx.tenant, "INV-1", "60.00")
    second = new_order(ctx.tenant, "INV-2", "40.00")
    paid = record(ctx.engine, ctx.tenant, notice("T1", "100.00", "NOTHING")).payment

    after = payments.match_payment(ctx.tenant, ACTOR, paid.id, first.id, ctx.plugins, amount="60.00", reason="split")
    assert (after.reconciliation, after.allocated_minor) == ("partially_matched", 6000)
    after = payments.match_payment(ctx.tenant, ACTOR, paid.id, second.id, ctx.plugins, reason="split")
    assert (after.reconciliation, after.allocated_minor) == ("matched", 10000)
    assert [p.id for p in payments.list_payments(ctx.tenant, order_id=second.id)] == [paid.id]
    assert "payment.matched" in [event["event_type"] for event in ctx.announced]

    after = payments.unmatch_payment(ctx.tenant, ACTOR, paid.id, ctx.plugins, order_id=first.id, reason="wrong")
    assert (after.reconciliation, after.allocated_minor) == ("partially_matched", 4000)
    assert SalesOrder.get_by_id(first.id).amount_paid_minor == 0
    assert "payment.unmatched" in [event["event_type"] for event in ctx.announced]


def test_manual_match_refusals_are_domain_errors_with_the_api_messages(ctx):
    order = new_order(ctx.tenant, "INV-1", "60.00")
    paid = record(ctx.engine, ctx.tenant, notice("T1", "100.00", "NOTHING")).payment
    foreign = new_order(ctx.other, "INV-9")

    with pytest.raises(NotFound, match=f"^order {foreign.id} not found$"):
        payments.match_payment(ctx.tenant, ACTOR, paid.id, foreign.id, ctx.plugins)
    with pytest.raises(NotFound, match=f"^payment {paid.id} not found$"):
        payments.match_payment(ctx.other, ACTOR, paid.id, foreign.id, ctx.plugins)
    with pytest.raises(Invalid) as invalid:
        payments.match_payment(ctx.tenant, ACTOR, paid.id, order.id, ctx.plugins, amount="1.001")
    assert list(invalid.value.fields) == ["amount"]
    with pytest.raises(Conflict) as refused:
        payments.match_payment(ctx.tenant, ACTOR, paid.id, order.id, ctx.plugins, amount="100.01")
    assert refused.value.message == "the amount is more than the unallocated part of the payment"
    with pytest.raises(Conflict, match="^nothing to unmatch: no live allocation to that order$"):
        payments.unmatch_payment(ctx.tenant, ACTOR, paid.id, ctx.plugins, order_id=order.id)
    with pytest.raises(NotFound, match=f"^order {foreign.id} not found$"):
        payments.unmatch_payment(ctx.tenant, ACTOR, paid.id, ctx.plugins, order_id=foreign.id)

    unchanged = Payment.get_by_id(paid.id)
    assert (unchanged.reconciliation, unchanged.allocated_minor) == ("unmatched", 0)
    assert ctx.announced == []


def test_settings_update_changes_only_what_is_given_and_is_audited(ctx):
    names = ctx.engine.strategy_names
    changed = tenant_settings.update_rules(
        ctx.tenant, ACTOR, {"disabled_strategies": [names[-1]], "tolerances": {"ngn": "1.50"}}, strategy_names=names
    )
    assert changed.disabled_strategies == {names[-1]} and changed.tolerances == {"NGN": 150}
    changed = tenant_settings.update_rules(ctx.tenant, ACTOR, {"customer_window_days": 3}, strategy_names=names)
    assert (changed.customer_window_days, changed.tolerances) == (3, {"NGN": 150})
    assert tenant_settings.get_rules(ctx.tenant) == changed
    assert tenant_settings.get_rules(ctx.other).tolerances == {}
    assert audit_actions(ctx.tenant, ctx.tenant, "tenant") == [("settings.changed", ACTOR)] * 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"disabled_strategies": ["no_such"]}, "disabled_strategies"), ({"tolerances": {"NGN": "x"}}, "tolerances")],
)
def test_settings_update_refuses_with_the_field_named_and_writes_nothing(ctx, changes, field):
    with pytest.raises(Invalid) as refused:
        tenant_settings.update_rules(ctx.tenant, ACTOR, changes, strategy_names=ctx.engine.strategy_names)
    assert list(refused.value.fields) == [field]
    assert tenant_settings.get_rules(ctx.tenant) == tenant_settings.get_rules(ctx.other)
    assert audit_actions(ctx.tenant, ctx.tenant, "tenant") == []


def test_settings_changed_by_someone_else_meanwhile_are_kept(ctx, monkeypatch):
    """Another change committed after this one read the rules but before it wrote them (two
    PATCHes of different fields at once) must survive: the rules are read in the writing
    transaction, under its lock."""
    names = ctx.engine.strategy_names
    real_transaction = tenant_settings.write_transaction
    meanwhile = []

    def transaction_after_another_change():
        if not meanwhile:
            meanwhile.append("someone")
            tenant_settings.update_rules(ctx.tenant, "someone", {"tolerances": {"NGN": "2.00"}}, strategy_names=names)
        return real_transaction()

    monkeypatch.setattr(tenant_settings, "write_transaction", transaction_after_another_change)
    changed = tenant_settings.update_rules(ctx.tenant, ACTOR, {"customer_window_days": 3}, strategy_names=names)
    assert meanwhile and (changed.customer_window_days, changed.tolerances) == (3, {"NGN": 200})
    assert tenant_settings.get_rules(ctx.tenant) == changed


def test_two_settings_changes_at_once_both_survive(app, ctx, monkeypatch):
    """The second change waits for the first one's lock (FOR UPDATE on PostgreSQL, the write
    lock on SQLite) and then reads what the first wrote, instead of writing over it."""
    names = ctx.engine.strategy_names
    real_audit = tenant_settings.record_audit
    first_inside, let_first_commit = threading.Event(), threading.Event()
    errors = []

    def audit_then_hold(*args):
        real_audit(*args)
        if args[1] == "first":
            first_inside.set()
            let_first_commit.wait(JOIN_TIMEOUT)

    def change(actor, fields):
        try:
            with app.app_context():
                tenant_settings.update_rules(ctx.tenant, actor, fields, strategy_names=names)
        except Exception as exc:
            errors.append(exc)
        finally:
            db.close()

    monkeypatch.setattr(tenant_settings, "record_audit", audit_then_hold)
    first = threading.Thread(target=change, args=("first", {"customer_window_days": 3}))
    second = threading.Thread(target=change, args=("second", {"tolerances": {"NGN": "2.00"}}))
    first.start()
    assert first_inside.wait(JOIN_TIMEOUT)
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second change did not wait for the first one's lock"
    let_first_commit.set()
    for thread in (first, second):
        thread.join(JOIN_TIMEOUT)
    assert not first.is_alive() and not second.is_alive() and not errors
    rules = tenant_settings.get_rules(ctx.tenant)
    assert (rules.customer_window_days, rules.tolerances) == (3, {"NGN": 200})
