"""The merchant's reconciliation workflow over REST: review queue, match/split/unmatch,
settings, the summary report and the audit log."""

from tests.conftest import core_payload


def queue(client, tenant, states="unmatched,ambiguous,exception,orphan,partially_matched"):
    response = client.get("/api/v1/payments", query_string={"reconciliation": states}, headers=tenant["headers"])
    assert response.status_code == 200, response.json
    return [p["external_id"] for p in response.json]


def test_review_queue_match_split_and_unmatch(client, tenant, create_order, post_core):
    first = create_order(reference="INV-1", amount="60.00")
    second = create_order(reference="INV-2", amount="40.00")
    paid = post_core(core_payload(tenant["tenant_id"], transactionRef="T1", paymentRef="NO-SUCH", amount="100.00"))
    payment_id = paid.json["payment_id"]
    assert queue(client, tenant) == ["T1"]

    split = client.post(
        f"/api/v1/payments/{payment_id}/match",
        json={"order_id": first["id"], "amount": "60.00", "reason": "two orders"},
        headers=tenant["headers"],
    )
    assert split.status_code == 200, split.json
    assert (split.json["reconciliation"], split.json["allocated"]) == ("partially_matched", "60.00")
    rest = client.post(
        f"/api/v1/payments/{payment_id}/match", json={"order_id": second["id"]}, headers=tenant["headers"]
    )
    assert rest.json["reconciliation"] == "matched"
    assert sorted(a["order_id"] for a in rest.json["allocations"]) == sorted([first["id"], second["id"]])
    assert all(a["matched_by"] == "manual" and a["created_by"].startswith("api_key:") for a in rest.json["allocations"])
    assert queue(client, tenant) == []

    undone = client.post(
        f"/api/v1/payments/{payment_id}/unmatch",
        json={"order_id": second["id"], "reason": "oops"},
        headers=tenant["headers"],
    )
    assert (undone.json["reconciliation"], undone.json["allocated"]) == ("partially_matched", "60.00")
    order_two = client.get(f"/api/v1/orders/{second['id']}", headers=tenant["headers"]).json
    assert (order_two["status"], order_two["amount_paid"]) == ("open", "0.00")


def test_manual_changes_that_break_rules_are_409(client, tenant, create_order, post_core):
    usd = create_order(reference="USD-1", currency="USD", amount="10.00")
    cancelled = create_order(reference="GONE")
    client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=tenant["headers"])
    target = create_order(reference="INV-9", amount="10.00")
    payment_id = post_core(core_payload(tenant["tenant_id"], paymentRef="NONE", amount="10.00")).json["payment_id"]

    def match(body):
        return client.post(f"/api/v1/payments/{payment_id}/match", json=body, headers=tenant["headers"])

    assert match({"order_id": usd["id"]}).status_code == 409
    assert match({"order_id": cancelled["id"]}).status_code == 409
    assert match({"order_id": target["id"], "amount": "10.01"}).status_code == 409
    assert match({"order_id": target["id"], "amount": "1.001"}).status_code == 422
    assert match({"order_id": target["id"], "amount": "-1"}).status_code == 422
    assert match({"order_id": 99999}).status_code == 404
    assert match({"order_id": "abc"}).status_code == 422
    nothing = client.post(f"/api/v1/payments/{payment_id}/unmatch", json={}, headers=tenant["headers"])
    assert nothing.status_code == 409


def test_another_tenants_payment_or_order_cannot_be_matched(client, tenant, other_tenant, create_order, post_core):
    payment_id = post_core(core_payload(tenant["tenant_id"], paymentRef="NONE")).json["payment_id"]
    foreign_order = create_order(reference="THEIRS", headers=other_tenant["headers"])
    mine = create_order(reference="MINE")
    assert (
        client.post(
            f"/api/v1/payments/{payment_id}/match", json={"order_id": foreign_order["id"]}, headers=tenant["headers"]
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/payments/{payment_id}/match", json={"order_id": mine["id"]}, headers=other_tenant["headers"]
        ).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/payments/{payment_id}/unmatch", json={}, headers=other_tenant["headers"]).status_code
        == 404
    )


