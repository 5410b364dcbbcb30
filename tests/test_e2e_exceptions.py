"""End to end through real gunicorn: webhooks fill the exception queue with its reasons, a person
accepts one suggestion and declines another, and works the queue with single and bulk resolves."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.conftest import core_payload, core_signature
from tests.live_server import Response, Server, api, create_tenant, live_server, request

SENDER = "127.0.0.2"


@pytest.fixture
def server(database_url, tmp_path):
    with live_server(database_url, tmp_path) as running:
        yield running


def expect(response: Response, status: int):
    assert response.status == status, (response.status, response.body)
    return response.json if response.body else {}


def enable(server: Server, api_key: str, provider: str) -> dict:
    integration = expect(api(server, api_key, "POST", "/api/v1/integrations", {"provider": provider}), 201)
    path = f"/api/v1/integrations/{integration['id']}/allowlist"
    expect(api(server, api_key, "POST", path, {"cidr": f"{SENDER}/32"}), 201)
    integration["path"] = urlsplit(integration["webhook_url"]).path
    return integration


def order(server: Server, api_key: str, reference: str, amount: str) -> dict:
    payload = {"reference": reference, "amount": amount, "currency": "NGN"}
    return expect(api(server, api_key, "POST", "/api/v1/orders", payload), 201)


def pay(server: Server, core: dict, tenant_id: str, transaction: str, reference: str, amount: str) -> dict:
    payload = core_payload(tenant_id, transactionRef=transaction, paymentRef=reference, amount=amount, customer=None)
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Signature": core_signature(body, core["credentials"][0]["secret"])}
    return expect(request(server.port, "POST", core["path"], body=body, headers=headers, source=SENDER), 200)


def queue(server: Server, api_key: str, query: str = "") -> dict[str, dict]:
    """The queue as {item id: item}, every page read through the pagination header."""
    items, page = {}, 1
    while True:
        answer = api(server, api_key, "GET", f"/api/v1/exceptions?page_size=2&page={page}{query}")
        for item in expect(answer, 200):
            assert item["id"] not in items, item
            items[item["id"]] = item
        pagination = json.loads(answer.headers["X-Pagination"])
        if pagination.get("next_page") is None:
            assert pagination.get("total", 0) == len(items), pagination
            return items
        page = pagination["next_page"]


def test_exception_queue_and_suggestions_through_gunicorn(server):
    tenant = create_tenant(server)
    tenant_id, key = tenant["tenant_id"], tenant["api_key"]
    core, opay = enable(server, key, "core"), enable(server, key, "opay")

    invoice = order(server, key, "INV-1001", "15000.00")
    part_paid = order(server, key, "INV-2001", "100.00")
    cancelled = order(server, key, "INV-3001", "20.00")
    expect(api(server, key, "POST", f"/api/v1/orders/{cancelled['id']}/cancel"), 200)
    lookalike = order(server, key, "SO-5001", "777.00")

    # The reference is written without its dash: no strategy matches it.
    typo = pay(server, core, tenant_id, "TX-A", "INV1001", "15000.00")
    assert typo["reconciliation"] == "unmatched", typo
    stranger = pay(server, core, tenant_id, "TX-D", "REF-9", "777.00")
    assert pay(server, core, tenant_id, "TX-B", "INV-2001", "40.00")["reconciliation"] == "matched"
    assert pay(server, core, tenant_id, "TX-C", "INV-3001", "20.00")["reconciliation"] == "exception"
    unknown = json.dumps({"type": "refund-status", "payload": {"reference": "INV-1001"}}).encode()
    answer = request(
        server.port, "POST", opay["path"], body=unknown, headers={"Content-Type": "application/json"}, source=SENDER
    )
    assert answer.status == 200, answer.body

    items = queue(server, key)
    reasons = sorted(item["reason"] for item in items.values())
    assert reasons == ["no_order", "no_order", "order_cancelled", "underpaid_order", "unrecognized_webhook"]
    typo_item = items[f"payment:{typo['payment_id']}"]
    assert "reference INV1001 vs order INV-1001" in typo_item["message"], typo_item
    assert (typo_item["amount"], typo_item["currency"]) == ("15000.00", "NGN")
    assert typo_item["candidates"][0]["order_id"] == invoice["id"]
    underpaid = items[f"order:{part_paid['id']}"]
    assert underpaid["message"] == "order INV-2001 paid 40.00 of 100.00 NGN: 60.00 outstanding"
    assert "order INV-3001 is cancelled" in items[f"payment:{pay_id(server, key, 'TX-C')}"]["message"]

    # A suggestion accepted: a manual match.
    base = f"/api/v1/payments/{typo['payment_id']}/suggestions"
    suggested = expect(api(server, key, "GET", base), 200)["suggestions"]
    assert suggested[0]["order"]["id"] == invoice["id"]
    assert "reference INV1001 ≈ order INV-1001" in [e["detail"] for e in suggested[0]["evidence"]]
    accepted = expect(api(server, key, "POST", f"{base}/{invoice['id']}/accept", {"note": "typo in the transfer"}), 200)
    assert accepted["payment"]["reconciliation"] == "matched"
    assert expect(api(server, key, "GET", f"/api/v1/orders/{invoice['id']}"), 200)["status"] == "paid"

    # A suggestion declined: remembered.
    base = f"/api/v1/payments/{stranger['payment_id']}/suggestions"
    assert [s["order"]["id"] for s in expect(api(server, key, "GET", base), 200)["suggestions"]] == [lookalike["id"]]
    expect(api(server, key, "POST", f"{base}/{lookalike['id']}/decline", {"note": "not this customer"}), 200)
    after = expect(api(server, key, "GET", base), 200)
    assert (after["suggestions"], after["declined_order_ids"]) == ([], [lookalike["id"]])

    # The accepted payment has left the queue; the rest is resolved in bulk and singly.
    items = queue(server, key)
    assert f"payment:{typo['payment_id']}" not in items
    bulk_ids = [i for i, item in items.items() if item["reason"] != "underpaid_order"]
    result = expect(api(server, key, "POST", "/api/v1/exceptions/resolve", {"ids": bulk_ids, "note": "reviewed"}), 200)
    assert (sorted(result["resolved"]), result["skipped"]) == (sorted(bulk_ids), [])
    assert list(queue(server, key)) == [f"order:{part_paid['id']}"]
    assert sorted(queue(server, key, "&status=resolved")) == sorted(bulk_ids)
    single = f"/api/v1/exceptions/order:{part_paid['id']}/resolve"
    expect(api(server, key, "POST", single, {"note": "customer pays the rest on Friday"}), 200)
    assert queue(server, key) == {}

    # More money reaches the order: its state changed, so it is back in the queue.
    pay(server, core, tenant_id, "TX-E", "INV-2001", "10.00")
    (back,) = queue(server, key).values()
    assert (back["id"], back["amount"], back["status"]) == (f"order:{part_paid['id']}", "50.00", "open")
    audit = expect(api(server, key, "GET", "/api/v1/audit?object_type=exception&page_size=100"), 200)
    assert len([e for e in audit if e["action"] == "exception.resolved"]) == len(bulk_ids) + 1


def pay_id(server: Server, api_key: str, transaction: str) -> int:
    payments = expect(api(server, api_key, "GET", "/api/v1/payments?page_size=100"), 200)
    return next(p["id"] for p in payments if p["external_id"] == transaction)
