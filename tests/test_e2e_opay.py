"""End to end: the Opay integration through real gunicorn, set up over REST, both webhook forms over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import pytest

from tests.live_server import Response, Server, api, create_tenant, live_server, request

ALLOWED_SOURCE = "127.0.0.2"
OTHER_SOURCE = "127.0.0.3"
SECRET_KEY = "OPAYPRV-e2e-secret-key-7f3a"


@pytest.fixture
def server(database_url, tmp_path):
    with live_server(database_url, tmp_path) as running:
        yield running


def expect(response: Response, status: int) -> dict:
    assert response.status == status, (response.status, response.body)
    return response.json if response.body else {}


def sha3_signature(fields: dict, key: str) -> str:
    """Opay's sha512 field, computed as its specification says (HMAC-SHA3-512, hex)."""
    message = (
        f'{{Amount:"{fields["amount"]}",Currency:"{fields["currency"]}",Reference:"{fields["reference"]}",'
        f'Refunded:{"t" if fields["refunded"] else "f"},Status:"{fields["status"]}",'
        f'Timestamp:"{fields["timestamp"]}",Token:"{fields["token"]}",TransactionID:"{fields["transactionId"]}"}}'
    )
    return hmac.new(key.encode(), message.encode(), hashlib.sha3_512).hexdigest()


def checkout_callback(reference: str, key: str) -> bytes:
    fields = {
        "amount": "49160",
        "channel": "Web",
        "country": "NG",
        "currency": "NGN",
        "displayedFailure": "",
        "fee": "737",
        "feeCurrency": "NGN",
        "instrumentType": "BankCard",
        "reference": reference,
        "refunded": False,
        "status": "SUCCESS",
        "timestamp": "2026-11-22T09:20:46Z",
        "token": "261122145660712931829",
        "transactionId": "261122140885521681",
        "updated_at": "2026-11-22T09:20:48Z",
    }
    return json.dumps({"payload": fields, "sha512": sha3_signature(fields, key), "type": "transaction-status"}).encode()


def pos_notification(out_order_no: str) -> bytes:
    data = {
        "outOrderNo": out_order_no,
        "orderNo": "261122010100213456789",
        "payNo": "2611221005030001",
        "merchantId": "256621051512345",
        "status": "SUCCESS",
        "senderName": "",
        "senderBank": "",
        "senderAccount": "539983******4417",
        "recipientName": "ADAEZE STORES LTD",
        "receiptBank": "OPay",
        "receiptAccount": "",
        "amount": "300.00",
        "fee": "1.50",
        "payMethod": "Card",
        "settlementAmount": "298.50",
        "currency": "NGN",
        "transactionTime": "1795341903000",
        "completedTime": "1795341905000",
        "remark": "",
    }
    return json.dumps({"data": data}).encode()


def order(reference: str, amount: str) -> dict:
    return {"reference": reference, "amount": amount, "currency": "NGN"}


def post_webhook(server: Server, path: str, body: bytes, source: str = ALLOWED_SOURCE, **headers) -> Response:
    sent = {"Content-Type": "application/json", **headers}
    return request(server.port, "POST", path, body=body, headers=sent, source=source)


def test_opay_checkout_and_pos_through_gunicorn(server):
    api_key = create_tenant(server)["api_key"]

    # The merchant enables Opay, pastes the secret key from the Opay dashboard, allows Opay's address.
    integration = expect(api(server, api_key, "POST", "/api/v1/integrations", {"provider": "opay"}), 201)
    webhook_path = urlsplit(integration["webhook_url"]).path
    assert webhook_path.startswith("/webhooks/opay/")
    integration_path = f"/api/v1/integrations/{integration['id']}"
    secret = expect(api(server, api_key, "PUT", f"{integration_path}/secrets/secret_key", {"value": SECRET_KEY}), 200)
    assert secret["set"] is True
    assert SECRET_KEY not in json.dumps(expect(api(server, api_key, "GET", integration_path), 200))
    expect(api(server, api_key, "POST", f"{integration_path}/allowlist", {"cidr": ALLOWED_SOURCE}), 201)
    first = expect(api(server, api_key, "POST", "/api/v1/orders", order("INV-1001", "491.60")), 201)
    second = expect(api(server, api_key, "POST", "/api/v1/orders", order("INV-1002", "300.00")), 201)

    # A correctly signed checkout callback from the allowed address pays the first order.
    callback = checkout_callback("INV-1001", SECRET_KEY)
    paid = expect(post_webhook(server, webhook_path, callback), 200)
    assert (paid["status"], paid["reconciliation"]) == ("accepted", "matched"), paid
    shown = expect(api(server, api_key, "GET", f"/api/v1/orders/{first['id']}"), 200)
    assert (shown["status"], shown["amount_paid"]) == ("paid", "491.60"), shown
    assert expect(post_webhook(server, webhook_path, callback), 200)["status"] == "duplicate"

    # The same callback signed with another key, or sent from another address, is refused.
    forged = checkout_callback("INV-1002", "OPAYPRV-not-the-merchants-key")
    assert post_webhook(server, webhook_path, forged).status == 401
    assert post_webhook(server, webhook_path, callback, source=OTHER_SOURCE).status == 403

    # A POS notification (unsigned by design) for the second order, matched by outOrderNo.
    notification = pos_notification("INV-1002")
    assert post_webhook(server, webhook_path, notification, source=OTHER_SOURCE).status == 403
    pos = expect(post_webhook(server, webhook_path, notification, **{"X-Opay-Tranid": "261122010100213456789"}), 200)
    assert (pos["status"], pos["reconciliation"]) == ("accepted", "matched"), pos
    shown = expect(api(server, api_key, "GET", f"/api/v1/orders/{second['id']}"), 200)
    assert (shown["status"], shown["amount_paid"]) == ("paid", "300.00"), shown
    payment = expect(api(server, api_key, "GET", f"/api/v1/payments/{pos['payment_id']}"), 200)
    assert (payment["external_id"], payment["method"], payment["fee"]) == ("261122010100213456789", "card", "1.50")

    # Only the two accepted notifications became payments.
    payments = expect(api(server, api_key, "GET", "/api/v1/payments?provider=opay"), 200)
    assert sorted(p["id"] for p in payments) == sorted([paid["payment_id"], pos["payment_id"]])

    server.stop()
    assert "Traceback" not in server.log(), server.log()


