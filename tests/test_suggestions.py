"""Suggestions for an unmatched payment: ranked orders with their evidence, accepted as a manual
match, declined for good; over the service and the REST API."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from flux_recon.models import Allocation, AuditEntry, Payment, SalesOrder, db
from flux_recon.services import suggestions
from flux_recon.services.errors import Conflict, NotFound
from tests.engine_helpers import NOW, make_order, new_tenant, notice, payment, record

ACTOR = "api_key:test"
NO_PLUGINS = SimpleNamespace(hook=SimpleNamespace(flux_recon_event=lambda event: None))


@pytest.fixture
def engine(app):
    with app.app_context():
        yield app.extensions["engine"]
    db.close()


def scene(engine, tenant):
    """An unmatched payment "INV1001" of 100.00 from ada@example.com, and orders that are
    more or less likely to be what it pays."""
    best = make_order(tenant, "INV-1001", "100.00", customer={"email": "ada@example.com", "name": "Ada Obi"})
    same_amount = make_order(tenant, "INV-2000", "100.00")
    same_customer = make_order(tenant, "INV-3000", "55.00", customer={"email": "ada@example.com"})
    make_order(tenant, "INV-4000", "55.00")  # nothing in common
    make_order(tenant, "INV1001-USD", "100.00", currency="USD")  # another currency
    record(
        engine,
        tenant,
        notice("TX-1", "100.00", "INV1001", payer={"name": "ADA  OBI", "email": "Bob@example.com"}, at=NOW),
    )
    return SimpleNamespace(
        payment=payment(tenant, "TX-1"), best=best, same_amount=same_amount, same_customer=same_customer
    )


def test_ranked_with_evidence_that_adds_up_to_the_score(engine):
    tenant = new_tenant()
    s = scene(engine, tenant)
    assert s.payment.reconciliation == "unmatched"
    _, ranked = suggestions.suggest(tenant, s.payment.id)
    assert [x.order.reference for x in ranked] == ["INV-1001", "INV-2000"]
    top = ranked[0]
    kinds = {e.kind: e.detail for e in top.evidence}
    assert kinds["reference"] == "reference INV1001 ≈ order INV-1001"
    assert kinds["amount"] == "same amount 100.00 NGN"
    assert kinds["name"] == "same customer name Ada Obi"
    assert kinds["time"] == "paid 24 h after the order was created"
    assert top.score == sum(e.points for e in top.evidence) == 50 + 25 + 10 + 10
    assert {e.kind for e in ranked[1].evidence} == {"amount", "time"}
    # The payer's email differs from INV-3000's, and its amount too: not suggested.
    assert s.same_customer.id not in [x.order.id for x in ranked]


def test_customer_lookup_finds_an_order_by_email_or_phone(engine):
    tenant = new_tenant()
    order = make_order(tenant, "ORD-77", "80.00", customer={"phone": "+2348030000000"})
    record(engine, tenant, notice("TX-P", "60.00", "no-such-ref", payer={"phone": "+2348030000000"}))
    _, ranked = suggestions.suggest(tenant, payment(tenant, "TX-P").id)
    assert [(x.order.id, [e.kind for e in x.evidence]) for x in ranked] == [(order.id, ["phone", "time"])]


def test_declined_is_never_suggested_again_and_declining_twice_is_one_decline(engine):
    tenant = new_tenant()
    s = scene(engine, tenant)
    first = suggestions.decline(tenant, ACTOR, s.payment.id, s.best.id, note="another Ada")
    again = suggestions.decline(tenant, ACTOR, s.payment.id, s.best.id, note="twice")
    assert (again.id, again.note) == (first.id, "another Ada")
    _, ranked = suggestions.suggest(tenant, s.payment.id)
    assert [x.order.reference for x in ranked] == ["INV-2000"]
    assert suggestions.declined_orders(s.payment.id) == [s.best.id]
    declined = AuditEntry.select().where(AuditEntry.action == "suggestion.declined")
    assert [(e.object_id, e.details) for e in declined] == [
        (str(s.payment.id), {"order_id": s.best.id, "note": "another Ada"})
    ]
    with pytest.raises(Conflict):
        suggestions.accept(tenant, ACTOR, s.payment.id, s.best.id, NO_PLUGINS)


def test_accepting_is_a_manual_match_with_the_evidence_in_the_audit_log(engine):
    tenant = new_tenant()
    s = scene(engine, tenant)
    matched, accepted = suggestions.accept(tenant, ACTOR, s.payment.id, s.best.id, NO_PLUGINS, note="checked")
    assert (matched.reconciliation, matched.allocated_minor) == ("matched", 10000)
    (allocation,) = Allocation.select().where(Allocation.payment == s.payment.id)
    assert (allocation.order_id, allocation.matched_by, allocation.created_by) == (s.best.id, "manual", ACTOR)
    assert SalesOrder.get_by_id(s.best.id).status == "paid"
    entry = AuditEntry.get(AuditEntry.action == "suggestion.accepted")
    assert entry.details["score"] == accepted.score
    assert entry.details["note"] == "checked"
    assert "reference INV1001 ≈ order INV-1001" in Payment.get_by_id(s.payment.id).reconciliation_reason
    # Matched now: no more suggestions, nothing more to accept.
    with pytest.raises(Conflict):
        suggestions.suggest(tenant, s.payment.id)
    with pytest.raises(Conflict):
        suggestions.accept(tenant, ACTOR, s.payment.id, s.same_amount.id, NO_PLUGINS)


def test_an_order_nothing_links_cannot_be_accepted_and_other_tenants_are_not_found(engine):
    tenant, other = new_tenant(), new_tenant()
    s = scene(engine, tenant)
    unrelated = SalesOrder.get((SalesOrder.tenant == tenant) & (SalesOrder.reference == "INV-4000"))
    with pytest.raises(Conflict):
        suggestions.accept(tenant, ACTOR, s.payment.id, unrelated.id, NO_PLUGINS)
    assert Payment.get_by_id(s.payment.id).allocated_minor == 0
    foreign = make_order(other, "INV-1001", "100.00")
    for call in (
        lambda: suggestions.suggest(other, s.payment.id),
        lambda: suggestions.accept(tenant, ACTOR, s.payment.id, foreign.id, NO_PLUGINS),
        lambda: suggestions.decline(tenant, ACTOR, s.payment.id, foreign.id),
        lambda: suggestions.decline(other, ACTOR, s.payment.id, foreign.id),
    ):
        with pytest.raises(NotFound):
            call()


def test_far_apart_in_time_earns_no_time_evidence(engine):
    tenant = new_tenant()
    make_order(tenant, "INV-OLD", "10.00", created_at=NOW - dt.timedelta(days=60))
    record(engine, tenant, notice("TX-OLD", "10.00", "INV OLD"))
    _, (only,) = suggestions.suggest(tenant, payment(tenant, "TX-OLD").id)
    assert [e.kind for e in only.evidence] == ["reference", "amount"]


def test_compact_reference_lookup_uses_its_index_on_sqlite(engine, backend):
    if backend != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    from flux_recon.models.exception_decision import compact_sql

    for column, index in (
        (SalesOrder.reference_key, "sales_order_reference_compact"),
        (SalesOrder.payment_reference_key, "sales_order_payment_reference_compact"),
    ):
        query = SalesOrder.select().where((SalesOrder.tenant == "t") & (compact_sql(column) == "inv1001")).limit(20)
        sql, params = query.sql()
        plan = " ".join(str(row[-1]) for row in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
        assert index in plan, plan
    from peewee import SQL

    query = SalesOrder.select().where(
        (SalesOrder.tenant == "t")
        & (SalesOrder.currency == "NGN")
        & (SalesOrder.status == SQL("'open'"))
        & (SalesOrder.amount_minor == 100)
    )
    sql, params = query.sql()
    plan = " ".join(str(row[-1]) for row in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
    assert "sales_order_open_amount" in plan, plan


# ------------------------------------------------------------------ over the REST API


@pytest.fixture
def api_scene(app, tenant):
    with app.app_context():
        s = scene(app.extensions["engine"], tenant["tenant_id"])
    db.close()
    return s


def test_rest_suggest_accept_and_decline(client, tenant, api_scene):
    headers = tenant["headers"]
    path = f"/api/v1/payments/{api_scene.payment.id}/suggestions"
    shown = client.get(path, headers=headers)
    assert shown.status_code == 200, shown.json
    assert shown.json["payment_id"] == api_scene.payment.id
    top = shown.json["suggestions"][0]
    assert (top["order"]["reference"], top["order"]["outstanding"], top["score"]) == ("INV-1001", "100.00", 95)
    assert {"kind": "amount", "points": 25, "detail": "same amount 100.00 NGN"} in top["evidence"]

    declined = client.post(f"{path}/{api_scene.same_amount.id}/decline", json={"note": "no"}, headers=headers)
    assert declined.status_code == 200, declined.json
    assert (declined.json["order_id"], declined.json["note"]) == (api_scene.same_amount.id, "no")
    again = client.get(path, headers=headers).json
    assert [x["order"]["id"] for x in again["suggestions"]] == [api_scene.best.id]
    assert again["declined_order_ids"] == [api_scene.same_amount.id]

    refused = client.post(f"{path}/{api_scene.same_amount.id}/accept", headers=headers)
    assert refused.status_code == 409, refused.json
    accepted = client.post(f"{path}/{api_scene.best.id}/accept", json={"note": "phoned Ada"}, headers=headers)
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["payment"]["reconciliation"] == "matched"
    assert accepted.json["payment"]["allocations"][0]["order_id"] == api_scene.best.id
    assert accepted.json["suggestion"]["score"] == 95
    assert client.get(path, headers=headers).status_code == 409


def test_rest_refusals_name_the_problem(client, tenant, other_tenant, api_scene):
    path = f"/api/v1/payments/{api_scene.payment.id}/suggestions"
    assert client.get(path, headers=other_tenant["headers"]).status_code == 404
    assert client.get("/api/v1/payments/999999/suggestions", headers=tenant["headers"]).status_code == 404
    assert client.get(f"{path}?limit=0", headers=tenant["headers"]).status_code == 422
    assert client.post(f"{path}/999999/accept", headers=tenant["headers"]).status_code == 404
    long_note = client.post(f"{path}/{api_scene.best.id}/decline", json={"note": "x" * 1001}, headers=tenant["headers"])
    assert long_note.status_code == 422
    assert "note" in long_note.json["errors"]["json"]
    assert client.get(path).status_code == 401
