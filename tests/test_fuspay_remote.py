"""Fuspay's remote verification mode against a real local server playing its signing endpoint."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging

import pytest

import flux_recon_fuspay
from flux_recon import AuthContext, AuthFailure, AuthUnavailable, WebhookRequest
from flux_recon.models import WebhookEvent, db
from flux_recon_fuspay import remote
from flux_recon_fuspay.provider import FuspayProvider
from flux_recon_fuspay.signature import FuspaySignature, canonical_json
from tests.conftest import close_app, make_app
from tests.fuspay_signer import running_signer


@pytest.fixture(autouse=True)
def loopback_signer_allowed(monkeypatch):
    """The local signing server listens on loopback, which the operator must allow."""
    monkeypatch.setenv(remote.LOOPBACK_SETTING, "1")


MERCHANT_SECRET = "SK_merchant_7d3e1a9c5b2f4068"
PARTNER_SECRET = "SK_partner_2b8f6d0a4c1e9357"
COLLECTION_KEY = MERCHANT_SECRET + PARTNER_SECRET


def signed(payload: dict, key: str = COLLECTION_KEY) -> bytes:
    """Fuspay's body signature as the local mode computes it (keys sorted, compact, UTF-8)."""
    message = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return json.dumps({**payload, "signature": hmac.new(key.encode(), message, hashlib.sha512).hexdigest()}).encode()


def context(base_url: str, mode: str = "remote") -> AuthContext:
    network = ipaddress.ip_network("127.0.0.1/32")
    return AuthContext(
        client_ip=network.network_address,
        allowlist=(network,),
        credentials=FuspayProvider.credential_values(
            {"merchant_secret": MERCHANT_SECRET, "partner_secret": PARTNER_SECRET}
        ),
        options={"verification": mode, "signing_base_url": base_url},
    )


def verify(body: bytes, base_url: str, mode: str = "remote"):
    return FuspaySignature().verify(WebhookRequest(body=body), context(base_url, mode))


@pytest.fixture
def signer():
    with running_signer() as running:
        yield running


@pytest.fixture
def quick(monkeypatch):
    """Shorter waits, so a slow signer is given up on in well under a second."""
    monkeypatch.setattr(remote, "READ_TIMEOUT", 0.4)
    monkeypatch.setattr(remote, "DEADLINE", 0.8)


# --- what is sent ------------------------------------------------------------------------


def test_the_body_is_sent_as_received_without_its_signature_and_with_the_documented_secret_field():
    body = b'{"b": 15000.50, "a": {"signature": "kept", "n": 1E3}, "signature": "abc", "name": "Ad\\u00e9"}'
    sent = remote.signing_request(body, "KEY")
    # Field order as sent, numbers in their own digits, a nested "signature" kept, the key last.
    assert sent == '{"b":15000.50,"a":{"signature":"kept","n":1E3},"name":"Adé","secret":"KEY"}'.encode()


def test_a_secret_field_in_the_webhook_cannot_replace_the_integration_key():
    sent = json.loads(remote.signing_request(b'{"secret": "attacker", "x": 1}', "KEY"))
    assert sent == {"x": 1, "secret": "KEY"}


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (remote.DEFAULT_BASE_URL, True),
        ("https://signer.example.com/api/v1/no-auth/", True),
        ("http://127.0.0.1:8123/api/v1/no-auth", True),
        ("http://[::1]:8123", True),
        ("http://signer.example.com/api", False),  # the secret would travel in the clear
        ("http://localhost:8123", False),  # a name may resolve anywhere: loopback is named as an address
        ("ftp://signer.example.com", False),
        ("https://user:pass@signer.example.com", False),
        ("https://signer.example.com/api?x=1", False),
        ("https://signer.example.com:99999", False),
        ("", False),
    ],
)
def test_the_signing_base_url_is_checked(url, ok):
    assert (remote.base_url_problems(url) == []) is ok


def test_a_loopback_signer_needs_the_operators_opt_in(monkeypatch):
    monkeypatch.delenv(remote.LOOPBACK_SETTING)
    (problem,) = remote.base_url_problems("http://127.0.0.1:8123/api/v1/no-auth")
    assert remote.LOOPBACK_SETTING in problem
    assert remote.base_url_problems("https://[::1]:8123") != []
    assert remote.base_url_problems(remote.DEFAULT_BASE_URL) == []


@pytest.mark.parametrize(
    "answer",
    [
        b'{"status": "success", "data": {"signature": "ABCDEF0123"}}',
        b'{"signature": "abcdef0123"}',
        b'{"data": "abcdef0123"}',
        b'"abcdef0123"',
    ],
)
def test_the_signature_is_found_in_each_answer_shape_read(answer):
    assert remote.signature_in(answer).lower() == "abcdef0123"


@pytest.mark.parametrize("answer", [b"{}", b'{"data": {"signature": 7}}', b"<html>", b'{"signature": "not hex!"}'])
def test_an_answer_without_a_signature_has_none(answer):
    assert remote.signature_in(answer) is None


# --- against the local signing server -----------------------------------------------------


@pytest.mark.parametrize("name", ["paid_completed", "paid_mismatched", "refund", "collection_order", "expired"])
def test_both_modes_agree_on_every_collection_sample(signer, name):
    body = signed(FuspayProvider.sample_payloads()[name])
    assert verify(body, signer.base_url, "local") is not None
    assert verify(body, signer.base_url, "remote") is not None
    (sent,) = signer.received
    sent = json.loads(sent)
    assert "signature" not in sent and sent["secret"] == COLLECTION_KEY


def test_a_payout_is_checked_with_the_merchant_secret_alone(signer):
    body = signed(FuspayProvider.sample_payloads()["payout"], MERCHANT_SECRET)
    assert verify(body, signer.base_url) is not None
    assert json.loads(signer.received[0])["secret"] == MERCHANT_SECRET