def v2_signature(timestamp: str, body: bytes, key: str) -> str:
    """Opay's callback signature v2 as its page describes it: hex HMAC-SHA512 over RequestTimestamp + body."""
    return hmac.new(key.encode(), timestamp.encode() + body, hashlib.sha512).hexdigest()


def test_opay_callback_v2_legacy_cashier_and_wallet_deposit_through_gunicorn(server):
    api_key = create_tenant(server)["api_key"]
    integration = expect(api(server, api_key, "POST", "/api/v1/integrations", {"provider": "opay"}), 201)
    webhook_path = urlsplit(integration["webhook_url"]).path
    integration_path = f"/api/v1/integrations/{integration['id']}"
    expect(api(server, api_key, "PUT", f"{integration_path}/secrets/secret_key", {"value": SECRET_KEY}), 200)
    expect(api(server, api_key, "POST", f"{integration_path}/allowlist", {"cidr": ALLOWED_SOURCE}), 201)
    v2_order = expect(
        api(server, api_key, "POST", "/api/v1/orders", order("92631092", "4.00") | {"currency": "EGP"}), 201
    )
    wallet_order = expect(
        api(server, api_key, "POST", "/api/v1/orders", order("INV-W-7", "5000.00") | {"virtual_account": "6234567890"}),
        201,
    )

    # Callback v2: the shape of Opay's documented example (doc.opaycheckout.com/callback-signature-v2),
    # as a success, signed in the Authorization header over RequestTimestamp + the raw body.
    v2_body = json.dumps(
        {
            "amount": {"currency": "EGP", "total": 400},
            "country": "EG",
            "failureCode": "",
            "failureReason": "",
            "notifyId": "68d9b42c1e694ebc921af92b76804d23",
            "orderNo": "211005140885652282",
            "reference": "92631092",
            "status": "SUCCESS",
            "timestamp": 1633411815591,
            "type": "MACQUIRING_CALLBACK",
            "extras": {},
        }
    ).encode()
    stamp = "1631106688000"
    signed = {"MerchantId": "256612345678901", "RequestTimestamp": stamp}
    forged = post_webhook(server, webhook_path, v2_body, **signed, Authorization=v2_signature(stamp, v2_body, "x"))
    assert forged.status == 401
    assert post_webhook(server, webhook_path, v2_body).status == 401  # unsigned once the key is set
    paid = expect(
        post_webhook(server, webhook_path, v2_body, **signed, Authorization=v2_signature(stamp, v2_body, SECRET_KEY)),
        200,
    )
    assert (paid["status"], paid["reconciliation"]) == ("accepted", "matched"), paid
    payment = expect(api(server, api_key, "GET", f"/api/v1/payments/{paid['payment_id']}"), 200)
    assert (payment["amount"], payment["currency"], payment["status"], payment["kind"]) == (
        "4.00",
        "EGP",
        "succeeded",
        "payment",
    )
    assert expect(api(server, api_key, "GET", f"/api/v1/orders/{v2_order['id']}"), 200)["status"] == "paid"

    # The older cashier callback (opay-services/opay-sdk-php, cashier callback example): naira and
    # "successful". Refused under the default API generation, accepted once the integration says so.
    legacy_fields = {
        "amount": "10.00",
        "currency": "NGN",
        "fee": "0.10",
        "reference": "3cae64cb5f68a7c4008b765b97401a",
        "refunded": False,
        "status": "successful",
        "timestamp": "2020-09-21T13:18:45Z",
        "token": "200921144008250432",
        "transactionId": "200921144008250432",
        "payChannel": "BalancePayment",
    }
    legacy = json.dumps(
        {"payload": legacy_fields, "sha512": sha3_signature(legacy_fields, SECRET_KEY), "type": "transaction-status"}
    ).encode()
    refused = post_webhook(server, webhook_path, legacy)
    assert refused.status == 422 and "payload.amount" in refused.json["errors"], refused.body
    expect(
        api(server, api_key, "PUT", f"{integration_path}/options", {"options": {"api_generation": "legacy_cashier"}}),
        200,
    )
    older = expect(post_webhook(server, webhook_path, legacy), 200)
    assert older["status"] == "accepted", older
    payment = expect(api(server, api_key, "GET", f"/api/v1/payments/{older['payment_id']}"), 200)
    assert (payment["amount"], payment["fee"], payment["currency"], payment["status"], payment["kind"]) == (
        "10.00",
        "0.10",
        "NGN",
        "succeeded",
        "payment",
    )

    # A digital-wallet deposit: unsigned (allow-list only), matched by its deposit code.
    deposit = json.dumps(
        {
            "orderNo": "261122030400187654321",
            "depositCode": "6234567890",
            "depositAmount": "5000.00",
            "currency": "NGN",
            "status": "SUCCESS",
            "transactionTime": "1795350000000",
            "completedTime": "1795350001000",
        }
    ).encode()
    assert post_webhook(server, webhook_path, deposit, source=OTHER_SOURCE).status == 403
    funded = expect(post_webhook(server, webhook_path, deposit), 200)
    assert (funded["status"], funded["reconciliation"]) == ("accepted", "matched"), funded
    payment = expect(api(server, api_key, "GET", f"/api/v1/payments/{funded['payment_id']}"), 200)
    assert (payment["amount"], payment["currency"], payment["status"], payment["kind"]) == (
        "5000.00",
        "NGN",
        "succeeded",
        "payment",
    )
    assert expect(api(server, api_key, "GET", f"/api/v1/orders/{wallet_order['id']}"), 200)["status"] == "paid"

    # A signed callback of a type the plugin does not know is kept as unrecognized, not ignored.
    unknown_fields = dict(legacy_fields, transactionId="200921144008250499")
    unknown = json.dumps(
        {"payload": unknown_fields, "sha512": sha3_signature(unknown_fields, SECRET_KEY), "type": "refund-status"}
    ).encode()
    kept = expect(post_webhook(server, webhook_path, unknown), 200)
    assert kept["status"] == "unrecognized", kept

    server.stop()
    assert "Traceback" not in server.log(), server.log()


