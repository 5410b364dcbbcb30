"""End to end: a Monnify integration set up over REST on real gunicorn, paid, refunded and rejected over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from urllib.parse import urlsplit

import pytest

from flux_recon_monnify.provider import MonnifyProvider
from tests.live_server import Response, Server, api, create_tenant, live_server, request

# Both loopback: only the first is put on the allow-list, so the IP check is observable.
ALLOWED_SOURCE = "127.0.0.2"
OTHER_SOURCE = "127.0.0.3"
CLIENT_SECRET = "7PX2M9QK4T6W1ZB8NDRC3HJV5LFYGS0A"


@pytest.fixture
def server(database_url, tmp_path):
    with live_server(database_url, tmp_path) as running:
        yield running


def expect(response: Response, status: int) -> dict:
    assert response.status == status, (response.status, response.body)
    return response.json if response.body else {}


def post_monnify(server: Server, path: str, payload: dict, *, secret: str | None, source: str = ALLOWED_SOURCE):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["monnify-signature"] = hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
    return request(server.port, "POST", path, body=body, headers=headers, source=source)


def test_monnify_payment_refund_and_rejection_through_gunicorn(server):
    samples = MonnifyProvider.sample_payloads()
    tenant = create_tenant(server, "Monnify E2E Merchant")
    key = tenant["api_key"]

    # Enable the integration: Monnify's published address is pre-filled on the allow-list.
    integration = expect(api(server, key, "POST", "/api/v1/integrations", {"provider": "monnify"}), 201)
    assert "35.242.133.146/32" in [e["cidr"] for e in integration["allowlist"]["entries"]]
    base = f"/api/v1/integrations/{integration['id']}"
    webhook_path = urlsplit(integration["webhook_url"]).path
    assert webhook_path.startswith("/webhooks/monnify/")

    # The client secret from Monnify's dashboard, then the address this test sends from.
    secret = expect(api(server, key, "PUT", f"{base}/secrets/client_secret", {"value": CLIENT_SECRET}), 200)
    assert (secret["name"], secret["set"]) == ("client_secret", True)
    assert CLIENT_SECRET not in json.dumps(expect(api(server, key, "GET", base), 200))
    expect(api(server, key, "POST", f"{base}/allowlist", {"cidr": f"{ALLOWED_SOURCE}/32"}), 201)

    order = expect(
        api(server, key, "POST", "/api/v1/orders", {"reference": "INV-1001", "amount": "15000.00", "currency": "NGN"}),
        201,
    )
    order_path = f"/api/v1/orders/{order['id']}"

    # A correctly signed payment from the allowed address pays the order.
    paid = expect(post_monnify(server, webhook_path, samples["card_payment"], secret=CLIENT_SECRET), 200)
    assert (paid["status"], paid["reconciliation"]) == ("accepted", "matched"), paid
    shown = expect(api(server, key, "GET", order_path), 200)
    assert (shown["status"], shown["amount_paid"]) == ("paid", "15000.00"), shown

    # Refused: unsigned now that a secret is set, a wrong key, an address off the list.
    retry = samples["card_payment"]
    assert post_monnify(server, webhook_path, retry, secret=None).status == 401
    assert post_monnify(server, webhook_path, retry, secret="not-the-client-secret").status == 401
    assert post_monnify(server, webhook_path, retry, secret=CLIENT_SECRET, source=OTHER_SOURCE).status == 403

    # The refund of that payment releases the order.
    refunded = expect(post_monnify(server, webhook_path, samples["refund"], secret=CLIENT_SECRET), 200)
    assert (refunded["status"], refunded["reconciliation"]) == ("accepted", "matched"), refunded
    shown = expect(api(server, key, "GET", order_path), 200)
    assert (shown["status"], shown["amount_paid"]) == ("open", "0.00"), shown
    payment = expect(api(server, key, "GET", f"/api/v1/payments/{paid['payment_id']}"), 200)
    assert payment["status"] == "refunded", payment

    # A rejected payment is recorded, allocated nowhere.
    rejected = expect(post_monnify(server, webhook_path, samples["rejected_payment"], secret=CLIENT_SECRET), 200)
    assert (rejected["status"], rejected["reconciliation"]) == ("accepted", "not_applicable"), rejected
    recorded = expect(api(server, key, "GET", f"/api/v1/payments/{rejected['payment_id']}"), 200)
    assert (recorded["status"], recorded["allocations"]) == ("failed", []), recorded

    # An event with no payment is acknowledged so Monnify stops retrying.
    ignored = expect(post_monnify(server, webhook_path, samples["disbursement"], secret=CLIENT_SECRET), 200)
    assert ignored["status"] == "ignored", ignored

    payments = expect(api(server, key, "GET", "/api/v1/payments"), 200)
    assert sorted(p["id"] for p in payments) == sorted(
        [paid["payment_id"], refunded["payment_id"], rejected["payment_id"]]
    )

    server.stop()
    log = server.log()
    assert "Traceback" not in log, log
    assert CLIENT_SECRET not in log, log


E2E_RACE_ROUNDS = 20


def post_at_once(server: Server, path: str, payloads: dict) -> dict:
    """POST each payload on its own connection, all released by one barrier."""
    barrier = threading.Barrier(len(payloads), timeout=30)
    answers = {}

    def send(name):
        barrier.wait()
        answers[name] = post_monnify(server, path, payloads[name], secret=None)

    threads = [threading.Thread(target=send, args=(name,)) for name in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert answers.keys() == payloads.keys(), "a request failed"
    return answers


def test_monnify_payment_and_its_refund_posted_at_the_same_moment_stay_linked(server):
    """Each round posts a payment and its full refund at once, to two gunicorn workers; on
    PostgreSQL (READ COMMITTED) the refund used to stay an orphan and the order stay paid."""
    samples = MonnifyProvider.sample_payloads()
    key = create_tenant(server, "Monnify race")["api_key"]
    integration = expect(api(server, key, "POST", "/api/v1/integrations", {"provider": "monnify"}), 201)
    expect(
        api(server, key, "POST", f"/api/v1/integrations/{integration['id']}/allowlist", {"cidr": "127.0.0.2/32"}), 201
    )
    webhook_path = urlsplit(integration["webhook_url"]).path

    lost = []
    for i in range(E2E_RACE_ROUNDS):
        reference, transaction = f"INV-R{i}", f"MNFY|85|20261122101503|{i:06d}"
        order = expect(
            api(
                server, key, "POST", "/api/v1/orders", {"reference": reference, "amount": "15000.00", "currency": "NGN"}
            ),
            201,
        )
        payment, refund = samples["card_payment"], samples["refund"]
        payment["eventData"].update(transactionReference=transaction, paymentReference=reference)
        refund["eventData"].update(transactionReference=transaction, refundReference=f"RFD-{reference}")
        answers = post_at_once(server, webhook_path, {"payment": payment, "refund": refund})
        assert {name: expect(answer, 200)["status"] for name, answer in answers.items()} == {
            "payment": "accepted",
            "refund": "accepted",
        }
        refund_row = expect(api(server, key, "GET", f"/api/v1/payments/{answers['refund'].json['payment_id']}"), 200)
        shown = expect(api(server, key, "GET", f"/api/v1/orders/{order['id']}"), 200)
        paid = expect(api(server, key, "GET", f"/api/v1/payments/{answers['payment'].json['payment_id']}"), 200)
        if refund_row["reconciliation"] != "matched":
            lost.append((i, refund_row["reconciliation"], paid["status"], shown["status"]))
            continue
        assert (paid["status"], paid["refunded"], paid["allocated"]) == ("refunded", "15000.00", "0.00"), paid
        assert (shown["status"], shown["amount_paid"]) == ("open", "0.00"), shown
    assert not lost, f"{len(lost)} of {E2E_RACE_ROUNDS} refunds lost their payment: {lost}"

    server.stop()
    assert "Traceback" not in server.log()


def legacy_hash(secret: str, body: dict) -> str:
    """Monnify's v1 formula, written out: SHA-512 of the client secret and four fields, joined by pipes."""
    fields = (body["paymentReference"], body["amountPaid"], body["paidOn"], body["transactionReference"])
    return hashlib.sha512("|".join((secret, *fields)).encode()).hexdigest()


