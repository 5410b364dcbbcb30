"""End to end: real gunicorn on a loopback port, real HTTP, the CLI, the REST API and the core webhook."""

from __future__ import annotations

import json
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest

from tests.conftest import core_payload, core_signature
from tests.live_server import Response, Server, api, create_tenant, live_server, request

# The webhook sender's addresses: both are loopback, so nothing leaves the machine, but
# only the first is on the allow-list, which makes the IP check observable end to end.
ALLOWED_SOURCE = "127.0.0.2"
OTHER_SOURCE = "127.0.0.3"


@pytest.fixture
def server(database_url, tmp_path):
    with live_server(database_url, tmp_path) as running:
        yield running


def post_webhook(server: Server, path: str, body: bytes, signature: str, source: str = ALLOWED_SOURCE) -> Response:
    headers = {"Content-Type": "application/json", "Signature": signature}
    return request(server.port, "POST", path, body=body, headers=headers, source=source)


def assert_status(response: Response, expected: int) -> None:
    assert response.status == expected, (response.status, response.body)


def assert_error(response: Response, expected: int) -> None:
    """Every error answers JSON ``{code, status, message}`` matching the HTTP status."""
    assert_status(response, expected)
    assert response.headers.get_content_type() == "application/json", response.headers
    body = response.json
    assert {"code", "status", "message"} <= body.keys(), body
    assert body["code"] == expected, body
    assert body["status"] == HTTPStatus(expected).phrase, body
    assert isinstance(body["message"], str) and body["message"], body


def create_order(server: Server, api_key: str, reference: str) -> dict:
    created = api(
        server, api_key, "POST", "/api/v1/orders", {"reference": reference, "amount": "15000.00", "currency": "NGN"}
    )
    assert_status(created, 201)
    return created.json


def test_core_webhook_through_gunicorn(server):
    assert_status(request(server.port, "GET", "/readyz"), 200)

    # 1. A tenant from the CLI, as an operator would create one.
    tenant = create_tenant(server, "E2E Merchant")
    tenant_id, api_key = tenant["tenant_id"], tenant["api_key"]

    # 2-3. A core integration whose allow-list admits only the test's sender address.
    enabled = api(server, api_key, "POST", "/api/v1/integrations", {"provider": "core"})
    assert_status(enabled, 201)
    integration = enabled.json
    webhook_path = urlsplit(integration["webhook_url"]).path
    token = webhook_path.rsplit("/", 1)[1]
    credential = integration["credentials"][0]
    secret, credential_key = credential["secret"], credential["key"]
    added = api(
        server,
        api_key,
        "POST",
        f"/api/v1/integrations/{integration['id']}/allowlist",
        {"cidr": f"{ALLOWED_SOURCE}/32"},
    )
    assert_status(added, 201)

    # 4. The order the webhook pays.
    order = create_order(server, api_key, "INV-1001")

    # 5. A signed webhook from an allowed address pays the order.
    body = json.dumps(core_payload(tenant_id)).encode()
    signature = core_signature(body, secret)
    first = post_webhook(server, webhook_path, body, signature)
    assert_status(first, 200)
    assert first.json["status"] == "accepted", first.json
    assert first.json["reconciliation"] == "matched", first.json
    payment_id = first.json["payment_id"]
    shown = api(server, api_key, "GET", f"/api/v1/orders/{order['id']}")
    assert_status(shown, 200)
    assert shown.json["status"] == "paid", shown.json
    assert shown.json["amount_paid"] == "15000.00", shown.json
    payment = api(server, api_key, "GET", f"/api/v1/payments/{payment_id}")
    assert_status(payment, 200)
    assert payment.json["reconciliation"] == "matched", payment.json
    assert [a["order_id"] for a in payment.json["allocations"]] == [order["id"]], payment.json

    # 6. Providers retry: the same notification again changes nothing.
    again = post_webhook(server, webhook_path, body, signature)
    assert_status(again, 200)
    assert again.json["status"] == "duplicate", again.json
    assert again.json["payment_id"] == payment_id, again.json
    shown = api(server, api_key, "GET", f"/api/v1/orders/{order['id']}")
    assert shown.json["amount_paid"] == "15000.00", shown.json
    payments = api(server, api_key, "GET", "/api/v1/payments")
    assert_status(payments, 200)
    assert [p["id"] for p in payments.json] == [payment_id], payments.json

    # 7. A correct signature from an address off the allow-list is refused.
    assert_error(post_webhook(server, webhook_path, body, signature, source=OTHER_SOURCE), 403)

    # 8. A wrong signature is refused; the apiKey:apiSecret signing key is accepted.
    assert_error(post_webhook(server, webhook_path, body, core_signature(body, "not-the-secret")), 401)
    second_order = create_order(server, api_key, "INV-1002")
    second_body = json.dumps(core_payload(tenant_id, transactionRef="TRX-0002", paymentRef="INV-1002")).encode()
    second = post_webhook(server, webhook_path, second_body, core_signature(second_body, secret, key=credential_key))
    assert_status(second, 200)
    assert second.json["status"] == "accepted", second.json
    assert second.json["reconciliation"] == "matched", second.json
    assert api(server, api_key, "GET", f"/api/v1/orders/{second_order['id']}").json["status"] == "paid"

    # 9. Malformed JSON, correctly signed, is the sender's fault: 400, not 422 or 500.
    malformed = b'{"tenantId": '
    assert_error(post_webhook(server, webhook_path, malformed, core_signature(malformed, secret)), 400)

    # 10. A webhook URL with an unknown token names no integration.
    unknown_path = webhook_path[: -len(token)] + "x" * len(token)
    assert_error(post_webhook(server, unknown_path, body, signature), 404)

    # The refused requests recorded no payment: only the two accepted ones exist.
    payments = api(server, api_key, "GET", "/api/v1/payments")
    assert sorted(p["id"] for p in payments.json) == sorted([payment_id, second.json["payment_id"]])

    # Stop first so every access-log line is flushed before the log is read.
    server.stop()
    log = server.log()
    assert "Traceback" not in log, log
    # The access log cuts webhook tokens short: a full token there would be a usable URL.
    assert token not in log, log
