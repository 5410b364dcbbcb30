"""End to end through gunicorn: payments that arrive before their order, orders changed to
name them, provider clocks off by minutes, and an order and its webhook at the same moment."""

from __future__ import annotations

import datetime as dt
import json
import threading
from urllib.parse import urlsplit

import pytest

from tests.conftest import core_payload, core_signature
from tests.live_server import Server, api, create_tenant, live_server, request

SOURCE = "127.0.0.2"
CONCURRENT_PAIRS = 12
JOIN_TIMEOUT = 60


@pytest.fixture
def merchant(database_url, tmp_path):
    """A running server, a tenant, and a core integration that admits SOURCE."""
    with live_server(database_url, tmp_path) as server:
        tenant = create_tenant(server, "Payment First Ltd")
        key = tenant["api_key"]
        integration = api(server, key, "POST", "/api/v1/integrations", {"provider": "core"}).json
        added = api(
            server, key, "POST", f"/api/v1/integrations/{integration['id']}/allowlist", {"cidr": f"{SOURCE}/32"}
        )
        assert added.status == 201, added.json
        yield Merchant(server, tenant["tenant_id"], key, urlsplit(integration["webhook_url"]).path, integration)
        server.stop()
        assert "Traceback" not in server.log()


class Merchant:
    def __init__(self, server: Server, tenant_id: str, key: str, path: str, integration: dict):
        self.server, self.tenant_id, self.key, self.path = server, tenant_id, key, path
        self.secret = integration["credentials"][0]["secret"]

    def webhook(self, **fields) -> dict:
        """A core webhook; no order reference, customer or account unless given."""
        defaults = {"paymentRef": None, "customer": None, "accountNumber": None}
        body = json.dumps(core_payload(self.tenant_id, **{**defaults, **fields})).encode()
        headers = {"Content-Type": "application/json", "Signature": core_signature(body, self.secret)}
        answer = request(self.server.port, "POST", self.path, body=body, headers=headers, source=SOURCE)
        assert answer.status == 200, (answer.status, answer.body)
        return answer.json

    def call(self, method: str, path: str, payload: dict | None = None, expect: int = 200) -> dict | list:
        answer = api(self.server, self.key, method, path, payload)
        assert answer.status == expect, (answer.status, answer.body)
        return answer.json

    def order(self, reference: str, amount: str = "15000.00", **fields) -> dict:
        body = {"reference": reference, "amount": amount, "currency": "NGN", **fields}
        return self.call("POST", "/api/v1/orders", body, expect=201)

    def payment(self, payment_id: int) -> dict:
        return self.call("GET", f"/api/v1/payments/{payment_id}")


def lagos_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat(timespec="seconds")


def assert_paid_once(merchant: Merchant, order: dict, payment_id: int, strategy: str) -> None:
    shown = merchant.call("GET", f"/api/v1/orders/{order['id']}")
    assert (shown["status"], shown["amount_paid"]) == ("paid", order["amount"]), shown
    payment = merchant.payment(payment_id)
    assert payment["reconciliation"] == "matched", payment
    assert [(a["order_id"], a["amount"], a["matched_by"]) for a in payment["allocations"]] == [
        (order["id"], order["amount"], strategy)
    ], payment
    actions = [e["action"] for e in merchant.call("GET", f"/api/v1/audit?object_type=payment&object_id={payment_id}")]
    assert {"payment.recorded", "allocation.created", "payment.rematched"} <= set(actions), actions


def test_payment_first_then_its_order(merchant):
    # By reference: the customer paid a pro-forma invoice before the sale was keyed in.
    by_reference = merchant.webhook(transactionRef="TRX-R", paymentRef="INV-2001")
    assert by_reference["reconciliation"] == "unmatched"
    order = merchant.order("inv-2001")
    assert (order["status"], order["amount_paid"]) == ("paid", "15000.00")
    assert_paid_once(merchant, order, by_reference["payment_id"], "reference")

    # By virtual account.
    by_account = merchant.webhook(transactionRef="TRX-V", destinationAccount="9900001111")
    assert by_account["reconciliation"] == "unmatched"
    order = merchant.order("INV-2002", virtual_account="9900001111")
    assert_paid_once(merchant, order, by_account["payment_id"], "virtual_account")

    # By amount + customer.
    customer = {"id": "C-9", "name": "Bola", "email": "Bola@Example.com"}
    by_customer = merchant.webhook(transactionRef="TRX-C", amount="2500.00", customer=customer)
    assert by_customer["reconciliation"] == "unmatched"
    order = merchant.order("INV-2003", amount="2500.00", customer={"email": "bola@example.com"})
    assert_paid_once(merchant, order, by_customer["payment_id"], "amount_customer")


