"""End to end through real gunicorn: Paystack payout exports imported over HTTP, a missing webhook
recovered (and its late webhook a duplicate, also when both arrive at once), breaks, the sweep on
an injected clock and the settlement report."""

from __future__ import annotations

import json
import subprocess
import threading
from urllib.parse import urlsplit

import pytest

from flux_recon_paystack.provider import PaystackProvider
from tests.live_server import (
    BIN_DIR,
    CLI_TIMEOUT,
    REPO_ROOT,
    Response,
    Server,
    api,
    create_tenant,
    live_server,
    request,
)

SECRET = "sk_test_e2e_settlements_4f7a9c"
HEADER = (
    "Reference number,Transaction date,Customer email,Amount paid,Paystack fee,Amount due to merchant,"
    "Settlement date,Gateway response,Customer full name,Transaction ID,Card type,Card bank,Country code,"
    "Currency,Subaccount,Subaccount due"
)


@pytest.fixture
def server(database_url, tmp_path):
    with live_server(database_url, tmp_path) as running:
        yield running


def expect(response: Response, status: int) -> dict | list:
    assert response.status == status, (response.status, response.body[:2000])
    return response.json if response.body else {}


def row(reference, amount="15000.00", fee="325.00", net="14675.00", settled="2026-11-23", paid="2026-11-22 10:15:03"):
    return f"{reference},{paid},ada@example.com,{amount},{fee},{net},{settled},Successful,Ada Obi,4099,visa,,NG,NGN,,"


def csv(*rows) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


class Merchant:
    """A tenant with a Paystack integration on the live server."""

    def __init__(self, server: Server):
        self.server = server
        self.key = create_tenant(server, "Settlements E2E")["api_key"]
        integration = expect(api(server, self.key, "POST", "/api/v1/integrations", {"provider": "paystack"}), 201)
        self.integration_id = integration["id"]
        base = f"/api/v1/integrations/{self.integration_id}"
        expect(api(server, self.key, "PUT", f"{base}/secrets/secret_key", {"value": SECRET}), 200)
        expect(api(server, self.key, "POST", f"{base}/allowlist", {"cidr": "127.0.0.1/32"}), 201)
        self.webhook_path = urlsplit(integration["webhook_url"]).path

    def call(self, method, path, payload=None) -> Response:
        return api(self.server, self.key, method, path, payload)

    def order(self, reference, amount="15000.00") -> dict:
        body = {"reference": reference, "amount": amount, "currency": "NGN"}
        return expect(self.call("POST", "/api/v1/orders", body), 201)

    def charge(self, reference, amount_kobo=1500000, fees_kobo=32500, paid_at="2026-11-22T09:15:03Z") -> Response:
        payload = PaystackProvider.sample_payloads()["charge_success"]
        payload["data"].update(reference=reference, amount=amount_kobo, fees=fees_kobo, paid_at=paid_at)
        webhook = PaystackProvider.sign(payload, {"secret_key": SECRET})
        return request(self.server.port, "POST", self.webhook_path, body=webhook.body, headers=dict(webhook.headers))

    def import_csv(self, body: bytes, fmt="paystack_payout") -> Response:
        path = f"/api/v1/settlements/imports?integration_id={self.integration_id}&format={fmt}"
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "text/csv"}
        return request(self.server.port, "POST", path, body=body, headers=headers)

    def payments(self) -> list:
        return expect(self.call("GET", "/api/v1/payments?per_page=100"), 200)


def test_paystack_payouts_missing_webhooks_and_breaks_through_gunicorn(server):
    merchant = Merchant(server)
    paid_by_webhook = merchant.order("INV-1001")
    never_came = merchant.order("INV-1002", amount="8000.00")
    assert expect(merchant.charge("INV-1001"), 200)["status"] == "accepted"
    # A fourth payment, paid but in no payout: four payments in all, one of them not settled.
    assert expect(merchant.charge("INV-1004", amount_kobo=500000, fees_kobo=7500), 200)["status"] == "accepted"

    payout = csv(
        row("INV-1001"),
        row("INV-1002", "8000.00", "120.00", "7880.00"),
        row("INV-1003", "2000.00", "30.00", "1970.00"),
    )
    first = expect(merchant.import_csv(payout), 200)
    assert (first["lines_added"], first["payments_recovered"], first["payments_settled"]) == (3, 2, 3)
    again = expect(merchant.import_csv(payout), 200)
    assert (again["lines_added"], again["lines_known"], again["settlements"]) == (0, 3, first["settlements"])

    settlements = expect(merchant.call("GET", "/api/v1/settlements"), 200)
    assert len(settlements) == 1
    (settlement,) = settlements
    assert (settlement["gross"], settlement["fees"], settlement["net"]) == ("25000.00", "475.00", "24525.00")
    assert settlement["status"] == "reconciled"
    detail = expect(merchant.call("GET", f"/api/v1/settlements/{settlement['id']}"), 200)
    assert [line["recovered"] for line in detail["lines"]] == [False, True, True]

    payments = {p["external_id"]: p for p in merchant.payments()}
    assert sorted(payments) == ["INV-1001", "INV-1002", "INV-1003", "INV-1004"]
    assert expect(merchant.call("GET", f"/api/v1/orders/{never_came['id']}"), 200)["status"] == "paid"
    assert expect(merchant.call("GET", f"/api/v1/orders/{paid_by_webhook['id']}"), 200)["status"] == "paid"
    assert payments["INV-1003"]["reconciliation"] == "unmatched"  # recovered; no order carries its reference

    # The webhook that never came arrives late: a duplicate of the recovered payment.
    late = expect(merchant.charge("INV-1002", amount_kobo=800000, fees_kobo=12000), 200)
    assert late["status"] == "duplicate" and late["payment_id"] == payments["INV-1002"]["id"]
    assert len(merchant.payments()) == 4

    # A payout that disagrees with the ledger: its breaks name both values.
    disagreeing = expect(merchant.import_csv(csv(row("INV-1004", "4000.00", "75.00", "3925.00", "2026-11-24"))), 200)
    assert disagreeing["breaks_found"] == 1
    breaks = expect(merchant.call("GET", f"/api/v1/settlements/{disagreeing['settlements'][0]}/breaks"), 200)
    assert [(b["kind"], b["settlement_value"], b["ledger_value"]) for b in breaks] == [
        ("amount_differs", "4000.00", "5000.00")
    ]

    # A malformed statement is refused whole, naming its line and column; nothing changed.
    refused = expect(merchant.import_csv(csv(row("INV-2001"), row("INV-2002", amount="1.5.0"))), 422)
    assert list(refused["errors"]["statement"]) == ["line 3"]
    assert list(refused["errors"]["statement"]["line 3"]) == ["Amount paid"]
    assert len(expect(merchant.call("GET", "/api/v1/settlements"), 200)) == 2
    assert len(merchant.payments()) == 4

    report = expect(merchant.call("GET", "/api/v1/reports/settlements"), 200)["rows"]
    day = next(r for r in report if r["day"] == "2026-11-23")
    assert (day["settlements"], day["lines"], day["gross"], day["missing_webhooks"]) == (1, 3, "25000.00", 2)


