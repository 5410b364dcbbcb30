"""/api/v1/orders: create, list with filters and pages, show, cancel; tenant isolation."""

import json
from decimal import Decimal

import pytest

from flux_recon.models import db
from flux_recon.services import orders
from tests.conftest import core_payload


def test_create_and_show_an_order(client, tenant, create_order):
    created = create_order(
        reference=" INV-9 ",
        amount="1500.5",
        payment_reference="PAY-9",
        virtual_account="9912345678",
        customer={"id": "C-1", "email": "Ada@Example.com", "name": "Ada", "phone": "+234"},
    )
    assert created["reference"] == "INV-9"
    assert (created["amount"], created["amount_paid"], created["outstanding"]) == ("1500.50", "0.00", "1500.50")
    assert created["status"] == "open"
    assert created["customer"]["email"] == "ada@example.com"
    shown = client.get(f"/api/v1/orders/{created['id']}", headers=tenant["headers"]).json
    # The order's own page adds how much of what paid it is settled.
    assert shown == {**created, "amount_settled": "0.00"}


def test_json_number_amount_is_read_exactly(client, tenant):
    body = b'{"reference": "N-1", "amount": 1000.10, "currency": "NGN"}'
    response = client.post(
        "/api/v1/orders", data=body, headers={**tenant["headers"], "Content-Type": "application/json"}
    )
    assert response.status_code == 201
    assert response.json["amount"] == "1000.10"


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"amount": "10.001"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"reference": ""}, "reference"),
        ({"customer": {"email": "not-an-email"}}, "customer"),
    ],
)
def test_invalid_orders_are_422_with_the_field_named(client, tenant, fields, error_field):
    body = {"reference": "INV-1", "amount": "10.00", "currency": "NGN", **fields}
    response = client.post("/api/v1/orders", json=body, headers=tenant["headers"])
    assert response.status_code == 422
    assert error_field in response.json["errors"]["json"]


def test_reference_is_unique_per_tenant_ignoring_case(client, tenant, other_tenant, create_order):
    create_order(reference="INV-1")
    again = client.post(
        "/api/v1/orders", json={"reference": "inv-1", "amount": "1", "currency": "NGN"}, headers=tenant["headers"]
    )
    assert again.status_code == 409
    create_order(reference="INV-1", headers=other_tenant["headers"])  # another tenant may use it


def test_a_reference_that_grows_when_case_folded_is_stored_alike_on_every_database(client, tenant, create_order):
    # 200 characters, whose case-folded matching form is 400 (ß -> ss) and 600 (ΐ -> three).
    create_order(reference="ß" * 150, payment_reference="ΐ" * 200)
    found = client.get("/api/v1/orders", query_string={"reference": "SS" * 150}, headers=tenant["headers"]).json
    assert [o["reference"] for o in found] == ["ß" * 150]
    again = client.post(
        "/api/v1/orders",
        json={"reference": "ss" * 50 + "ß" * 100, "amount": "1", "currency": "NGN"},
        headers=tenant["headers"],
    )
    assert again.status_code == 409, again.json


def test_list_filters_and_paginates(client, tenant, create_order):
    for n in range(12):
        create_order(reference=f"INV-{n}", customer={"email": "bulk@example.com"} if n < 3 else {})
    first = client.get("/api/v1/orders", query_string={"page_size": 5}, headers=tenant["headers"])
    assert len(first.json) == 5
    assert json.loads(first.headers["X-Pagination"])["total"] == 12
    assert first.json[0]["reference"] == "INV-11"  # newest first
    third = client.get("/api/v1/orders", query_string={"page_size": 5, "page": 3}, headers=tenant["headers"])
    assert [o["reference"] for o in third.json] == ["INV-1", "INV-0"]
    by_ref = client.get("/api/v1/orders", query_string={"reference": "inv-7"}, headers=tenant["headers"]).json
    assert [o["reference"] for o in by_ref] == ["INV-7"]
    by_customer = client.get(
        "/api/v1/orders", query_string={"customer": "bulk@example.com"}, headers=tenant["headers"]
    ).json
    assert len(by_customer) == 3
    by_status = client.get("/api/v1/orders", query_string={"status": "paid"}, headers=tenant["headers"]).json
    assert by_status == []
    bad = client.get("/api/v1/orders", query_string={"status": "lost"}, headers=tenant["headers"])
    assert bad.status_code == 422


