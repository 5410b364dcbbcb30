"""/api/v1/payments: list with filters, show with allocations, tenant isolation."""

from tests.conftest import core_payload


def test_show_payment_with_its_allocation(client, tenant, create_order, post_core):
    created = create_order()
    payment_id = post_core(core_payload(tenant["tenant_id"])).json["payment_id"]
    payment = client.get(f"/api/v1/payments/{payment_id}", headers=tenant["headers"]).json
    assert payment["external_id"] == "TRX-0001"
    assert (payment["amount"], payment["allocated"], payment["currency"]) == ("15000.00", "15000.00", "NGN")
    assert payment["reconciliation"] == "matched"
    assert payment["payer"]["email"] == "ada@example.com"
    (allocation,) = payment["allocations"]
    assert allocation["order_id"] == created["id"]
    assert allocation["matched_by"] == "reference"
    assert allocation["amount"] == "15000.00"


def test_list_filters(client, tenant, create_order, post_core):
    created = create_order()
    post_core(core_payload(tenant["tenant_id"], transactionRef="T1"))
    post_core(core_payload(tenant["tenant_id"], transactionRef="T2", paymentRef="UNKNOWN"))
    post_core(core_payload(tenant["tenant_id"], transactionRef="T3", status="failed"))

    def ids(**query):
        listed = client.get("/api/v1/payments", query_string=query, headers=tenant["headers"])
        assert listed.status_code == 200, listed.json
        return [p["external_id"] for p in listed.json]

    assert ids() == ["T3", "T2", "T1"]
    assert ids(reconciliation="unmatched") == ["T2"]
    assert ids(reconciliation="matched") == ["T1"]
    assert ids(status="failed") == ["T3"]
    assert ids(provider="core") == ["T3", "T2", "T1"]
    assert ids(provider="monnify") == []
    assert ids(reference="UNKNOWN") == ["T2"]
    assert ids(order_id=created["id"]) == ["T1"]
    assert ids(received_from="2000-01-01T00:00:00Z") == ["T3", "T2", "T1"]
    assert ids(received_to="2000-01-01T00:00:00Z") == []
    bad = client.get("/api/v1/payments", query_string={"reconciliation": "lost"}, headers=tenant["headers"])
    assert bad.status_code == 422


def test_another_tenants_payment_is_404(client, tenant, other_tenant, post_core):
    payment_id = post_core(core_payload(tenant["tenant_id"])).json["payment_id"]
    assert client.get(f"/api/v1/payments/{payment_id}", headers=other_tenant["headers"]).status_code == 404
    assert client.get("/api/v1/payments", headers=other_tenant["headers"]).json == []
    assert client.get("/api/v1/payments/999999", headers=tenant["headers"]).status_code == 404