def test_an_order_changed_to_carry_the_reference_is_matched(merchant):
    paid = merchant.webhook(transactionRef="TRX-P", paymentRef="PAY-88231")
    order = merchant.order("INV-3001")
    assert order["status"] == "open"
    assert merchant.payment(paid["payment_id"])["reconciliation"] == "unmatched"

    changed = merchant.call("PATCH", f"/api/v1/orders/{order['id']}", {"payment_reference": "PAY-88231"})
    assert (changed["status"], changed["amount_paid"]) == ("paid", "15000.00")
    assert_paid_once(merchant, changed, paid["payment_id"], "reference")


@pytest.mark.parametrize("minutes", [-7, 7], ids=["clock-behind", "clock-ahead"])
def test_a_provider_clock_minutes_off_does_not_decide_the_match(merchant, minutes):
    now = dt.datetime.now(dt.UTC)
    stamped = lagos_time(now + dt.timedelta(minutes=minutes))
    # Payment first, stamped minutes off our clock, then its order.
    first = {"id": "C-1", "name": "Ada", "email": "ada@example.com"}
    early = merchant.webhook(transactionRef="TRX-1", amount="1200.00", customer=first, transactionDate=stamped)
    assert early["reconciliation"] == "unmatched"
    order = merchant.order("INV-4001", amount="1200.00", customer={"email": "ada@example.com"})
    assert_paid_once(merchant, order, early["payment_id"], "amount_customer")

    # Order first, then a payment stamped minutes off.
    second = {"id": "C-2", "name": "Chi", "phone": "+2348000000002"}
    order = merchant.order("INV-4002", amount="800.00", customer={"phone": "+2348000000002"})
    late = merchant.webhook(transactionRef="TRX-2", amount="800.00", customer=second, transactionDate=stamped)
    assert late["reconciliation"] == "matched"
    shown = merchant.call("GET", f"/api/v1/orders/{order['id']}")
    assert (shown["status"], shown["amount_paid"]) == ("paid", "800.00")


def test_an_order_and_its_webhook_at_the_same_moment_allocate_once(merchant, backend):
    """Each pair races an order's creation against the webhook that pays it: whichever
    commits second must find the first, and neither may allocate twice."""
    if backend != "postgres":
        pytest.skip("SQLite runs one writer at a time; the race is PostgreSQL's")
    barrier = threading.Barrier(2 * CONCURRENT_PAIRS)
    answers: dict[str, dict] = {}
    failures: list[BaseException] = []

    def run(name, call):
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            answers[name] = call()
        except BaseException as exc:  # reported below, with the others
            failures.append(exc)

    threads = []
    for n in range(CONCURRENT_PAIRS):
        reference = f"INV-RACE-{n}"
        threads.append(threading.Thread(target=run, args=(f"order-{n}", lambda r=reference: merchant.order(r))))
        threads.append(
            threading.Thread(
                target=run,
                args=(
                    f"webhook-{n}",
                    lambda n=n, r=reference: merchant.webhook(transactionRef=f"TRX-RACE-{n}", paymentRef=r),
                ),
            )
        )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not failures, failures
    for n in range(CONCURRENT_PAIRS):
        order, paid = answers[f"order-{n}"], answers[f"webhook-{n}"]
        shown = merchant.call("GET", f"/api/v1/orders/{order['id']}")
        assert (shown["status"], shown["amount_paid"]) == ("paid", "15000.00"), shown
        payment = merchant.payment(paid["payment_id"])
        assert payment["reconciliation"] == "matched", payment
        assert [a["order_id"] for a in payment["allocations"]] == [order["id"]], payment
