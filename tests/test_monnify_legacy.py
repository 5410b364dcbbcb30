"""Monnify's legacy (v1) notification: its transactionHash, its mapping, its answers, and hostile input."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings

import flux_recon_monnify
from flux_recon import AuthContext, AuthFailure, MalformedBody, PayloadError, Unrecognized, WebhookRequest, encode_json
from flux_recon.models import WebhookEvent, db
from flux_recon.testing.hostile_input import bodies, swept_samples
from flux_recon_monnify.auth import MonnifySignature
from flux_recon_monnify.provider import MonnifyProvider
from tests.conftest import close_app, make_app

CLIENT_SECRET = "K7Q2W9ZP4M1X8C3V6B5N0TRLYHDGFSJE"
MONNIFY = "35.242.133.146"

# A v1 card notification as Monnify's "Transaction Completion Webhook" page shows it
# (teamapt.atlassian.net/wiki/spaces/MON/pages/213909300, "Webhook Notification Data - Card
# Payment"; the same page on docs.teamapt.com/display/MON/Webhook+Notifications): flat, amounts
# as decimal strings, paidOn day first, cardDetails filled and the account fields null. Values
# are made up; the hash formula (clientSecret|paymentReference|amountPaid|paidOn|
# transactionReference, SHA-512, pipes included) is the one that page links to, also implemented
# by the `monnify` package on PyPI (createHashFromWebhook). Monnify publishes no worked v1 example
# with a known secret (its sample hashes are masked), so the hash here is computed by the test.
LEGACY_CARD_TEMPLATE = """{
   "transactionReference":"MNFY|20261122113413|000224",
   "paymentReference":"INV-2040",
   "amountPaid":%(amount)s,
   "totalPayable":"100.00",
   "settlementAmount":"99.25",
   "paidOn":"22/11/2026 11:35:21 AM",
   "paymentStatus":"PAID",
   "paymentDescription":"Order INV-2040",
   "transactionHash":"%(hash)s",
   "currency":"NGN",
   "paymentMethod":"CARD",
   "product":{"type":"WEB_SDK","reference":"INV-2040"},
   "cardDetails":{"cardType":null,"authorizationCode":null,"last4":"6871","expMonth":"08","expYear":"28",
                  "bin":"539941","reusable":false},
   "accountDetails":null,
   "accountPayments":null,
   "customer":{"email":"Bisi@Example.com","name":"Bisi Lawal"}
}"""


def v1_hash(secret: str, payment_reference: str, amount_text: str, paid_on: str, transaction_reference: str) -> str:
    """Monnify's formula written out independently of the plugin."""
    text = f"{secret}|{payment_reference}|{amount_text}|{paid_on}|{transaction_reference}"
    return hashlib.sha512(text.encode()).hexdigest()


def card_body(amount: str = '"100.00"', *, hashed_amount: str = "100.00", secret: str = CLIENT_SECRET) -> bytes:
    digest = v1_hash(secret, "INV-2040", hashed_amount, "22/11/2026 11:35:21 AM", "MNFY|20261122113413|000224")
    return (LEGACY_CARD_TEMPLATE % {"amount": amount, "hash": digest}).encode()


def context(secret: str | None = CLIENT_SECRET) -> AuthContext:
    network = ipaddress.ip_network(f"{MONNIFY}/32")
    secrets = {"client_secret": secret} if secret else {}
    return AuthContext(
        client_ip=network.network_address, allowlist=(network,), credentials=MonnifyProvider.credential_values(secrets)
    )


def verify(body: bytes, headers: dict | None = None, secret: str | None = CLIENT_SECRET):
    return MonnifySignature().verify(WebhookRequest(body=body, headers=headers or {}), context(secret))


def refused(body: bytes, headers: dict | None = None) -> AuthFailure:
    with pytest.raises(AuthFailure) as failure:
        verify(body, headers)
    assert failure.value.status == 401
    return failure.value


def parse(body: bytes):
    return MonnifyProvider().parse(WebhookRequest(body=body))


