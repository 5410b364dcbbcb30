"""End to end on real gunicorn: the example platform through the generic provider; hostile bodies never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import urlsplit

from hypothesis import HealthCheck, example, given, settings

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


def untimed(result: dict) -> dict:
    """A dry run's answer without its notices' times (the sample mapping has none: the time of receipt)."""
    notices = [{k: v for k, v in notice.items() if k != "occurred_at"} for notice in result["notices"]]
    return result | {"notices": notices}


def test_hostile_signed_bodies_never_reach_a_500_through_gunicorn(database_url, tmp_path):
    """Damaged samples, arbitrary JSON and non-JSON bytes, each correctly signed so that it
    reaches parse, to the webhook URL and to the dry run: answered, never a 500, and the dry
    run says what the webhook URL answered. The dry run is sent the exact bytes in Base64;
    a body that is UTF-8 text is also sent as text, where a NUL is refused (400: a JSON
    string sent to the API may not hold one) and anything else gets the same answer."""
    # Hypothesis sends hundreds of requests, and more while it shrinks a failure.
    with live_server(database_url, tmp_path, settings={"RATE_LIMIT_ENABLED": "false"}) as server:
        key = create_tenant(server, "Generic Hostile Merchant")["api_key"]
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
        statuses = set()

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(bodies(list(GenericProvider.sample_payloads().values())))
        @example(b"\x00")  # text with a NUL: refused as text, tried from Base64
        @example(b"\xff{")  # not UTF-8 at all: only Base64 can carry it
        def hostile(body):
            body, headers = signed(body)
            answer = request(server.port, "POST", path, body=body, headers=headers, source=ALLOWED_SOURCE)
            assert answer.status < 500, (body, answer.body)
            statuses.add(answer.status)
            encoded = base64.b64encode(body).decode()
            tried = expect(
                api(server, key, "POST", f"{base}/dry-run", {"body_base64": encoded, "headers": headers}), 200
            )
            assert tried["http_status"] == answer.status, (body, tried, answer.body)
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return
            as_text = api(server, key, "POST", f"{base}/dry-run", {"body": text, "headers": headers})
            if "\x00" in text:
                assert as_text.status == 400 and "NUL" in as_text.json["message"], (body, as_text.body)
            else:
                assert untimed(expect(as_text, 200)) == untimed(tried), body

        hostile()
        assert {200, 422} <= statuses  # the search reached both the engine and the field errors
        recorded, page = [], 1
        while batch := expect(api(server, key, "GET", f"/api/v1/webhook-events?page={page}&page_size=100"), 200):
            recorded += batch
            page += 1
        assert len(recorded) >= 150 and all(event["http_status"] < 500 for event in recorded)
        assert expect(api(server, key, "GET", "/api/v1/payments"), 200)
    assert "Traceback" not in server.log()