def sweep(server: Server, now: str) -> dict:
    """`flux-recon settlements sweep --now NOW` against the server's database: the injected clock."""
    result = subprocess.run(
        [str(BIN_DIR / "flux-recon"), "settlements", "sweep", "--now", now],
        cwd=REPO_ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_payment_past_its_cycle_becomes_not_in_settlement(server):
    merchant = Merchant(server)
    expect(merchant.charge("INV-1", paid_at="2026-11-23T08:00:00Z"), 200)  # settled below
    expect(merchant.charge("INV-2", paid_at="2026-11-23T09:00:00Z"), 200)  # in no payout
    expect(merchant.import_csv(csv(row("INV-1", paid="2026-11-23 09:00:00", settled="2026-11-24"))), 200)

    def state():
        return {p["external_id"]: p["id"] for p in merchant.payments()}

    assert sweep(server, "2026-11-25T12:00:00Z") == {"awaiting": 1, "not_in_settlement": 0}
    assert sweep(server, "2026-11-26T00:00:01Z") == {"awaiting": 0, "not_in_settlement": 1}
    assert "INV-2" in state()
    report = expect(merchant.call("GET", "/api/v1/reports/settlements"), 200)["rows"]
    paid_day = next(r for r in report if r["day"] == "2026-11-23")
    assert (paid_day["not_in_settlement"], paid_day["not_in_settlement_amount"]) == (1, "15000.00")


def test_an_import_and_the_late_webhook_at_once_make_one_payment(server):
    merchant = Merchant(server)
    rounds = 6
    for number in range(rounds):
        reference = f"RACE-{number}"
        order = merchant.order(reference)
        barrier = threading.Barrier(2)
        answers = {}
        actions = {
            "import": lambda r=reference: merchant.import_csv(csv(row(r))),
            "webhook": lambda r=reference: merchant.charge(r),
        }
        threads = [
            threading.Thread(target=_at_once, args=(barrier, answers, name, action)) for name, action in actions.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expect(answers["import"], 200)
        assert expect(answers["webhook"], 200)["status"] in ("accepted", "duplicate")
        matching = [p for p in merchant.payments() if p["external_id"] == reference]
        assert len(matching) == 1, matching
        assert expect(merchant.call("GET", f"/api/v1/orders/{order['id']}"), 200)["amount_paid"] == "15000.00"
    assert len(merchant.payments()) == rounds


def _at_once(barrier: threading.Barrier, answers: dict, name: str, action) -> None:
    barrier.wait()
    answers[name] = action()


def test_the_worker_sweeps_on_its_own(server):
    """No cron needed: `flux-recon worker` sweeps (hourly by default, at once on start)."""
    merchant = Merchant(server)
    settled_order, unsettled_order = merchant.order("INV-1"), merchant.order("INV-2")
    expect(merchant.charge("INV-1", paid_at="2026-11-23T08:00:00Z"), 200)
    expect(merchant.charge("INV-2", paid_at="2026-11-23T09:00:00Z"), 200)
    expect(merchant.import_csv(csv(row("INV-1", paid="2026-11-23 09:00:00", settled="2026-11-24"))), 200)
    result = subprocess.run(
        [str(BIN_DIR / "flux-recon"), "worker", "--until-idle", "--sweep-settlements-every", "3600"],
        cwd=REPO_ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Today is well past Paystack's next-working-day cycle for a payment of 23 November.
    unsettled = expect(merchant.call("GET", "/api/v1/payments?per_page=100"), 200)
    states = {p["external_id"]: p["settlement_state"] for p in unsettled}
    assert states["INV-2"] == "not_in_settlement", states
    assert states["INV-1"] == "settled", states
    # Each order says how much of what paid it reached the bank.
    for order, settled in ((settled_order, "15000.00"), (unsettled_order, "0.00")):
        shown = expect(merchant.call("GET", f"/api/v1/orders/{order['id']}"), 200)
        assert (shown["amount_paid"], shown["amount_settled"]) == ("15000.00", settled), shown