# --- the hash --------------------------------------------------------------------------


def test_the_documented_formula_verifies_the_documented_form():
    credential = verify(card_body())
    assert credential is not None and credential.name == "client_secret"


def test_the_hash_is_compared_in_any_case_of_hex():
    body = card_body()
    digest = json.loads(body)["transactionHash"]
    assert verify(body.replace(digest.encode(), digest.upper().encode())) is not None


@pytest.mark.parametrize(
    ("wire", "hashed", "accepted"),
    [
        ('"100.00"', "100.00", True),  # the documented form: a decimal string, hashed as sent
        ("100.00", "100.00", True),  # a JSON number keeps its own digits: never read as 100
        ("100", "100", True),
        ('"100.00"', "100", False),  # hashed over other text than was sent: someone else's arithmetic
        ("100.00", "100", False),
        ("100", "100.00", False),
        ("1.0E2", "100.00", False),
        ("1.0E2", "1.0E2", True),
    ],
)
def test_amount_paid_is_hashed_as_the_exact_text_sent(wire, hashed, accepted):
    body = card_body(wire, hashed_amount=hashed)
    if accepted:
        assert verify(body) is not None
    else:
        refused(body)


def test_a_wrong_hash_a_missing_hash_or_another_secret_is_refused():
    assert "does not match" in refused(card_body(secret="not-the-client-secret")).message
    missing = json.loads(card_body())
    missing["transactionHash"] = ""
    assert "missing" in refused(json.dumps(missing).encode()).message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amountPaid", "1000.00"),
        ("paymentReference", "INV-2041"),
        ("paidOn", "22/11/2026 11:35:22 AM"),
        ("transactionReference", "MNFY|20261122113413|000225"),
    ],
)
def test_changing_a_hashed_field_is_refused(field, value):
    tampered = json.loads(card_body())
    tampered[field] = value
    refused(json.dumps(tampered).encode())


def test_fields_the_hash_does_not_cover_cannot_change_what_is_recorded():
    body = json.loads(card_body())
    body["product"]["reference"] = "SOMEONE-ELSES-ORDER"
    body["paymentStatus"] = "OVERPAID"
    raw = json.dumps(body).encode()
    assert verify(raw) is not None  # product and paymentStatus are outside the hash...
    ((notice,), (original,)) = parse(raw), parse(card_body())
    significant = ("external_id", "kind", "status", "amount", "currency", "references", "destination_account")
    assert [getattr(notice, n) for n in significant] == [getattr(original, n) for n in significant]
    # ...and a currency outside the hash may not turn naira into something else.
    body["currency"] = "USD"
    with pytest.raises(PayloadError) as error:
        parse(json.dumps(body).encode())
    assert "currency" in error.value.errors


def test_a_v2_event_cannot_be_vouched_for_by_a_v1_hash():
    # A body naming an eventType is a v2 event: only the header can authenticate it.
    v2 = json.loads(card_body())
    v2["eventType"] = "SUCCESSFUL_TRANSACTION"
    v2["eventData"] = {**MonnifyProvider.sample_payloads()["card_payment"]["eventData"], "amountPaid": 999999}
    assert "header monnify-signature" in refused(json.dumps(v2).encode()).message


def test_a_monnify_signature_header_authenticates_a_legacy_body_whole():
    body = card_body(secret="whatever-the-hash-says")  # wrong hash, but the header covers every byte
    header = hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha512).hexdigest()
    assert verify(body, {"monnify-signature": header}) is not None
    refused(body, {"monnify-signature": "0" * 128})


def test_before_a_client_secret_is_set_the_hash_is_not_checked():
    assert verify(card_body(secret="anything"), secret=None) is None


