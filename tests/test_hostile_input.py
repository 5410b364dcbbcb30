"""Inputs that once reached a 500 (or a silent rounding): each now gets a clear 4xx."""

import json

import pytest

from tests.conftest import core_payload, core_signature

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"/api/v1/orders/{HUGE}"),
        ("get", f"/api/v1/payments/{HUGE}"),
        ("get", f"/api/v1/integrations/{HUGE}"),
        ("post", f"/api/v1/orders/{HUGE}/cancel"),
        ("delete", f"/api/v1/integrations/1/allowlist/{HUGE}"),
    ],
)
def test_absurd_ids_in_urls_are_404(client, tenant, method, path):
    assert getattr(client, method)(path, headers=tenant["headers"]).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"order_id": HUGE},
        {"received_from": "0001-01-01T00:00:00+01:00"},
        {"received_to": "9999-12-31T23:59:59-01:00"},
        {"provider": "a\x00b"},
    ],
)
def test_absurd_query_values_are_4xx(client, tenant, query):
    response = client.get("/api/v1/payments", query_string=query, headers=tenant["headers"])
    assert response.status_code in (400, 422), response.json
    assert response.json["message"]


def test_a_page_beyond_everything_is_empty(client, tenant):
    response = client.get("/api/v1/orders", query_string={"page": HUGE}, headers=tenant["headers"])
    assert response.status_code == 200 and response.json == []


def test_nul_in_the_webhook_path_is_400(client):
    assert client.post("/webhooks/core/abc%00def", data=b"{}").status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        '{"reference": "X\\u0000N", "amount": "1.00", "currency": "NGN"}',
        '{"reference": "\\ud800", "amount": "1.00", "currency": "NGN"}',
        '{"reference": "R", "amount": ' + "9" * 5000 + ', "currency": "NGN"}',
        "[" * 100000,
        '{"reference": "R", "reference": "S", "amount": "1.00", "currency": "NGN"}',
    ],
    ids=["nul", "lone-surrogate", "5000-digit-number", "deep-nesting", "duplicate-key"],
)
def test_rest_bodies_that_cannot_be_read_exactly_are_400(client, tenant, body):
    response = client.post(
        "/api/v1/orders", data=body, headers={**tenant["headers"], "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.json
    assert response.json["code"] == 400 and response.json["message"]


@pytest.mark.parametrize("field", ["transactionRef", "paymentRef"])
@pytest.mark.parametrize("value", ["T\u00001", "\ud800"])
def test_unstorable_strings_in_a_signed_webhook_are_400(client, core_integration, tenant, field, value):
    body = json.dumps(core_payload(tenant["tenant_id"], **{field: value})).encode()
    response = client.post(
        core_integration["path"],
        data=body,
        headers={"Content-Type": "application/json", "Signature": core_signature(body, core_integration["secret"])},
    )
    assert response.status_code == 400, response.json


def test_an_amount_too_precise_for_the_context_is_refused_not_rounded(client, tenant, create_order, post_core):
    create_order(amount="1.00")
    body = json.dumps(core_payload(tenant["tenant_id"])).replace('"15000.00"', "0.99999999999999999999999999999")
    assert post_core(None, body=body.encode()).status_code == 422
    too_precise = {"reference": "P", "amount": "1.00000000000000000000000000001", "currency": "NGN"}
    assert client.post("/api/v1/orders", json=too_precise, headers=tenant["headers"]).status_code == 422


@pytest.mark.parametrize("cidr", ["fe80::1%" + "a" * 100, "fe80::1%eth0"])
def test_zone_ids_are_refused_on_the_allowlist(client, tenant, core_integration, cidr):
    path = f"/api/v1/integrations/{core_integration['id']}/allowlist"
    assert client.post(path, json={"cidr": cidr}, headers=tenant["headers"]).status_code == 422


def test_an_ipv4_mapped_entry_admits_the_ipv4_client(client, tenant, core_integration, post_core, create_order):
    path = f"/api/v1/integrations/{core_integration['id']}/allowlist"
    added = client.post(path, json={"cidr": "::ffff:127.0.0.2"}, headers=tenant["headers"])
    assert added.json["cidr"] == "127.0.0.2/32"
    create_order()
    accepted = post_core(core_payload(tenant["tenant_id"]), environ={"REMOTE_ADDR": "127.0.0.2"})
    assert accepted.status_code == 200


def test_a_blank_order_reference_is_422(client, tenant):
    body = {"reference": "   ", "amount": "1.00", "currency": "NGN"}
    response = client.post("/api/v1/orders", json=body, headers=tenant["headers"])
    assert response.status_code == 422
    assert "reference" in response.json["errors"]["json"]


def test_like_wildcards_in_the_reference_filter_match_only_themselves(client, tenant, post_core):
    post_core(core_payload(tenant["tenant_id"], transactionRef="T1", paymentRef="INV-1"))
    post_core(core_payload(tenant["tenant_id"], transactionRef="T2", paymentRef="50%_OFF"))
    found = client.get("/api/v1/payments", query_string={"reference": "%"}, headers=tenant["headers"]).json
    assert found == []
    found = client.get("/api/v1/payments", query_string={"reference": "50%_off"}, headers=tenant["headers"]).json
    assert [p["external_id"] for p in found] == ["T2"]


def test_every_error_carries_the_full_shape(client, tenant):
    for response in (
        client.get("/api/v1/orders/1", headers=tenant["headers"]),
        client.get("/api/v1/orders"),
        client.post("/api/v1/orders", json={}, headers=tenant["headers"]),
    ):
        assert set(response.json) == {"code", "status", "message", "errors"}, response.json