def test_cancel_an_open_order(client, tenant, create_order):
    created = create_order()
    response = client.post(f"/api/v1/orders/{created['id']}/cancel", headers=tenant["headers"])
    assert response.status_code == 200
    assert response.json["status"] == "cancelled" and response.json["cancelled_at"]


def test_an_order_with_payments_cannot_be_cancelled(client, tenant, create_order, post_core):
    from tests.conftest import core_payload

    created = create_order()
    post_core(core_payload(tenant["tenant_id"]))
    response = client.post(f"/api/v1/orders/{created['id']}/cancel", headers=tenant["headers"])
    assert response.status_code == 409


def test_another_tenants_order_is_404(client, tenant, other_tenant, create_order):
    created = create_order()
    assert client.get(f"/api/v1/orders/{created['id']}", headers=other_tenant["headers"]).status_code == 404
    cancel = client.post(f"/api/v1/orders/{created['id']}/cancel", headers=other_tenant["headers"])
    assert cancel.status_code == 404
    assert client.get("/api/v1/orders", headers=other_tenant["headers"]).json == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer frk_wrong"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}],
)
def test_api_needs_a_valid_api_key(client, headers):
    response = client.get("/api/v1/orders", headers=headers)
    assert response.status_code == 401
    assert response.json["code"] == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_not_json_and_malformed_json_bodies(client, tenant):
    not_json = client.post("/api/v1/orders", data="x", headers={**tenant["headers"], "Content-Type": "text/plain"})
    assert not_json.status_code == 415
    malformed = client.post(
        "/api/v1/orders", data="{", headers={**tenant["headers"], "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json["code"] == 400


# No email: the payments below carry one, and would find the order by it alone. (The API's
# schema refuses an email with spaces around it; the service, which the console and the
# CLI call too, trims it all the same: see the last test.)
PADDED_CUSTOMER = {"id": " C-77 ", "name": "Ada Obi", "phone": " +2348012345678 "}
TRIMMED_CUSTOMER = {"id": "C-77", "name": "Ada Obi", "email": None, "phone": "+2348012345678"}


def test_customer_id_email_and_phone_are_stored_as_matching_compares_them(client, tenant, create_order, post_core):
    """Matching compares a payer's id, email and phone trimmed (the email in lower case):
    an order stored with the spaces its sender left never met its customer's payment."""
    created = create_order(reference="INV-9", amount="15000.00", customer=PADDED_CUSTOMER)
    assert created["customer"] == TRIMMED_CUSTOMER
    # Another reference: only the customer (and the amount) can find the order.
    paid = post_core(core_payload(tenant["tenant_id"], paymentRef="NOTE-1")).json
    assert paid["reconciliation"] == "matched", paid
    order = client.get(f"/api/v1/orders/{created['id']}", headers=tenant["headers"]).json
    assert (order["status"], order["amount_paid"]) == ("paid", "15000.00")


def test_a_changed_customer_is_trimmed_too(client, tenant, create_order, post_core):
    created = create_order(reference="INV-9", amount="15000.00", customer={})
    changed = client.patch(
        f"/api/v1/orders/{created['id']}", json={"customer": PADDED_CUSTOMER}, headers=tenant["headers"]
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["customer"] == TRIMMED_CUSTOMER
    blank = client.patch(f"/api/v1/orders/{created['id']}", json={"customer": {"id": "   "}}, headers=tenant["headers"])
    assert blank.status_code == 200, blank.json
    assert blank.json["customer"]["id"] is None
    paid = post_core(core_payload(tenant["tenant_id"], paymentRef="NOTE-1")).json
    assert paid["reconciliation"] == "matched", paid
    order = client.get(f"/api/v1/orders/{created['id']}", headers=tenant["headers"]).json
    assert (order["status"], order["amount_paid"]) == ("paid", "15000.00")


def test_the_service_trims_an_email_and_stores_it_in_lower_case(app, tenant):
    with app.app_context():
        order = orders.create_order(
            tenant["tenant_id"],
            "test",
            reference="INV-9",
            amount=Decimal("15000.00"),
            currency="NGN",
            customer={"email": " Ada@Example.COM ", "phone": "   "},
        )
        assert (order.customer_email, order.customer_phone) == ("ada@example.com", None)
        changed = orders.update_order(tenant["tenant_id"], "test", order.id, {"customer": {"email": " B@Example.com"}})
        assert changed.customer_email == "b@example.com"
    db.close()