def test_monnify_documented_v2_signature_example_still_verifies():
    # Golden: Monnify's sample client secret, its sample body (as JSON.stringify sends it) and
    # the signature its "Computing Request Validation Hash" page publishes for them
    # (teamapt.atlassian.net/wiki/spaces/MON/pages/212008918; developers.monnify.com/docs/webhooks).
    from tests.test_plugin_monnify import PUBLISHED_BODY, PUBLISHED_SECRET, PUBLISHED_SIGNATURE

    request = WebhookRequest(body=PUBLISHED_BODY, headers={"monnify-signature": PUBLISHED_SIGNATURE})
    assert MonnifySignature().verify(request, context(PUBLISHED_SECRET)) is not None
    with pytest.raises(AuthFailure):
        MonnifySignature().verify(request, context(CLIENT_SECRET))


def test_signing_a_legacy_sample_fills_in_the_hash_monnify_would_send():
    signed = MonnifyProvider.sign(MonnifyProvider.sample_payloads()["legacy_transfer"], {"client_secret": "s3cret"})
    body = json.loads(signed.body)
    expected = v1_hash("s3cret", "INV-1006", "18000.00", "22/11/2026 10:31:07 AM", "MNFY|20261122103107|000418")
    assert body["transactionHash"] == expected
    assert "monnify-signature" not in signed.headers


# --- the mapping -----------------------------------------------------------------------


def test_the_legacy_card_notification_is_a_succeeded_naira_card_payment():
    (notice,) = parse(card_body())
    assert notice.external_id == "MNFY|20261122113413|000224"
    assert (notice.kind, notice.status, notice.method) == ("payment", "succeeded", "card")
    assert (notice.amount, notice.currency) == (Decimal("100.00"), "NGN")
    assert (notice.settlement_amount, notice.fee) == (Decimal("99.25"), Decimal("0.75"))
    assert notice.references == ("INV-2040",)
    assert notice.occurred_at.isoformat() == "2026-11-22T10:35:21+00:00"  # Lagos time, UTC+1
    assert (notice.payer.name, notice.payer.email) == ("Bisi Lawal", "bisi@example.com")


def test_the_legacy_transfer_sample():
    (notice,) = parse(json.dumps(MonnifyProvider.sample_payloads()["legacy_transfer"]).encode())
    assert (notice.external_id, notice.amount, notice.currency) == (
        "MNFY|20261122103107|000418",
        Decimal("18000.00"),
        "NGN",
    )
    assert (notice.kind, notice.status, notice.method) == ("payment", "succeeded", "bank_transfer")
    assert notice.references == ("INV-1006",)
    assert (notice.payer.account_number, notice.payer.bank) == ("******4415", "000015")
    assert MonnifyProvider.event_types["V1_TRANSACTION_COMPLETION"] == "payment"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amountPaid": "0.00"}, "amountPaid"),
        ({"amountPaid": "100.001"}, "amountPaid"),
        ({"paidOn": "yesterday"}, "paidOn"),
        ({"paymentStatus": "FAILED"}, "paymentStatus"),
        ({"transactionReference": None}, "transactionReference"),
        ({"paymentReference": None}, "paymentReference"),
        ({"currency": "GHS"}, "currency"),
    ],
)
def test_invalid_legacy_fields_are_422_naming_the_field(change, field):
    body = json.loads(card_body())
    body.update(change)
    with pytest.raises(PayloadError) as error:
        parse(json.dumps(body).encode())
    assert field in error.value.errors


def test_a_flat_body_monnify_never_described_is_unrecognized():
    # A v1 settlement carries money but no hash, and no other flat form is known: kept, not dropped.
    result = parse(b'{"settlementReference": "JDFHK", "amount": 100000.00, "transactionsCount": 1}')
    assert isinstance(result, Unrecognized)


# --- through POST /webhooks/monnify/<token> --------------------------------------------


@pytest.fixture
def app(database_url):
    app = make_app(database_url, plugins=[flux_recon_monnify])
    yield app
    close_app(app)