def test_a_signature_fuspay_did_not_compute_is_401(signer):
    body = signed(FuspayProvider.sample_payloads()["paid_completed"], "SK_merchant_forgedSK_partner_forged")
    with pytest.raises(AuthFailure) as failure:
        verify(body, signer.base_url)
    assert failure.value.status == 401
    signer.mode = "wrong"
    with pytest.raises(AuthFailure):
        verify(signed(FuspayProvider.sample_payloads()["paid_completed"]), signer.base_url)


@pytest.mark.parametrize("mode", ["error", "slow"])
def test_a_signer_that_fails_or_is_too_slow_is_unavailable_and_never_names_the_secret(signer, quick, mode, caplog):
    signer.mode, signer.delay = mode, 2.0
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthUnavailable) as unavailable:
        verify(signed(FuspayProvider.sample_payloads()["paid_completed"]), signer.base_url)
    reason = unavailable.value.message
    assert ("HTTP 500" in reason) if mode == "error" else ("timed out" in reason), reason
    for secret in (MERCHANT_SECRET, PARTNER_SECRET):
        assert secret not in reason and secret not in caplog.text


def test_a_signer_nobody_listens_on_is_unavailable(quick):
    with running_signer() as gone:
        base_url = gone.base_url
    with pytest.raises(AuthUnavailable, match="did not answer"):
        verify(signed(FuspayProvider.sample_payloads()["paid_completed"]), base_url)


@pytest.mark.parametrize(
    "base_url", ["https://10.20.30.40/api", "https://169.254.169.254/latest", "https://[fd00::1]/x"]
)
def test_a_private_or_metadata_address_is_never_posted_to(base_url):
    with pytest.raises(AuthUnavailable, match="cannot be used"):
        verify(signed(FuspayProvider.sample_payloads()["paid_completed"]), base_url)


def test_local_mode_never_calls_out(signer):
    assert verify(signed(FuspayProvider.sample_payloads()["paid_completed"]), signer.base_url, "local") is not None
    assert signer.received == []


def test_both_modes_compute_the_same_bytes_for_the_signer():
    # The local signature covers canonical_json(body); the stand-in signer signs canonical_json
    # of what it receives without "secret": the same bytes, whatever the order or spacing sent.
    body = signed(FuspayProvider.sample_payloads()["paid_completed"])
    received = json.loads(remote.signing_request(body, "K"))
    received.pop("secret")
    assert canonical_json(json.dumps(received).encode()) == canonical_json(body)


# --- through POST /webhooks/fuspay/<token> -----------------------------------------------


@pytest.fixture
def app(database_url):
    app = make_app(database_url, plugins=[flux_recon_fuspay])
    yield app
    close_app(app)


@pytest.fixture
def integration(client, tenant):
    created = client.post("/api/v1/integrations", json={"provider": "fuspay"}, headers=tenant["headers"]).json
    base = f"/api/v1/integrations/{created['id']}"
    for name, value in (("merchant_secret", MERCHANT_SECRET), ("partner_secret", PARTNER_SECRET)):
        assert client.put(f"{base}/secrets/{name}", json={"value": value}, headers=tenant["headers"]).status_code == 200
    assert client.post(f"{base}/allowlist", json={"cidr": "127.0.0.1/32"}, headers=tenant["headers"]).status_code == 201
    created["base"] = base
    created["path"] = "/" + created["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    return created


def set_options(client, tenant, integration, **options):
    return client.put(f"{integration['base']}/options", json={"options": options}, headers=tenant["headers"])


def inbox(app):
    with app.app_context():
        rows = list(WebhookEvent.select().order_by(WebhookEvent.id))
    db.close()
    return rows


def test_the_options_default_to_local_and_fuspays_documented_endpoint(client, tenant, integration):
    shown = client.get(integration["base"], headers=tenant["headers"]).json
    assert shown["options"] == {"verification": "local", "signing_base_url": remote.DEFAULT_BASE_URL}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"verification": "remote", "signing_base_url": "http://signer.example.com"}, "signing_base_url"),
        ({"verification": "sometimes"}, "verification"),
    ],
)
def test_bad_options_are_422_naming_the_option(client, tenant, integration, options, field):
    response = set_options(client, tenant, integration, **options)
    assert response.status_code == 422, response.json
    assert f"options.{field}" in json.dumps(response.json["errors"])


def test_remote_mode_through_the_webhook(app, client, tenant, integration, create_order, signer, quick):
    assert (
        set_options(client, tenant, integration, verification="remote", signing_base_url=signer.base_url).status_code
        == 200
    )
    order = create_order("INV-1001", "15000.00")
    body = signed(FuspayProvider.sample_payloads()["paid_completed"])
    post = lambda raw: client.post(integration["path"], data=raw, headers={"Content-Type": "application/json"})  # noqa: E731

    signer.mode = "error"
    down = post(body)
    assert down.status_code == 503, down.json
    signer.mode = "slow"
    signer.delay = 2.0
    assert post(body).status_code == 503
    signer.mode = "wrong"
    assert post(body).status_code == 401
    signer.mode = "sign"
    paid = post(body)
    assert (paid.status_code, paid.json["status"]) == (200, "accepted"), paid.json
    shown = client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json
    assert (shown["status"], shown["amount_paid"]) == ("paid", "15000.00")

    verdicts = [(e.verdict, e.http_status) for e in inbox(app)]
    assert verdicts == [
        ("verification_unavailable", 503),
        ("verification_unavailable", 503),
        ("rejected_signature", 401),
        ("accepted", 200),
    ]
    for event in inbox(app):
        assert MERCHANT_SECRET not in (event.reason or "") and PARTNER_SECRET not in (event.reason or "")