def test_monnify_legacy_notification_through_gunicorn(server):
    """The flat v1 notification (transactionHash, no header) at the same URL as v2 events."""
    samples = MonnifyProvider.sample_payloads()
    key = create_tenant(server, "Monnify legacy")["api_key"]
    integration = expect(api(server, key, "POST", "/api/v1/integrations", {"provider": "monnify"}), 201)
    base = f"/api/v1/integrations/{integration['id']}"
    expect(api(server, key, "PUT", f"{base}/secrets/client_secret", {"value": CLIENT_SECRET}), 200)
    expect(api(server, key, "POST", f"{base}/allowlist", {"cidr": f"{ALLOWED_SOURCE}/32"}), 201)
    webhook_path = urlsplit(integration["webhook_url"]).path
    order = expect(
        api(server, key, "POST", "/api/v1/orders", {"reference": "INV-1006", "amount": "18000.00", "currency": "NGN"}),
        201,
    )

    legacy = samples["legacy_transfer"]
    forged = dict(legacy, transactionHash=legacy_hash("not-the-client-secret", legacy))
    assert post_monnify(server, webhook_path, forged, secret=None).status == 401
    legacy["transactionHash"] = legacy_hash(CLIENT_SECRET, legacy)
    paid = expect(post_monnify(server, webhook_path, legacy, secret=None), 200)
    assert (paid["status"], paid["reconciliation"]) == ("accepted", "matched"), paid
    payment = expect(api(server, key, "GET", f"/api/v1/payments/{paid['payment_id']}"), 200)
    assert (payment["amount"], payment["currency"], payment["status"], payment["kind"]) == (
        "18000.00",
        "NGN",
        "succeeded",
        "payment",
    ), payment
    assert expect(api(server, key, "GET", f"/api/v1/orders/{order['id']}"), 200)["status"] == "paid"
    # The v2 form keeps working at the same URL, with its header.
    card = expect(post_monnify(server, webhook_path, samples["card_payment"], secret=CLIENT_SECRET), 200)
    assert card["status"] == "accepted", card

    server.stop()
    log = server.log()
    assert "Traceback" not in log, log
    assert CLIENT_SECRET not in log, log
