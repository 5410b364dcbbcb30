"""End to end: the example platform through the generic provider on real gunicorn; and hostile bodies never a 500."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings

from flux_recon.models import Payment, WebhookEvent, db
from flux_recon.testing.hostile_input import bodies
from flux_recon_generic.provider import GenericProvider
from tests.live_server import Response, api, create_tenant, live_server, request

ALLOWED_SOURCE = "127.0.0.2"
OTHER_SOURCE = "127.0.0.3"
SECRET = "sk_test_4f1d9a7c"


def expect(response: Response, status: int) -> dict:
    assert response.status == status, (response.status, response.body)
    return response.json if response.body else {}


def signed(payload, secret: str = SECRET) -> tuple[bytes, dict]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Signature": mac}


def test_the_example_platform_pays_fails_refunds_and_is_ignored_through_gunicorn(database_url, tmp_path):
    samples = GenericProvider.sample_payloads()
    with live_server(database_url, tmp_path) as server:
        key = create_tenant(server, "Generic E2E Merchant")["api_key"]
        created = api(
            server,
            key,
            "POST",
            "/api/v1/integrations",
            {"provider": "generic", "options": GenericProvider.sample_configuration()},
        )
        integration = expect(created, 201)
        base = f"/api/v1/integrations/{integration['id']}"
        path = urlsplit(integration["webhook_url"]).path
        expect(api(server, key, "PUT", f"{base}/secrets/secret", {"value": SECRET}), 200)
        expect(api(server, key, "POST", f"{base}/allowlist", {"cidr": f"{ALLOWED_SOURCE}/32"}), 201)
        order = {"reference": "INV-1001", "amount": "15000.00", "currency": "NGN"}
        expect(api(server, key, "POST", "/api/v1/orders", order), 201)

        def post(payload, *, secret=SECRET, source=ALLOWED_SOURCE):
            body, headers = signed(payload, secret)
            return request(server.port, "POST", path, body=body, headers=headers, source=source)

        assert expect(post(samples["payment_success"], source=OTHER_SOURCE), 403)["status"] == "Forbidden"
        expect(post(samples["payment_success"], secret="not-the-secret"), 401)
        paid = expect(post(samples["payment_success"]), 200)
        assert (paid["status"], paid["reconciliation"]) == ("accepted", "matched")
        assert expect(post(samples["payment_success"]), 200)["status"] == "duplicate"
        failed = expect(post(samples["payment_failed"]), 200)
        assert failed["status"] == "accepted"
        refunded = expect(post(samples["refund_processed"]), 200)
        assert refunded["status"] == "accepted"
        assert expect(post(samples["transfer_success"]), 200)["status"] == "ignored"
        renew = {"event": "subscription.renew", "data": {"subscription_id": "SUB-7", "amount": "2500.00"}}
        assert expect(post(renew), 200)["status"] == "unrecognized"
        # A status the configuration does not map may be money: kept and queued, not a 422.
        new_status = dict(samples["payment_success"]["data"], transaction_id="TXN-7", status="chargeback_pending")
        unknown = expect(post(dict(samples["payment_success"], data=new_status)), 200)
        assert unknown["status"] == "unrecognized" and "'chargeback_pending'" in unknown["reason"]
        unfit = {"transaction_id": "TXN-9", "amount": "1.005", "currency": "NGN"}
        broken = dict(samples["payment_success"], data=unfit)
        refusal = expect(post(broken), 422)
        assert set(refusal["errors"]) == {"data.amount", "data.status"}

        payments = {p["external_id"]: p for p in expect(api(server, key, "GET", "/api/v1/payments"), 200)}
        assert payments["TXN-20261122-0001"]["amount"] == "15000.00"
        assert payments["TXN-20261122-0002"]["status"] == "failed"
        assert payments["RFD-20261123-0001"]["amount"] == "5000.00"
        queue = expect(api(server, key, "GET", "/api/v1/exceptions?status=all"), 200)
        assert sum(item["reason"] == "unrecognized_webhook" for item in queue) == 2, queue
        [paid_order] = expect(api(server, key, "GET", "/api/v1/orders?reference=INV-1001"), 200)
        assert paid_order["status"] == "partially_paid"  # 15000.00 paid, 5000.00 of it refunded
    assert "Traceback" not in server.log()


@pytest.fixture
def generic_path(client, tenant):
    response = client.post(
        "/api/v1/integrations",
        json={"provider": "generic", "options": GenericProvider.sample_configuration()},
        headers=tenant["headers"],
    )
    integration = response.json
    client.put(
        f"/api/v1/integrations/{integration['id']}/secrets/secret", json={"value": SECRET}, headers=tenant["headers"]
    )
    client.post(
        f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": "127.0.0.1"}, headers=tenant["headers"]
    )
    return integration


def test_hostile_signed_bodies_never_reach_a_500(app, client, tenant, generic_path):
    """Damaged samples, arbitrary JSON and non-JSON bytes, each correctly signed so that it
    reaches parse, to the webhook URL and to the dry run: answered, never a 500."""
    path = "/" + generic_path["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    dry_run = f"/api/v1/integrations/{generic_path['id']}/dry-run"
    statuses = set()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bodies(list(GenericProvider.sample_payloads().values())))
    def hostile(body):
        body, headers = signed(body)
        answer = client.post(path, data=body, headers=headers)
        assert answer.status_code < 500, (body, answer.json)
        statuses.add(answer.status_code)
        text = body.decode("utf-8", "replace")
        tried = client.post(dry_run, json={"body": text, "headers": headers}, headers=tenant["headers"])
        assert tried.status_code == 200, (body, tried.json)
        assert tried.json["http_status"] < 500

    hostile()
    assert {200, 422} <= statuses  # the search reached both the engine and the field errors
    with app.app_context():
        assert WebhookEvent.select().where(WebhookEvent.http_status >= 500).count() == 0
        assert Payment.select().count() >= 1
    db.close()
