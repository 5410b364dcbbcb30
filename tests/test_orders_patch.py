"""PATCH /api/v1/orders/{id}: what may change, what is refused, the audit trail and the status."""

from __future__ import annotations

import pytest

from tests.conftest import core_payload


def patch(client, tenant, order_id, body, headers=None):
    return client.patch(f"/api/v1/orders/{order_id}", json=body, headers=headers or tenant["headers"])


def audit(client, tenant, order_id, action="order.updated"):
    entries = client.get(f"/api/v1/audit?object_type=order&object_id={order_id}", headers=tenant["headers"]).json
    return [entry for entry in entries if entry["action"] == action]


def test_fields_sent_change_the_others_stay(client, tenant, create_order):
    order = create_order(
        reference="INV-1", amount="100.00", description="first", customer={"name": "Ada", "email": "ada@example.com"}
    )
    response = patch(
        client,
        tenant,
        order["id"],
        {
            "payment_reference": "PAY-1",
            "virtual_account": " 9900112233 ",
            "customer": {"phone": "+2348000000001", "email": "Ada.Obi@Example.com"},
        },
    )
    assert response.status_code == 200, response.json
    changed = response.json
    assert (changed["payment_reference"], changed["virtual_account"]) == ("PAY-1", "9900112233")
    assert changed["customer"] == {
        "id": None,
        "name": "Ada",
        "email": "ada.obi@example.com",
        "phone": "+2348000000001",
    }
    assert (changed["reference"], changed["amount"], changed["description"]) == ("INV-1", "100.00", "first")
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json == changed

    # null clears an optional field.
    cleared = patch(client, tenant, order["id"], {"payment_reference": None, "description": None}).json
    assert (cleared["payment_reference"], cleared["description"]) == (None, None)


def test_every_change_is_audited_with_before_and_after(client, tenant, create_order):
    order = create_order(reference="INV-1", amount="100.00", customer={"email": "ada@example.com"})
    patch(client, tenant, order["id"], {"reference": "INV-1A", "amount": "120.50", "customer": {"name": "Ada"}})
    [entry] = audit(client, tenant, order["id"])
    assert entry["details"]["changes"] == {
        "reference": {"from": "INV-1", "to": "INV-1A"},
        "amount_minor": {"from": 10000, "to": 12050},
        "customer.name": {"from": None, "to": "Ada"},
    }
    # Sending the values it already has changes nothing and audits nothing.
    same = patch(client, tenant, order["id"], {"reference": "INV-1A", "customer": {"email": "ada@example.com"}})
    assert same.status_code == 200
    assert len(audit(client, tenant, order["id"])) == 1


def test_the_amount_never_goes_below_what_is_allocated(client, tenant, create_order, post_core):
    order = create_order(reference="INV-1", amount="100.00")
    paid = post_core(core_payload(tenant["tenant_id"], paymentRef="INV-1", amount="60.00"))
    assert paid.json["reconciliation"] == "matched"

    refused = patch(client, tenant, order["id"], {"amount": "59.99"})
    assert refused.status_code == 422
    assert "60.00" in refused.json["errors"]["json"]["amount"][0]
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json["amount"] == "100.00"

    # Down to exactly what is allocated: now paid, and order.paid is what the status says.
    lowered = patch(client, tenant, order["id"], {"amount": "60.00"}).json
    assert (lowered["status"], lowered["outstanding"]) == ("paid", "0.00")
    # Back up: partially paid again.
    raised = patch(client, tenant, order["id"], {"amount": "90.00"}).json
    assert (raised["status"], raised["amount_paid"], raised["outstanding"]) == ("partially_paid", "60.00", "30.00")


def test_the_currency_is_fixed_once_money_is_allocated(client, tenant, create_order, post_core):
    order = create_order(reference="INV-1", amount="100.50")
    # Before any payment it may change (the amount kept, if the new currency can hold it).
    assert patch(client, tenant, order["id"], {"currency": "USD"}).json["currency"] == "USD"
    refused = patch(client, tenant, order["id"], {"currency": "JPY"})
    assert refused.status_code == 422 and "amount" in refused.json["errors"]["json"]
    assert patch(client, tenant, order["id"], {"currency": "NGN"}).status_code == 200

    post_core(core_payload(tenant["tenant_id"], paymentRef="INV-1", amount="10.00"))
    refused = patch(client, tenant, order["id"], {"currency": "USD", "amount": "100.50"})
    assert refused.status_code == 422
    assert "currency" in refused.json["errors"]["json"]
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json["currency"] == "NGN"


def test_the_reference_stays_unique(client, tenant, create_order):
    create_order(reference="INV-1")
    second = create_order(reference="INV-2")
    taken = patch(client, tenant, second["id"], {"reference": " inv-1 "})
    assert taken.status_code == 409
    assert "INV-1" in taken.json["message"] or "inv-1" in taken.json["message"]
    # Its own reference in another case is a change, not a clash.
    assert patch(client, tenant, second["id"], {"reference": "inv-2"}).json["reference"] == "inv-2"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reference": "   "}, "reference"),
        ({"amount": "0"}, "amount"),
        ({"amount": "10.001"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"customer": {"email": "nope"}}, "customer"),
        ({"amount": "1.5", "currency": "JPY"}, "amount"),
        ({"virtual_account": "9" * 65}, "virtual_account"),
    ],
)
def test_invalid_changes_are_422_naming_the_field(client, tenant, create_order, body, field):
    order = create_order(reference="INV-1", amount="100.00")
    response = patch(client, tenant, order["id"], body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]["json"]
    # Unchanged (the order's own page adds what of it is settled).
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json == {
        **order,
        "amount_settled": "0.00",
    }


def test_a_cancelled_or_another_tenants_order_cannot_be_changed(client, tenant, other_tenant, create_order):
    order = create_order(reference="INV-1")
    assert patch(client, tenant, order["id"], {"amount": "1.00"}, headers=other_tenant["headers"]).status_code == 404
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=tenant["headers"])
    refused = patch(client, tenant, order["id"], {"description": "late"})
    assert refused.status_code == 409
    assert patch(client, tenant, 999999, {"description": "x"}).status_code == 404


def test_patch_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/orders/{order_id}"]["patch"]
    assert {"200", "404", "409", "422"} <= operation["responses"].keys()