@pytest.fixture
def integration(client, tenant):
    created = client.post("/api/v1/integrations", json={"provider": "monnify"}, headers=tenant["headers"]).json
    allowed = client.post(
        f"/api/v1/integrations/{created['id']}/allowlist", json={"cidr": "127.0.0.1/32"}, headers=tenant["headers"]
    )
    assert allowed.status_code == 201, allowed.json
    created["path"] = "/" + created["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    return created


@pytest.fixture
def with_secret(client, tenant, integration):
    response = client.put(
        f"/api/v1/integrations/{integration['id']}/secrets/client_secret",
        json={"value": CLIENT_SECRET},
        headers=tenant["headers"],
    )
    assert response.status_code == 200, response.json
    return integration


def post(client, integration, body: bytes):
    return client.post(integration["path"], data=body, headers={"Content-Type": "application/json"})


def inbox(app):
    with app.app_context():
        rows = list(WebhookEvent.select().order_by(WebhookEvent.id))
    db.close()
    return rows


def test_a_legacy_notification_pays_its_order(app, client, tenant, create_order, with_secret):
    order = create_order("INV-2040", "100.00")
    response = post(client, with_secret, card_body())
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["reconciliation"]) == ("accepted", "matched")
    payment = client.get(f"/api/v1/payments/{response.json['payment_id']}", headers=tenant["headers"]).json
    assert (payment["amount"], payment["currency"], payment["status"], payment["kind"]) == (
        "100.00",
        "NGN",
        "succeeded",
        "payment",
    )
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json["status"] == "paid"
    # Monnify resending it is a duplicate.
    assert post(client, with_secret, card_body()).json["status"] == "duplicate"


def test_a_legacy_notification_with_a_wrong_hash_is_401_and_kept(app, client, with_secret):
    response = post(client, with_secret, card_body(secret="not-the-client-secret"))
    assert response.status_code == 401, response.json
    (event,) = inbox(app)
    assert (event.verdict, event.http_status) == ("rejected_signature", 401)
    assert CLIENT_SECRET not in (event.reason or "")


def test_an_unknown_event_is_answered_200_unrecognized_and_kept(app, client, with_secret):
    body = json.dumps({"eventType": "SUCCESSFUL_COLLECTION_V3", "eventData": {"amountPaid": 5000}}).encode()
    signature = hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha512).hexdigest()
    response = client.post(
        with_secret["path"], data=body, headers={"Content-Type": "application/json", "monnify-signature": signature}
    )
    assert response.status_code == MonnifyProvider.unrecognized_status == 200, response.json
    assert response.json["status"] == "unrecognized"
    (event,) = inbox(app)
    assert event.verdict == "unrecognized" and "SUCCESSFUL_COLLECTION_V3" in event.reason


# --- hostile input on the legacy form ---------------------------------------------------


def _legacy_samples() -> list:
    return [json.loads(card_body()), MonnifyProvider.sample_payloads()["legacy_transfer"]]


def _hostile(body: bytes) -> None:
    """The auth check may only refuse and parse may only map or refuse with PayloadError."""
    request = WebhookRequest(body=body, headers={"Content-Type": "application/json"})
    try:
        MonnifySignature().verify(request, context())
    except (AuthFailure, MalformedBody):
        pass
    try:
        request.payload  # noqa: B018 - the pipeline answers 400 before parse
    except MalformedBody:
        return
    try:
        MonnifyProvider().parse(request)
    except PayloadError:
        pass


def test_every_legacy_field_replaced_or_removed_is_refused_cleanly():
    for document in swept_samples(_legacy_samples()):
        _hostile(encode_json(document))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(bodies(_legacy_samples()))
def test_hostile_legacy_bodies_raise_nothing_but_refusals(body):
    _hostile(body)


def test_hostile_legacy_bodies_never_reach_a_500_over_http(client, integration):
    # No client secret: every body reaches the parser, the part that must not break.
    statuses = set()
    for document in list(swept_samples(_legacy_samples()))[::7]:
        response = post(client, integration, encode_json(document))
        statuses.add(response.status_code)
        assert response.status_code < 500, (document, response.json)
    assert {200, 422} <= statuses