def test_settings_switch_strategies_and_set_tolerance(client, tenant, create_order, post_core):
    shown = client.get("/api/v1/settings/reconciliation", headers=tenant["headers"]).json
    assert shown["strategies"] == ["reference", "virtual_account", "amount_customer"]
    assert (shown["disabled_strategies"], shown["customer_window_days"], shown["tolerances"]) == ([], 30, {})

    changed = client.patch(
        "/api/v1/settings/reconciliation",
        json={"disabled_strategies": ["reference"], "tolerances": {"ngn": "1.50"}},
        headers=tenant["headers"],
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["tolerances"] == {"NGN": "1.50"}
    create_order(reference="INV-1")
    assert post_core(core_payload(tenant["tenant_id"])).json["reconciliation"] == "unmatched"

    for body in (
        {"disabled_strategies": ["telepathy"]},
        {"tolerances": {"NGN": "0.001"}},
        {"tolerances": {"XYZ": "1"}},
        {"customer_window_days": -1},
        {"customer_window_days": "7"},
    ):
        response = client.patch("/api/v1/settings/reconciliation", json=body, headers=tenant["headers"])
        assert response.status_code == 422, body


def test_summary_report_totals_per_currency(client, tenant, create_order, post_core):
    create_order(reference="INV-1", amount="100.00")
    create_order(reference="INV-2", amount="50.00", currency="USD")
    post_core(core_payload(tenant["tenant_id"], transactionRef="T1", paymentRef="INV-1", amount="100.00"))
    post_core(core_payload(tenant["tenant_id"], transactionRef="T2", paymentRef="NONE", amount="7.50"))
    report = client.get("/api/v1/reports/summary", headers=tenant["headers"])
    assert report.status_code == 200, report.json
    body = report.json
    by_state = {
        (r["reconciliation"], r["currency"]): (r["count"], r["amount"]) for r in body["payments"]["by_reconciliation"]
    }
    assert by_state == {("matched", "NGN"): (1, "100.00"), ("unmatched", "NGN"): (1, "7.50")}
    assert body["payments"]["by_provider"] == [{"provider": "core", "currency": "NGN", "count": 2, "amount": "107.50"}]
    orders = {
        (r["status"], r["currency"]): (r["count"], r["amount"], r["amount_paid"]) for r in body["orders"]["by_status"]
    }
    assert orders == {("paid", "NGN"): (1, "100.00", "100.00"), ("open", "USD"): (1, "50.00", "0.00")}
    assert body["unallocated"] == [{"currency": "NGN", "count": 1, "amount": "7.50"}]
    empty = client.get(
        "/api/v1/reports/summary", query_string={"to": "2000-01-01T00:00:00Z"}, headers=tenant["headers"]
    ).json
    assert empty["payments"]["by_reconciliation"] == [] and empty["unallocated"] == []
    bad = client.get("/api/v1/reports/summary", query_string={"from": "yesterday"}, headers=tenant["headers"])
    assert bad.status_code == 422


def test_audit_log_records_engine_and_people(client, tenant, create_order, post_core):
    order = create_order(reference="INV-1001")
    payment_id = post_core(core_payload(tenant["tenant_id"])).json["payment_id"]
    client.post(f"/api/v1/payments/{payment_id}/unmatch", json={"reason": "checking"}, headers=tenant["headers"])
    entries = client.get(
        "/api/v1/audit",
        query_string={"object_type": "payment", "object_id": str(payment_id)},
        headers=tenant["headers"],
    ).json
    actions = [(e["actor"], e["action"]) for e in reversed(entries)]
    assert actions[:2] == [("engine", "payment.recorded"), ("engine", "allocation.created")]
    assert actions[-1][1] == "allocation.released" and actions[-1][0].startswith("api_key:")
    assert entries[0]["details"]["reason"] == "unmatched by " + actions[-1][0] + ": checking"
    created = client.get("/api/v1/audit", query_string={"action": "order.created"}, headers=tenant["headers"]).json
    assert [e["object_id"] for e in created] == [str(order["id"])]
