"""The tenant boundary: every merchant endpoint with an id answers 404 to another tenant,
exactly as for an id that does not exist, and changes nothing."""

import re

from tests.conftest import core_payload

# A valid body per write endpoint, so validation cannot answer before the tenant check does.
BODIES = {
    "/allowlist": {"cidr": "10.1.2.3"},
    "/credentials": {"label": "intruder"},
    "/regenerate": {},
    "/secrets/<string:name>": {"value": "x"},
    "/match": None,  # filled in with an order of the intruder's own
    "/unmatch": {},
    "/resolve": {"note": "intruder"},
    "/options": {"options": {}},
    "/dry-run": {"body": "{}"},
    "/mappings/<int:integration_id>": {"columns": {"transaction_id": "T", "amount": "A"}, "currency": "NGN"},
}


def body_for(rule: str, intruder_order_id: int):
    for suffix, body in BODIES.items():
        if rule.endswith(suffix):
            return {"order_id": intruder_order_id} if suffix == "/match" else body
    return None


def test_every_endpoint_with_an_id_is_404_to_another_tenant(
    app, client, tenant, other_tenant, core_integration, create_order, post_core
):
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
    subscription = client.post(
        "/api/v1/subscriptions",
        json={
            "label": "s",
            "url": "http://127.0.0.1:9/hook",
            "events": ["payment.received"],
            "authentication": {"type": "none"},
            "signature": {"type": "none"},
        },
        headers=tenant["headers"],
    ).json
    order = create_order()
    payment_id = post_core(core_payload(tenant["tenant_id"])).json["payment_id"]
    delivery = client.get(f"/api/v1/subscriptions/{subscription['id']}/deliveries", headers=tenant["headers"]).json[0]
    scoped = client.post(
        f"/api/v1/integrations/{core_integration['id']}/credentials", json={"label": "x"}, headers=tenant["headers"]
    ).json
    entry = client.get(f"/api/v1/integrations/{core_integration['id']}/allowlist", headers=tenant["headers"]).json
    event = client.get("/api/v1/webhook-events", headers=tenant["headers"]).json[0]
    intruder_order = create_order(reference="THEIRS", headers=other_tenant["headers"])
    # An unmatched payment: an item of the tenant's exception queue.
    unmatched = post_core(core_payload(tenant["tenant_id"], transactionRef="TRX-LOST", paymentRef="NO-SUCH"))
    # A settlement, from a statement in the generic CSV format.
    mapping = {"columns": {"transaction_id": "T", "amount": "A"}, "currency": "NGN"}
    client.put(f"/api/v1/settlements/mappings/{core_integration['id']}", json=mapping, headers=tenant["headers"])
    settlement = client.post(
        f"/api/v1/settlements/imports?integration_id={core_integration['id']}&format=generic_csv"
        "&reference=S-1&settled_at=2026-11-23T00:00:00Z",
        data=b"T,A\nTRX-0001,15000.00\n",
        headers={**tenant["headers"], "Content-Type": "text/csv"},
    ).json["settlements"][0]
    run = client.post("/api/v1/reconciliation-runs", json={"dry_run": True}, headers=tenant["headers"]).json
    ids = {
        "integration_id": core_integration["id"],
        "entry_id": entry["entries"][0]["id"],
        "credential_id": scoped["id"],
        "order_id": order["id"],
        "payment_id": payment_id,
        "event_id": event["id"],
        "subscription_id": subscription["id"],
        "delivery_id": delivery["id"],
        "name": "client_secret",
        "item_id": f"payment:{unmatched.json['payment_id']}",
        "settlement_id": settlement,
        "run_id": run["id"],
    }

    checked = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or not rule.arguments:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            body = body_for(rule.rule, intruder_order["id"])
            response = client.open(path, method=method, json=body, headers=other_tenant["headers"])
            assert response.status_code == 404, (method, path, response.status_code, response.json)
            checked.append((method, rule.rule))

    assert len(checked) >= 24, checked  # the walk really covered the API
    # And nothing was changed through any of them.
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json["status"] == "paid"
    mine = client.get(f"/api/v1/integrations/{core_integration['id']}", headers=tenant["headers"])
    assert mine.status_code == 200 and len(mine.json["credentials"]) == 2
