"""The core webhook reconciles an order end to end through the Flask test client."""

from tests.conftest import core_payload


def test_signed_core_webhook_pays_the_order(client, tenant, create_order, post_core):
    order = create_order()
    response = post_core(core_payload(tenant["tenant_id"]))
    assert response.status_code == 200, response.json
    assert response.json["status"] == "accepted"
    assert response.json["reconciliation"] == "matched"
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json
    assert shown["status"] == "paid"
    assert shown["amount_paid"] == "15000.00"
