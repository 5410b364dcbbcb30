"""Faults through real gunicorn: the database going away mid-stream, and one webhook sent 50
times at once. Nothing is lost, nothing counted twice."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.conftest import POSTGRES_URL, core_payload, core_signature
from tests.live_server import create_tenant, live_server, request
from tests.tcp_proxy import TcpProxy

COPIES = 50


def setup_core(server, orders: int):
    tenant = create_tenant(server, "Faults")
    auth = {"Authorization": f"Bearer {tenant['api_key']}", "Content-Type": "application/json"}

    def api(method, path, body=None, port=None):
        data = json.dumps(body).encode() if body is not None else None
        return request(port or server.port, method, path, data, auth)

    integration = api("POST", "/api/v1/integrations", {"provider": "core"}).json
    api("POST", f"/api/v1/integrations/{integration['id']}/allowlist", {"cidr": "127.0.0.1"})
    for n in range(orders):
        assert (
            api("POST", "/api/v1/orders", {"reference": f"INV-{n}", "amount": "100.00", "currency": "NGN"}).status
            == 201
        )

    def webhook(n, port=None):
        body = json.dumps(
            core_payload(tenant["tenant_id"], transactionRef=f"T{n}", paymentRef=f"INV-{n}", amount="100.00")
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Signature": core_signature(body, integration["credentials"][0]["secret"]),
        }
        try:
            return request(port or server.port, "POST", urlsplit(integration["webhook_url"]).path, body, headers)
        except (OSError, http.client.HTTPException):  # a worker killed mid-answer: the sender retries
            return None

    return api, webhook


def test_the_same_webhook_fifty_times_at_once_counts_once(database_url, tmp_path):
    with live_server(database_url, tmp_path, workers=2) as server:
        api, webhook = setup_core(server, orders=1)
        with ThreadPoolExecutor(max_workers=COPIES) as pool:
            answers = list(pool.map(lambda _: webhook(0), range(COPIES)))
        statuses = [a.json["status"] for a in answers]
        assert statuses.count("accepted") == 1 and statuses.count("duplicate") == COPIES - 1, statuses
        payments = api("GET", "/api/v1/payments").json
        assert len(payments) == 1 and len(payments[0]["allocations"]) == 1
        order = api("GET", "/api/v1/orders").json[0]
        assert (order["status"], order["amount_paid"]) == ("paid", "100.00")
    assert "Traceback" not in server.log()


@pytest.mark.skipif(not POSTGRES_URL, reason="the outage is made between the service and PostgreSQL")
def test_database_outage_answers_503_and_retries_count_once(postgres_schema, tmp_path):
    url = urlsplit(postgres_schema)
    proxy = TcpProxy(url.hostname, url.port or 5432)
    proxied = postgres_schema.replace(f"{url.hostname}:{url.port or 5432}", f"127.0.0.1:{proxy.port}")
    try:
        with live_server(proxied, tmp_path, workers=2) as server:
            api, webhook = setup_core(server, orders=20)
            answers = {}
            for n in range(20):
                if n == 7:
                    proxy.cut()  # the database goes away mid-stream
                answers[n] = webhook(n)
                if n == 7:
                    assert answers[n].status == 503 and answers[n].headers["Retry-After"]
                    assert request(server.port, "GET", "/readyz").status == 503
                    assert request(server.port, "GET", "/healthz").status == 200
            assert all(answers[n].status == 200 for n in range(7))
            assert all(answers[n].status == 503 for n in range(7, 20))

            proxy.restore()
            # Providers retry every non-2xx (and some resend what already succeeded).
            for n in range(20):
                for _ in range(20):
                    answer = webhook(n)
                    if answer is not None and answer.status == 200:
                        break
                    time.sleep(0.2)
                assert answer.status == 200, (n, answer.status if answer else None)
                assert answer.json["status"] == ("duplicate" if n < 7 else "accepted")

            payments = api("GET", "/api/v1/payments?page_size=100").json
            assert sorted(p["external_id"] for p in payments) == sorted(f"T{n}" for n in range(20))
            orders = api("GET", "/api/v1/orders?page_size=100").json
            assert all((o["status"], o["amount_paid"]) == ("paid", "100.00") for o in orders)
        assert "Traceback" not in server.log()
    finally:
        proxy.close()