def test_a_large_notification_with_an_unknown_status_is_kept_whole_and_queued_through_gunicorn(server):
    api_key = create_tenant(server)["api_key"]
    integration = expect(api(server, api_key, "POST", "/api/v1/integrations", {"provider": "opay"}), 201)
    webhook_path = urlsplit(integration["webhook_url"]).path
    expect(
        api(server, api_key, "POST", f"/api/v1/integrations/{integration['id']}/allowlist", {"cidr": ALLOWED_SOURCE}),
        201,
    )

    # A status Opay adds later, on a body past the inbox's 64 KiB cut: answered 200 (Opay
    # stops resending), so the inbox's whole copy and the queue are all there is.
    notification = json.loads(pos_notification("INV-3003"))
    notification["data"].update(status="SETTLED_TO_WALLET", remark="x" * (200 * 1024))
    body = json.dumps(notification).encode()
    answer = expect(post_webhook(server, webhook_path, body), 200)
    assert answer["status"] == "unrecognized" and "SETTLED_TO_WALLET" in answer["reason"], answer

    (event,) = expect(api(server, api_key, "GET", "/api/v1/webhook-events?verdict=unrecognized"), 200)
    assert (event["body_size"], event["body_truncated"]) == (len(body), False), event
    (item,) = expect(api(server, api_key, "GET", "/api/v1/exceptions?reason=unrecognized_webhook"), 200)
    assert item["id"] == f"webhook:{event['id']}" and "SETTLED_TO_WALLET" in item["message"]
    # Replayable (not 409): once the plugin reads the status, this records the payment.
    replay = expect(api(server, api_key, "POST", f"/api/v1/webhook-events/{event['id']}/replay"), 200)
    assert replay["result"]["status"] == "unrecognized", replay
    assert expect(api(server, api_key, "GET", "/api/v1/payments?provider=opay"), 200) == []

    server.stop()
    assert "Traceback" not in server.log(), server.log()
