"""End to end through real gunicorn: Monnify SETTLEMENT webhooks (a missing webhook recovered, resent, raced by
the late payment webhook) and a scheduled settlement pull by the worker from a local fake Paystack API."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest

from tests.live_server import BIN_DIR, REPO_ROOT, Response, Server, api, create_tenant, live_server, request
from tests.monnify_settlements import payment_webhook, settlement_webhook
from tests.provider_api_server import fake_provider_api, paystack_payout, paystack_settlements, paystack_transactions

LOOPBACK = {"PROVIDER_API_LOOPBACK": "1"}  # the fake provider API listens on 127.0.0.1


@pytest.fixture
def server(database_url, tmp_path):
    with live_server(database_url, tmp_path, settings=LOOPBACK) as running:
        yield running


def expect(response: Response, status: int):
    assert response.status == status, (response.status, response.body[:2000])
    return response.json if response.body else {}


class Merchant:
    def __init__(self, server: Server, provider: str, options: dict | None = None):
        self.server = server
        self.key = create_tenant(server, f"{provider} settlement sources")["api_key"]
        body = {"provider": provider, **({"options": options} if options else {})}
        integration = expect(api(server, self.key, "POST", "/api/v1/integrations", body), 201)
        self.integration_id = integration["id"]
        expect(
            self.call("POST", f"/api/v1/integrations/{self.integration_id}/allowlist", {"cidr": "127.0.0.1/32"}), 201
        )
        self.webhook_path = urlsplit(integration["webhook_url"]).path

    def call(self, method, path, payload=None) -> Response:
        return api(self.server, self.key, method, path, payload)

    def order(self, reference, amount) -> dict:
        return expect(
            self.call("POST", "/api/v1/orders", {"reference": reference, "amount": amount, "currency": "NGN"}), 201
        )  # noqa: E501

    def webhook(self, payload) -> Response:
        body = json.dumps(payload).encode()
        return request(
            self.server.port, "POST", self.webhook_path, body=body, headers={"Content-Type": "application/json"}
        )  # noqa: E501

    def payments(self) -> list:
        return expect(self.call("GET", "/api/v1/payments?per_page=100"), 200)


THREE = [
    ("MNFY|85|20261122|000101", "ORD-1", "10000.00", "100.00"),
    ("MNFY|85|20261122|000102", "ORD-2", "20000.00", "200.00"),
    ("MNFY|85|20261122|000103", "ORD-3", "5000.00", "50.00"),  # its webhook never comes
]


def test_a_monnify_settlement_recovers_a_missing_webhook_through_gunicorn(server):
    merchant = Merchant(server, "monnify")
    orders = {ref: merchant.order(ref, amount) for _, ref, amount, _ in THREE}
    merchant.order("ORD-4", "7000.00")
    for transaction in THREE[:2]:
        assert expect(merchant.webhook(payment_webhook(*transaction)), 200)["status"] == "accepted"
    fourth = payment_webhook("MNFY|85|20261122|000104", "ORD-4", "7000.00", "70.00")  # paid, not in the settlement
    assert expect(merchant.webhook(fourth), 200)["status"] == "accepted"

    first = expect(merchant.webhook(settlement_webhook("MNFY-SET-1", THREE)), 200)
    assert (first["status"], first["settlement"]["payments_recovered"]) == ("accepted", 1)
    payments = {p["external_id"]: p for p in merchant.payments()}
    assert len(payments) == 4
    assert expect(merchant.call("GET", f"/api/v1/orders/{orders['ORD-3']['id']}"), 200)["status"] == "paid"

    again = expect(merchant.webhook(settlement_webhook("MNFY-SET-1", THREE)), 200)
    assert (again["status"], again["settlement_ids"]) == ("duplicate", first["settlement_ids"])
    settlements = expect(merchant.call("GET", "/api/v1/settlements"), 200)
    assert [(s["reference"], s["status"], s["line_count"]) for s in settlements] == [("MNFY-SET-1", "reconciled", 3)]

    late = expect(merchant.webhook(payment_webhook(*THREE[2])), 200)
    assert late["status"] == "duplicate" and late["payment_id"] == payments[THREE[2][0]]["id"]
    assert len(merchant.payments()) == 4


def test_a_settlement_webhook_and_the_payment_webhook_at_once_make_one_payment(server):
    merchant = Merchant(server, "monnify")
    for number in range(6):
        transaction = (f"MNFY|85|RACE|{number:06d}", f"RACE-{number}", "3000.00", "30.00")
        merchant.order(transaction[1], "3000.00")
        barrier = threading.Barrier(2)
        answers = {}
        actions = {
            "settlement": lambda t=transaction: merchant.webhook(settlement_webhook(f"RACE-SET-{t[1]}", [t])),
            "payment": lambda t=transaction: merchant.webhook(payment_webhook(*t)),
        }
        threads = [threading.Thread(target=_at_once, args=(barrier, answers, n, a)) for n, a in actions.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert expect(answers["settlement"], 200)["status"] == "accepted"
        assert expect(answers["payment"], 200)["status"] in ("accepted", "duplicate")
        matching = [p for p in merchant.payments() if p["external_id"] == transaction[0]]
        assert len(matching) == 1, matching


def _at_once(barrier, answers, name, action):
    barrier.wait()
    answers[name] = action()


def test_the_worker_pulls_settlements_on_its_schedule(server, tmp_path):
    with fake_provider_api() as provider_api:
        provider_api.answer(
            "GET", "/settlement", paystack_settlements(paystack_payout(3090024, "2026-11-23", 2000000, 50000))
        )  # noqa: E501
        provider_api.answer(
            "GET",
            "/settlement/3090024/transactions",
            paystack_transactions(("PULL-1", 1500000, 37500), ("PULL-2", 500000, 12500)),  # noqa: E501
        )
        merchant = Merchant(server, "paystack", {"api_base_url": provider_api.url})
        base = f"/api/v1/integrations/{merchant.integration_id}"
        expect(merchant.call("PUT", f"{base}/secrets/secret_key", {"value": "sk_test_worker_pull"}), 200)
        merchant.order("PULL-1", "15000.00")

        log_path = tmp_path / "worker.log"
        with open(log_path, "wb") as log:
            worker = subprocess.Popen(
                [str(BIN_DIR / "flux-recon"), "worker", "--pull-settlements-every", "1", "--poll-interval", "0.2"],
                cwd=REPO_ROOT,
                env=server.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 30
            settlements = []
            while time.monotonic() < deadline and not settlements:
                settlements = expect(merchant.call("GET", "/api/v1/settlements"), 200)
                time.sleep(0.3)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        assert settlements, log_path.read_text()
        (settlement,) = settlements
        assert (settlement["reference"], settlement["gross"], settlement["net"], settlement["sources"]) == (
            "2026-11-23/NGN",
            "20000.00",
            "19500.00",
            ["api"],
        )
        state = expect(merchant.call("GET", f"{base}/settlement-pulls"), 200)
        assert state["status"] == "ok" and state["last_success_at"]
        assert {p["external_id"] for p in merchant.payments()} == {"PULL-1", "PULL-2"}
        assert provider_api.requests[0][3]["Authorization"] == "Bearer sk_test_worker_pull"
