"""End to end: a Fuspay integration set up over REST, then signed notifications through real gunicorn."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import pytest

from flux_recon_fuspay.provider import FuspayProvider
from tests.live_server import Response, Server, api, create_tenant, live_server, request

# Both loopback: only the first is on the allow-list, which makes the IP check observable.
ALLOWED_SOURCE = "127.0.0.2"
OTHER_SOURCE = "127.0.0.3"
MERCHANT_SECRET = "SK_merchant_live_3c7a91e2d4b85f60"
PARTNER_SECRET = "SK_partner_live_8e1d5b3f9a27c4d6"


@pytest.fixture
def server(database_url, tmp_path):
    # The local signing server listens on loopback, which the operator must allow.
    with live_server(database_url, tmp_path, settings={"FUSPAY_LOOPBACK_SIGNER": "1"}) as running:
        yield running


def expect(response: Response, status: int) -> dict:
    assert response.status == status, (response.status, response.body)
    return response.json if response.body else {}


def create_order(server: Server, api_key: str, reference: str) -> dict:
    order = {"reference": reference, "amount": "15000.00", "currency": "NGN"}
    return expect(api(server, api_key, "POST", "/api/v1/orders", order), 201)


def signed_body(payload: dict, key: str) -> bytes:
    """Fuspay's signature, computed independently of the plugin: hex HMAC-SHA512 over the
    body without `signature`, keys sorted, compact, UTF-8; sent with ordinary whitespace."""
    message = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    signature = hmac.new(key.encode(), message, hashlib.sha512).hexdigest()
    return json.dumps({**payload, "signature": signature}).encode()


def post_webhook(server: Server, path: str, body: bytes, source: str = ALLOWED_SOURCE) -> Response:
    return request(server.port, "POST", path, body=body, headers={"Content-Type": "application/json"}, source=source)


def test_fuspay_notifications_through_gunicorn(server):
    api_key = create_tenant(server, "Fuspay Merchant")["api_key"]

    # The merchant enables Fuspay, stores both secrets from its dashboard, allows Fuspay's address.
    integration = expect(api(server, api_key, "POST", "/api/v1/integrations", {"provider": "fuspay"}), 201)
    base = f"/api/v1/integrations/{integration['id']}"
    for name, value in (("merchant_secret", MERCHANT_SECRET), ("partner_secret", PARTNER_SECRET)):
        assert expect(api(server, api_key, "PUT", f"{base}/secrets/{name}", {"value": value}), 200)["set"] is True
    secrets = expect(api(server, api_key, "GET", f"{base}/secrets"), 200)
    assert all(s["set"] for s in secrets) and MERCHANT_SECRET not in json.dumps(secrets)
    expect(api(server, api_key, "POST", f"{base}/allowlist", {"cidr": f"{ALLOWED_SOURCE}/32"}), 201)
    path = urlsplit(integration["webhook_url"]).path
    assert path.startswith("/webhooks/fuspay/")

    order = create_order(server, api_key, "INV-1001")
    paid = signed_body(FuspayProvider.sample_payloads()["paid_completed"], MERCHANT_SECRET + PARTNER_SECRET)

    # From an address off the allow-list, even a correct signature is refused.
    expect(post_webhook(server, path, paid, source=OTHER_SOURCE), 403)
    # Signed with the merchant secret alone, a collection notification is refused.
    merchant_only = signed_body(FuspayProvider.sample_payloads()["paid_completed"], MERCHANT_SECRET)
    expect(post_webhook(server, path, merchant_only), 401)
    assert expect(api(server, api_key, "GET", f"/api/v1/orders/{order['id']}"), 200)["status"] == "open"

    # Paid/Completed, correctly signed, from the allowed address: the order is paid.
    accepted = expect(post_webhook(server, path, paid), 200)
    assert (accepted["status"], accepted["reconciliation"]) == ("accepted", "matched"), accepted
    shown = expect(api(server, api_key, "GET", f"/api/v1/orders/{order['id']}"), 200)
    assert (shown["status"], shown["amount_paid"]) == ("paid", "15000.00"), shown
    payment = expect(api(server, api_key, "GET", f"/api/v1/payments/{accepted['payment_id']}"), 200)
    assert (payment["provider"], payment["external_id"]) == ("fuspay", "IPR-7F3KQ9X2M1"), payment
    assert [a["order_id"] for a in payment["allocations"]] == [order["id"]], payment

    # Fuspay retries: the same notification again changes nothing.
    again = expect(post_webhook(server, path, paid), 200)
    assert (again["status"], again["payment_id"]) == ("duplicate", accepted["payment_id"]), again

    # Mismatched: less than the order was paid, and that is what counts.
    short = create_order(server, api_key, "INV-1002")
    mismatched = signed_body(FuspayProvider.sample_payloads()["paid_mismatched"], MERCHANT_SECRET + PARTNER_SECRET)
    assert expect(post_webhook(server, path, mismatched), 200)["reconciliation"] == "matched"
    shown = expect(api(server, api_key, "GET", f"/api/v1/orders/{short['id']}"), 200)
    assert (shown["status"], shown["amount_paid"], shown["outstanding"]) == ("partially_paid", "12000.00", "3000.00")

    # A payout, signed with the merchant secret alone, is acknowledged and ignored.
    payout = signed_body(FuspayProvider.sample_payloads()["payout"], MERCHANT_SECRET)
    ignored = expect(post_webhook(server, path, payout), 200)
    assert (ignored["status"], ignored["payment_id"]) == ("ignored", None), ignored
    payments = expect(api(server, api_key, "GET", "/api/v1/payments"), 200)
    assert sorted(p["external_id"] for p in payments) == ["IPR-7F3KQ9X2M1", "IPR-8H2LM4Z7Q5"]


def test_fuspay_remote_verification_through_gunicorn(server):
    """Remote mode: each notification is checked by a real local server playing Fuspay's
    signing endpoint; its outage, its silence and its disagreement are all observable."""
    from tests.fuspay_signer import running_signer

    api_key = create_tenant(server, "Fuspay remote")["api_key"]
    integration = expect(api(server, api_key, "POST", "/api/v1/integrations", {"provider": "fuspay"}), 201)
    base = f"/api/v1/integrations/{integration['id']}"
    for name, value in (("merchant_secret", MERCHANT_SECRET), ("partner_secret", PARTNER_SECRET)):
        expect(api(server, api_key, "PUT", f"{base}/secrets/{name}", {"value": value}), 200)
    expect(api(server, api_key, "POST", f"{base}/allowlist", {"cidr": f"{ALLOWED_SOURCE}/32"}), 201)
    path = urlsplit(integration["webhook_url"]).path
    order = create_order(server, api_key, "INV-1001")
    body = signed_body(FuspayProvider.sample_payloads()["paid_completed"], MERCHANT_SECRET + PARTNER_SECRET)

    with running_signer() as signer:
        options = {"verification": "remote", "signing_base_url": signer.base_url}
        shown = expect(api(server, api_key, "PUT", f"{base}/options", {"options": options}), 200)
        assert shown["options"] == options, shown

        signer.mode = "error"  # Fuspay's endpoint failing: 503, so Fuspay sends it again later
        assert post_webhook(server, path, body).status == 503
        signer.mode, signer.delay = "slow", 6.5  # past the 5 s read timeout
        assert post_webhook(server, path, body).status == 503
        signer.mode = "wrong"
        assert post_webhook(server, path, body).status == 401
        signer.mode = "sign"
        paid = expect(post_webhook(server, path, body), 200)
        assert (paid["status"], paid["reconciliation"]) == ("accepted", "matched"), paid
        assert all(json.loads(sent)["secret"] == MERCHANT_SECRET + PARTNER_SECRET for sent in signer.received)

    payment = expect(api(server, api_key, "GET", f"/api/v1/payments/{paid['payment_id']}"), 200)
    assert (payment["amount"], payment["currency"], payment["status"], payment["kind"]) == (
        "15000.00",
        "NGN",
        "succeeded",
        "payment",
    ), payment
    assert expect(api(server, api_key, "GET", f"/api/v1/orders/{order['id']}"), 200)["status"] == "paid"
    events = expect(api(server, api_key, "GET", "/api/v1/webhook-events"), 200)
    verdicts = sorted(e["verdict"] for e in events)
    assert verdicts == ["accepted", "rejected_signature", "verification_unavailable", "verification_unavailable"]
    assert MERCHANT_SECRET not in json.dumps(events) and PARTNER_SECRET not in json.dumps(events)

    server.stop()
    log = server.log()
    assert "Traceback" not in log, log
    assert MERCHANT_SECRET not in log and PARTNER_SECRET not in log, log
