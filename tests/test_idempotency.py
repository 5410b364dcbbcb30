"""Idempotency-Key on merchant API writes: a retried request does nothing twice."""

from flux_recon.models import IdempotencyRecord, db


def post_order(client, tenant, key, reference="INV-1", amount="10.00"):
    return client.post(
        "/api/v1/orders",
        json={"reference": reference, "amount": amount, "currency": "NGN"},
        headers={**tenant["headers"], "Idempotency-Key": key},
    )


def test_same_key_same_request_returns_the_first_answer(client, tenant):
    first = post_order(client, tenant, "k-1")
    again = post_order(client, tenant, "k-1")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(client.get("/api/v1/orders", headers=tenant["headers"]).json) == 1


def test_same_key_different_request_is_422(client, tenant):
    post_order(client, tenant, "k-1")
    response = post_order(client, tenant, "k-1", amount="11.00")
    assert response.status_code == 422
    assert "different request" in response.json["message"]


def test_errors_are_remembered_too_but_keys_are_per_tenant(client, tenant, other_tenant):
    post_order(client, tenant, "k-1")
    conflict = post_order(client, tenant, "k-2")  # same reference: 409
    assert conflict.status_code == 409
    assert post_order(client, tenant, "k-2").json == conflict.json
    assert post_order(client, other_tenant, "k-1").status_code == 201


def test_a_secret_in_a_remembered_answer_is_encrypted_at_rest(app, client, tenant):
    response = client.post(
        "/api/v1/integrations", json={"provider": "core"}, headers={**tenant["headers"], "Idempotency-Key": "enable-1"}
    )
    secret = response.json["credentials"][0]["secret"]
    again = client.post(
        "/api/v1/integrations", json={"provider": "core"}, headers={**tenant["headers"], "Idempotency-Key": "enable-1"}
    )
    assert again.status_code == 201 and again.json["credentials"][0]["secret"] == secret
    with app.app_context():
        stored = IdempotencyRecord.get().response_encrypted
    db.close()
    assert secret not in stored


def test_requests_without_a_key_are_not_deduplicated(client, tenant):
    assert (
        client.post(
            "/api/v1/orders", json={"reference": "A", "amount": "1", "currency": "NGN"}, headers=tenant["headers"]
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/api/v1/orders", json={"reference": "A", "amount": "1", "currency": "NGN"}, headers=tenant["headers"]
        ).status_code
        == 409
    )


def test_a_key_too_long_is_400(client, tenant):
    assert post_order(client, tenant, "k" * 201).status_code == 400
