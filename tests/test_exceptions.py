"""The exception queue: items derived from payments, orders and the inbox, with reasons, messages,
filters, sorting, pages, and resolve / re-open decisions that never change money."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from decimal import Decimal

import pytest
from playhouse.migrations import Runner
from playhouse.schema_diff import diff_models

from flux_recon.core.states import Verdict
from flux_recon.models import ALL_MODELS, AuditEntry, Integration, Payment, SalesOrder, WebhookEvent, db
from flux_recon.models.connections import MIGRATIONS_DIR
from flux_recon.services import exceptions
from flux_recon.services.errors import Conflict, Invalid, NotFound
from flux_recon.services.exceptions import ExceptionSource, Filters
from tests.engine_helpers import make_order, new_tenant, notice, payment, record

ACTOR = "api_key:test"


@pytest.fixture
def engine(app):
    with app.app_context():
        yield app.extensions["engine"]
    db.close()


def unrecognized_webhook(
    tenant_id, provider="opay", reason="Opay callback type 'refund-status' is not one this plugin reads"
):
    integration = Integration.create(tenant=tenant_id, provider=provider, token=secrets.token_hex(16))
    return WebhookEvent.create(
        tenant=tenant_id,
        integration=integration,
        provider=provider,
        source_ip="127.0.0.2",
        verdict=Verdict.UNRECOGNIZED,
        reason=reason,
        http_status=200,
        authenticated=True,
    )


def every_reason(engine, tenant):
    """One item of each built-in reason; returns {reason: item id}."""
    make_order(tenant, "INV-1001", "50.00")
    record(engine, tenant, notice("TX-NONE", "50.00", "INV-1010"))
    for ref in ("INV-A1", "INV-A2"):
        make_order(tenant, ref, "70.00", customer={"email": "ada@example.com"})
    record(engine, tenant, notice("TX-AMB", "70.00", payer={"email": "ada@example.com"}))
    make_order(tenant, "INV-C", "20.00", status="cancelled")
    record(engine, tenant, notice("TX-CAN", "20.00", "INV-C"))
    make_order(tenant, "INV-U", "30.00", currency="USD")
    record(engine, tenant, notice("TX-CUR", "30.00", "INV-U"))
    make_order(tenant, "INV-R", "100.00")
    record(engine, tenant, notice("TX-PAID", "100.00", "INV-R"))
    record(engine, tenant, notice("RF-BIG", "150.00", kind="refund", parent="TX-PAID"))
    record(engine, tenant, notice("RF-ORPHAN", "10.00", kind="refund", parent="TX-NEVER"))
    under = make_order(tenant, "INV-H", "100.00")
    record(engine, tenant, notice("TX-HALF", "40.00", "INV-H"))
    over = make_order(tenant, "INV-O", "100.00")
    record(engine, tenant, notice("TX-OVER", "150.00", "INV-O"))
    hook = unrecognized_webhook(tenant)
    ids = {
        "no_order": f"payment:{payment(tenant, 'TX-NONE').id}",
        "ambiguous": f"payment:{payment(tenant, 'TX-AMB').id}",
        "order_cancelled": f"payment:{payment(tenant, 'TX-CAN').id}",
        "currency_mismatch": f"payment:{payment(tenant, 'TX-CUR').id}",
        "refund_exceeds_payment": f"payment:{payment(tenant, 'RF-BIG').id}",
        "orphan_refund": f"payment:{payment(tenant, 'RF-ORPHAN').id}",
        "underpaid_order": f"order:{under.id}",
        "overpaid_order": f"order:{over.id}",
        "unrecognized_webhook": f"webhook:{hook.id}",
    }
    return ids


def everything(tenant, **filters) -> list:
    query = exceptions.list_exceptions(tenant, Filters(**filters))
    return query.paginate(1, 100)


def test_every_reason_with_its_message_amount_and_candidates(engine):
    tenant = new_tenant()
    ids = every_reason(engine, tenant)
    items = {item.id: item for item in everything(tenant)}
    assert {item.reason: item_id for item_id, item in items.items()} == ids
    by_reason = {item.reason: item for item in items.values()}

    no_order = by_reason["no_order"]
    assert "reference INV-1010 vs order INV-1001" in no_order.message
    assert (no_order.amount, no_order.currency, no_order.provider) == ("50.00", "NGN", "core")
    assert no_order.candidates[0]["reference"] == "INV-1001"
    assert no_order.candidates[0]["score"] > 0
    ambiguous = by_reason["ambiguous"]
    assert {c["reference"] for c in ambiguous.candidates} == {"INV-A1", "INV-A2"}
    assert "INV-A1" in ambiguous.message and "INV-A2" in ambiguous.message
    assert "order INV-C is cancelled" in by_reason["order_cancelled"].message
    assert "currency NGN vs order INV-U's USD" in by_reason["currency_mismatch"].message
    assert by_reason["currency_mismatch"].candidates[0]["currency"] == "USD"
    assert "refund 150.00 NGN vs 100.00 NGN left of payment TX-PAID" in by_reason["refund_exceeds_payment"].message
    assert by_reason["refund_exceeds_payment"].amount == "150.00"
    assert "payment TX-NEVER, which has not been received" in by_reason["orphan_refund"].message
    assert by_reason["underpaid_order"].message == "order INV-H paid 40.00 of 100.00 NGN: 60.00 outstanding"
    assert by_reason["underpaid_order"].amount == "60.00"
    assert by_reason["overpaid_order"].message == "order INV-O paid 150.00 of 100.00 NGN: 50.00 over"
    webhook = by_reason["unrecognized_webhook"]
    assert "refund-status" in webhook.message
    assert (webhook.amount, webhook.currency, webhook.provider) == (None, None, "opay")
    assert all(item.status == "open" and item.age_seconds >= 0 for item in items.values())
    assert exceptions.list_exceptions(tenant).count() == len(ids)


def test_filters_by_reason_provider_currency_amount_and_age(engine):
    tenant = new_tenant()
    ids = every_reason(engine, tenant)
    assert [i.id for i in everything(tenant, reasons=["underpaid_order", "no_order"])] == sorted(
        [ids["no_order"], ids["underpaid_order"]], key=lambda i: [i.id for i in everything(tenant)].index(i)
    )
    assert {i.reason for i in everything(tenant, provider="opay")} == {"unrecognized_webhook"}
    # The currency of the money at stake: the payment's NGN, not the USD order it named.
    ngn = everything(tenant, currency="NGN")
    assert {i.currency for i in ngn} == {"NGN"} and len(ngn) == len(ids) - 1
    assert everything(tenant, currency="USD") == []
    big = everything(tenant, currency="NGN", min_amount=Decimal("60.00"))
    assert {i.reason for i in big} == {"ambiguous", "refund_exceeds_payment", "underpaid_order"}
    assert all(Decimal(i.amount) >= 60 for i in big)
    small = everything(tenant, currency="NGN", max_amount=Decimal("20.00"))
    assert {i.reason for i in small} == {"order_cancelled", "orphan_refund"}
    # Payments and webhooks were received seconds ago; an order's age runs from its
    # creation, a day before the helpers' NOW, which is itself days ago.
    old = {i.reason for i in everything(tenant, min_age=dt.timedelta(days=1))}
    assert old == {"underpaid_order", "overpaid_order"}
    recent = {i.reason for i in everything(tenant, max_age=dt.timedelta(minutes=5))}
    assert recent == set(ids) - old


def test_refused_filters_say_what_is_wrong(engine):
    tenant = new_tenant()
    with pytest.raises(Invalid) as no_currency:
        exceptions.list_exceptions(tenant, Filters(min_amount=Decimal("1")))
    assert "currency" in no_currency.value.fields
    with pytest.raises(Invalid) as unknown:
        exceptions.list_exceptions(tenant, Filters(reasons=["no_such_reason"]))
    assert "no_such_reason" in unknown.value.message
    with pytest.raises(Invalid) as too_precise:
        exceptions.list_exceptions(tenant, Filters(currency="NGN", max_amount=Decimal("1.001")))
    assert "max_amount" in too_precise.value.fields


def test_sorted_by_age_or_amount_and_paged_without_overlap(engine):
    tenant = new_tenant()
    ids = every_reason(engine, tenant)
    oldest_first = everything(tenant)
    since = [item.since for item in oldest_first]
    assert since == sorted(since)
    newest_first = everything(tenant, descending=False)
    assert [i.id for i in newest_first] == [i.id for i in reversed(oldest_first)]
    by_amount = everything(tenant, sort="amount")
    ngn = [Decimal(i.amount) for i in by_amount if i.currency == "NGN"]
    assert ngn == sorted(ngn, reverse=True)
    assert by_amount[-1].reason == "unrecognized_webhook"  # no amount: last
    query = exceptions.list_exceptions(tenant, Filters(sort="amount"))
    pages = [query.paginate(page, 2) for page in range(1, 7)]
    assert [i.id for page in pages for i in page] == [i.id for i in by_amount]
    assert [len(page) for page in pages] == [2, 2, 2, 2, 1, 0]
    assert query.count() == len(ids)


def test_resolving_hides_an_item_until_its_state_changes_and_never_touches_money(engine):
    tenant = new_tenant()
    ids = every_reason(engine, tenant)
    before = {p.id: (p.amount_minor, p.allocated_minor, p.reconciliation) for p in Payment.select()}
    under = ids["underpaid_order"]

    resolved = exceptions.resolve(tenant, ACTOR, under, "customer pays the rest next week")
    assert (resolved.status, resolved.decision.note, resolved.decision.actor) == (
        "resolved",
        "customer pays the rest next week",
        ACTOR,
    )
    assert under not in [i.id for i in everything(tenant)]
    assert [i.id for i in everything(tenant, status="resolved")] == [under]
    assert under in [i.id for i in everything(tenant, status="all")]
    with pytest.raises(Conflict):
        exceptions.resolve(tenant, ACTOR, under, "again")
    assert {p.id: (p.amount_minor, p.allocated_minor, p.reconciliation) for p in Payment.select()} == before

    # Another part payment changes the order's state: the item is back, open.
    record(engine, tenant, notice("TX-HALF-2", "10.00", "INV-H"))
    back = exceptions.get_exception(tenant, under)
    assert (back.status, back.amount) == ("open", "50.00")
    assert under in [i.id for i in everything(tenant)]

    exceptions.resolve(tenant, ACTOR, under, "agreed")
    reopened = exceptions.reopen(tenant, ACTOR, under, "customer disputes")
    assert (reopened.status, reopened.decision.status) == ("open", "reopened")
    with pytest.raises(Conflict):
        exceptions.reopen(tenant, ACTOR, under)
    actions = [
        (e.action, e.details["note"])
        for e in AuditEntry.select().where(AuditEntry.object_type == "exception").order_by(AuditEntry.id)
    ]
    assert actions == [
        ("exception.resolved", "customer pays the rest next week"),
        ("exception.resolved", "agreed"),
        ("exception.reopened", "customer disputes"),
    ]


def test_an_item_that_left_the_queue_cannot_be_resolved(engine):
    tenant = new_tenant()
    order = make_order(tenant, "INV-9", "100.00")
    record(engine, tenant, notice("TX-9", "40.00", "INV-9"))
    item = f"order:{order.id}"
    record(engine, tenant, notice("TX-10", "60.00", "INV-9"))  # now paid: not an exception
    with pytest.raises(NotFound):
        exceptions.resolve(tenant, ACTOR, item, "late")
    for bad in ("order", "order:", "order:x", "nothing:1", "order:-1", "order:\u00b2", "order:" + "9" * 40):
        with pytest.raises(NotFound):
            exceptions.get_exception(tenant, bad)


def test_bulk_resolve_resolves_what_it_can_and_says_why_not_for_the_rest(engine):
    tenant = new_tenant()
    ids = every_reason(engine, tenant)
    exceptions.resolve(tenant, ACTOR, ids["ambiguous"], "first")
    result = exceptions.resolve_many(
        tenant, ACTOR, [ids["no_order"], ids["ambiguous"], "payment:999999", ids["orphan_refund"], "bogus"], "batch"
    )
    assert result == {
        "resolved": [ids["no_order"], ids["orphan_refund"]],
        "skipped": [
            {"id": ids["ambiguous"], "reason": "already_resolved"},
            {"id": "payment:999999", "reason": "not_found"},
            {"id": "bogus", "reason": "not_found"},
        ],
    }
    left = {i.reason for i in everything(tenant)}
    assert left == set(ids) - {"no_order", "ambiguous", "orphan_refund"}
    with pytest.raises(Invalid):
        exceptions.resolve_many(tenant, ACTOR, [f"payment:{n}" for n in range(exceptions.MAX_BULK + 1)], "too many")


def test_another_tenants_items_are_not_found_nor_listed(engine):
    tenant, other = new_tenant(), new_tenant()
    ids = every_reason(engine, tenant)
    assert everything(other) == []
    with pytest.raises(NotFound):
        exceptions.get_exception(other, ids["no_order"])
    assert exceptions.resolve_many(other, ACTOR, [ids["no_order"]], "x")["resolved"] == []
    assert exceptions.get_exception(tenant, ids["no_order"]).status == "open"


def test_a_later_module_adds_a_source_without_editing_the_queue(engine):
    class LargeOrders(ExceptionSource):
        """Open orders above 1,000.00: a made-up reason, as a settlement module would add its own."""

        key = "large-order"
        reasons = ("large_order",)

        def columns(self):
            from peewee import Value

            return exceptions.Columns(
                subject_id=SalesOrder.id,
                since=SalesOrder.created_at,
                reason=Value("large_order"),
                fingerprint=SalesOrder.amount_minor.cast("TEXT"),
                amount_minor=SalesOrder.amount_minor,
                currency=SalesOrder.currency,
            )

        def query(self, tenant_id, reasons):
            return SalesOrder.select().where(
                (SalesOrder.tenant == tenant_id) & (SalesOrder.status == "open") & (SalesOrder.amount_minor > 100000)
            )

        def describe(self, tenant_id, reasons):
            rows = SalesOrder.select().where(SalesOrder.id.in_(list(reasons)))
            return {o.id: exceptions.Description(message=f"large {o.reference}", since=o.created_at) for o in rows}

    tenant = new_tenant()
    big = make_order(tenant, "INV-BIG", "5000.00")
    exceptions.register_source(LargeOrders())
    try:
        with pytest.raises(ValueError):
            exceptions.register_source(LargeOrders())
        items = everything(tenant, reasons=["large_order"])
        assert [(i.id, i.message) for i in items] == [(f"large-order:{big.id}", "large INV-BIG")]
        exceptions.resolve(tenant, ACTOR, f"large-order:{big.id}", "expected")
        assert everything(tenant) == []
    finally:
        exceptions.unregister_source("large-order")
    assert "large_order" not in exceptions.known_reasons()


def test_queue_reads_walk_indexes_on_sqlite(engine, backend):
    if backend != "sqlite":
        pytest.skip("the plan checked is SQLite's")
    tenant = new_tenant()
    for source in exceptions.registered_sources():
        columns = source.columns()
        query = source.query(tenant, set(source.reasons))
        sql, params = query.order_by(columns.since).limit(10).sql()
        plan = " ".join(str(row[-1]) for row in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, (source.key, plan)
        assert "SCAN" not in plan.replace("SCAN CONSTANT", ""), (source.key, plan)


def test_migration_0011_goes_down_and_up(app, backend):
    database = app.extensions["database"]
    runner = Runner(database, directory=MIGRATIONS_DIR)
    names = [m.name for m in runner.migrations()]
    later = names[names.index("0011_exception_queue") :]
    for _ in later:
        runner.down()
    assert "exception_decision" not in database.get_tables()
    assert runner.up() == later
    assert not diff_models(database, ALL_MODELS)


def test_amounts_are_exact_in_minor_units(engine):
    tenant = new_tenant()
    make_order(tenant, "INV-Y", "1000", currency="JPY")
    record(engine, tenant, notice("TX-Y", "400", "INV-Y", currency="JPY"))
    (item,) = everything(tenant, currency="JPY", min_amount=Decimal("600"), max_amount=Decimal("600"))
    assert (item.amount, item.currency) == ("600", "JPY")


# ------------------------------------------------------------------ over the REST API


@pytest.fixture
def api_ids(app, tenant):
    with app.app_context():
        ids = every_reason(app.extensions["engine"], tenant["tenant_id"])
    db.close()
    return ids


def test_rest_list_filter_sort_and_pages(client, tenant, api_ids):
    headers = tenant["headers"]
    listed = client.get("/api/v1/exceptions?page_size=100", headers=headers)
    assert listed.status_code == 200, listed.json
    assert {item["reason"]: item["id"] for item in listed.json} == api_ids
    no_order = next(item for item in listed.json if item["reason"] == "no_order")
    assert no_order["amount"] == "50.00" and no_order["currency"] == "NGN"
    assert no_order["subject"]["type"] == "payment" and no_order["status"] == "open"
    assert no_order["candidates"][0]["reference"] == "INV-1001"
    assert isinstance(no_order["age_seconds"], int)

    first = client.get("/api/v1/exceptions?sort=amount&page_size=4", headers=headers)
    assert json.loads(first.headers["X-Pagination"])["total"] == len(api_ids)
    second = client.get("/api/v1/exceptions?sort=amount&page_size=4&page=2", headers=headers)
    amounts = [Decimal(i["amount"]) for i in first.json + second.json if i["currency"] == "NGN"]
    assert amounts == sorted(amounts, reverse=True)
    assert not {i["id"] for i in first.json} & {i["id"] for i in second.json}

    filtered = client.get(
        "/api/v1/exceptions?reason=orphan_refund,refund_exceeds_payment&currency=ngn&max_amount=20&provider=core",
        headers=headers,
    )
    assert [i["reason"] for i in filtered.json] == ["orphan_refund"]
    young = client.get("/api/v1/exceptions?max_age=5m&reason=underpaid_order,no_order", headers=headers)
    assert [i["reason"] for i in young.json] == ["no_order"]
    old = client.get("/api/v1/exceptions?min_age=7d&order=asc", headers=headers)
    assert {i["reason"] for i in old.json} == {"underpaid_order", "overpaid_order"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("reason=nope", "reason"),
        ("min_amount=5", "currency"),
        ("currency=NGN&min_amount=abc", "min_amount"),
        ("currency=NGN&min_amount=1.001", "min_amount"),
        ("min_age=soon", "min_age"),
        ("max_age=999999999999d", "max_age"),
        ("status=closed", "status"),
        ("sort=size", "sort"),
        ("currency=XXXX", "currency"),
    ],
)
def test_rest_refused_filters(client, tenant, query, field):
    """Named where they were sent, in the query: those the query schema refuses and those
    the service refuses (an amount finer than the currency's minor unit) alike."""
    answer = client.get(f"/api/v1/exceptions?{query}", headers=tenant["headers"])
    assert answer.status_code == 422, answer.json
    assert list(answer.json["errors"]) == ["query"], answer.json
    assert field in answer.json["errors"]["query"], answer.json


def test_rest_resolve_reopen_and_bulk(client, tenant, other_tenant, api_ids):
    headers = tenant["headers"]
    item = api_ids["overpaid_order"]
    assert client.post(f"/api/v1/exceptions/{item}/resolve", json={}, headers=headers).status_code == 422
    assert (
        client.post(
            f"/api/v1/exceptions/{item}/resolve", json={"note": "x"}, headers=other_tenant["headers"]
        ).status_code
        == 404
    )
    resolved = client.post(f"/api/v1/exceptions/{item}/resolve", json={"note": "refund sent"}, headers=headers)
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["status"] == "resolved"
    assert resolved.json["decision"]["note"] == "refund sent"
    assert client.post(f"/api/v1/exceptions/{item}/resolve", json={"note": "again"}, headers=headers).status_code == 409
    assert item not in [i["id"] for i in client.get("/api/v1/exceptions", headers=headers).json]
    assert [i["id"] for i in client.get("/api/v1/exceptions?status=resolved", headers=headers).json] == [item]
    assert client.get(f"/api/v1/exceptions/{item}", headers=headers).json["status"] == "resolved"
    reopened = client.post(f"/api/v1/exceptions/{item}/reopen", json={}, headers=headers)
    assert (reopened.status_code, reopened.json["status"]) == (200, "open")
    assert client.post(f"/api/v1/exceptions/{item}/reopen", json={}, headers=headers).status_code == 409

    bulk = client.post(
        "/api/v1/exceptions/resolve",
        json={"ids": [api_ids["no_order"], api_ids["unrecognized_webhook"], "order:0"], "note": "month end"},
        headers=headers,
    )
    assert bulk.status_code == 200, bulk.json
    assert bulk.json == {
        "resolved": [api_ids["no_order"], api_ids["unrecognized_webhook"]],
        "skipped": [{"id": "order:0", "reason": "not_found"}],
    }
    assert client.post("/api/v1/exceptions/resolve", json={"ids": [], "note": "x"}, headers=headers).status_code == 422
    assert client.get("/api/v1/exceptions/payment:999999", headers=headers).status_code == 404
    assert client.get("/api/v1/exceptions").status_code == 401
