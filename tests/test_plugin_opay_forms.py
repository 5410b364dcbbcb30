"""The Opay plugin's newer and older forms: callback v2 (MACQUIRING_CALLBACK, header-signed), the older
cashier callback in naira, digital-wallet deposits, Opay's published worked example, and hostile input."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flux_recon_opay
from flux_recon import (
    AuthContext,
    AuthFailure,
    Ignored,
    MalformedBody,
    PayloadError,
    Unrecognized,
    WebhookRequest,
    encode_json,
)
from flux_recon.models import Payment, WebhookEvent, db
from flux_recon.testing.conformance import result_problems
from flux_recon.testing.hostile_input import bodies, json_values, swept_samples
from flux_recon_opay.provider import OpayProvider
from tests.conftest import close_app, make_app

SECRET = "OPAYPRV-forms-test-key-0002"
ALLOWED = "127.0.0.1"

# --- fixtures built from Opay's published examples -----------------------------------------

# Opay's documented callback with its sha512 (documentation.opaycheckout.com/callback-signature,
# "Example signature payload params"), byte for byte as published. The key is the one Opay's
# Java sample on that page verifies it with; that it reproduces the published 512-bit HMAC is
# the proof it is the key used.
DOC_V1_KEY = "OPAYPRV16498196872570.13953388019021462"
DOC_V1_CALLBACK = (
    b'{"payload":{"amount":"49160","channel":"Web","country":"NG","currency":"NGN","displayedFailure":"",'
    b'"fee":"737","feeCurrency":"NGN","instrumentType":"BankCard","reference":"10023","refunded":false,'
    b'"status":"SUCCESS","timestamp":"2022-05-07T06:20:46Z","token":"220507145660712931829",'
    b'"transactionId":"220507145660712931829","updated_at":"2022-05-07T07:20:46Z"},'
    b'"sha512":"9f605d69f04e94172875dc156537071cead060bbcaeaca94a7b8805af9f89611e2fdf6836713c9c90b028ca7e4470b1356e996975f2abc862315aaa9b7f2ae2d",'
    b'"type":"transaction-status"}'
)

# Opay's callback v2 example (doc.opaycheckout.com/callback-signature-v2), field for field. The
# published text lacks the comma before "extras" (not valid JSON as printed); it is added here.
# The page shows "Authorization: {signature}" and no worked signature, so there is no golden
# v2 test: the signature is computed here as the page describes it.
DOC_V2_CALLBACK = {
    "amount": {"currency": "EGP", "total": 400},
    "country": "EG",
    "failureCode": "01582",
    "failureReason": "Invalid CVV/CVC.",
    "notifyId": "68d9b42c1e694ebc921af92b76804d23",
    "orderNo": "211005140885652282",
    "reference": "92631092",
    "status": "FAIL",
    "timestamp": 1633411815591,
    "type": "MACQUIRING_CALLBACK",
    "extras": {},
}
DOC_V2_HEADERS = {"MerchantId": "256612345678901", "RequestTimestamp": "1631106688000"}

# The older cashier callback of Opay's PHP SDK (opay-services/opay-sdk-php,
# http_example/cashier/CashierCallback.php; the same body is on documentation.opayweb.com/callback/):
# naira amounts with two decimals and a lower-case status. Its published sha512 was made with a key
# that is not published, so it is signed here with the same template (the SDK's Helper::check).
LEGACY_CALLBACK = {
    "payload": {
        "country": "NG",
        "instrumentId": "useless",
        "fee": "0.10",
        "channel": "Web",
        "displayedFailure": "",
        "reference": "3cae64cb5f68a7c4008b765b97401a",
        "updated_at": "2020-09-21T13:18:45Z",
        "currency": "NGN",
        "refunded": False,
        "instrument-id": "useless",
        "timestamp": "2020-09-21T13:18:45Z",
        "amount": "10.00",
        "instrumentType": "coins",
        "instrument_id": "useless",
        "transactionId": "200921144008250432",
        "token": "200921144008250432",
        "bussinessType": "Consumption_H5",
        "payChannel": "BalancePayment",
        "status": "successful",
    },
    "type": "transaction-status",
}


def v1_signature(payload: dict, key: str) -> str:
    """Opay's v1 sha512 field, written from its documentation (HMAC-SHA3-512 over the template)."""
    text = (
        f'{{Amount:"{payload["amount"]}",Currency:"{payload["currency"]}",Reference:"{payload["reference"]}",'
        f'Refunded:{"t" if payload["refunded"] else "f"},Status:"{payload["status"]}",'
        f'Timestamp:"{payload["timestamp"]}",Token:"{payload["token"]}",TransactionID:"{payload["transactionId"]}"}}'
    )
    return hmac.new(key.encode(), text.encode(), hashlib.sha3_512).hexdigest()


def v2_signature(timestamp: str, body: bytes, key: str) -> str:
    """Callback signature v2 as the page describes it: HMAC-SHA512(key, RequestTimestamp + body), hex."""
    return hmac.new(key.encode(), timestamp.encode() + body, hashlib.sha512).hexdigest()


def legacy(key: str | None = SECRET, **fields) -> dict:
    body = copy.deepcopy(LEGACY_CALLBACK)
    body["payload"].update(fields)
    if key is not None:
        body["sha512"] = v1_signature(body["payload"], key)
    return body


def acquiring(**fields) -> dict:
    body = copy.deepcopy(DOC_V2_CALLBACK)
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def v2_request(body: dict | bytes, key: str | None = SECRET, header: str = "Authorization", **extra) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **DOC_V2_HEADERS}
    if key is not None:
        headers[header] = v2_signature(headers["RequestTimestamp"], raw, key)
    headers.update(extra)
    return WebhookRequest(body=raw, headers={k: v for k, v in headers.items() if v is not None})


def wallet(**fields) -> dict:
    body = OpayProvider.sample_payloads()["wallet_deposit"]
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def parse(body, *, generation: str | None = None):
    raw = body if isinstance(body, bytes) else encode_json(body)
    options = {"api_generation": generation} if generation else {}
    return OpayProvider().parse(WebhookRequest(body=raw, options=options))


def errors_of(body, **kwargs) -> dict:
    with pytest.raises(PayloadError) as error:
        parse(body, **kwargs)
    return error.value.errors


def context(key: str | None = SECRET) -> AuthContext:
    secrets = {"secret_key": key} if key else {}
    return AuthContext(
        client_ip=ipaddress.ip_address(ALLOWED),
        allowlist=(ipaddress.ip_network(f"{ALLOWED}/32"),),
        credentials=OpayProvider.credential_values(secrets),
    )


def refusal(webhook: WebhookRequest, key: str | None = SECRET) -> AuthFailure | None:
    for check in OpayProvider.auth:
        try:
            check.verify(webhook, context(key))
        except AuthFailure as failure:
            return failure
    return None


# --- golden: Opay's documented callback and its sha512 -------------------------------------


def test_opays_documented_callback_verifies_with_its_published_sha512():
    webhook = WebhookRequest(body=DOC_V1_CALLBACK, headers={"Content-Type": "application/json"})
    assert refusal(webhook, DOC_V1_KEY) is None
    assert refusal(webhook, DOC_V1_KEY + "x").status == 401
    (notice,) = OpayProvider().parse(webhook)
    assert (notice.external_id, notice.amount, notice.currency, notice.status, notice.references) == (
        "220507145660712931829",
        Decimal("491.60"),
        "NGN",
        "succeeded",
        ("10023",),
    )


def test_the_plugins_own_signer_reproduces_opays_published_sha512():
    signed = OpayProvider.sign(json.loads(DOC_V1_CALLBACK), {"secret_key": DOC_V1_KEY})
    assert signed.payload["sha512"] == json.loads(DOC_V1_CALLBACK)["sha512"]


# --- callback v2: MACQUIRING_CALLBACK --------------------------------------------------------


def test_documented_v2_example_is_a_failed_payment_of_4_egp():
    (notice,) = parse(DOC_V2_CALLBACK)
    assert (notice.external_id, notice.kind, notice.status, notice.amount, notice.currency) == (
        "211005140885652282",
        "payment",
        "failed",
        Decimal("4.00"),
        "EGP",
    )
    assert notice.references == ("92631092",)
    assert notice.occurred_at == dt.datetime(2021, 10, 5, 5, 30, 15, 591000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("SUCCESS", "succeeded"),
        ("success", "succeeded"),
        ("FAIL", "failed"),
        ("CLOSE", "failed"),
        ("INITIAL", "pending"),
        ("PENDING", "pending"),
    ],
)
def test_every_v2_status_is_a_notice_never_ignored(status, expected):
    (notice,) = parse(acquiring(status=status))
    assert notice.status == expected


@pytest.mark.parametrize(("total", "amount"), [(400, "4.00"), ("400", "4.00"), (1, "0.01"), (250000, "2500.00")])
def test_v2_total_is_minor_units(total, amount):
    (notice,) = parse(acquiring(amount={"currency": "EGP", "total": total}))
    assert notice.amount == Decimal(amount)


@pytest.mark.parametrize("total", ["4.00", "-400", 0, "", None, True, "4e2"], ids=repr)
def test_v2_total_that_is_not_whole_minor_units_is_named(total):
    errors = errors_of(acquiring(amount={"currency": "EGP", "total": total}))
    assert "amount.total" in errors
    if total == "4.00":
        assert "minor units" in errors["amount.total"][0]


def test_v2_missing_fields_are_all_named():
    errors = errors_of({"type": "MACQUIRING_CALLBACK"})
    assert {"orderNo", "reference", "amount.currency", "amount.total", "status", "timestamp"} <= set(errors)
    assert "status" in errors_of(acquiring(status=["SUCCESS"]))
    unknown = parse(acquiring(status="SETTLED"))
    assert isinstance(unknown, Unrecognized) and "status 'SETTLED'" in unknown.reason


def test_v2_about_a_refund_is_unrecognized_not_a_payment():
    assert isinstance(parse(acquiring(refunded=True)), Unrecognized)
    assert isinstance(parse(acquiring(refundOrderNo="R-1")), Unrecognized)


@pytest.mark.parametrize("header", ["Authorization", "Signature"])
def test_v2_signature_in_either_header_verifies(header):
    assert refusal(v2_request(DOC_V2_CALLBACK, header=header)) is None


def test_v2_signature_with_a_bearer_prefix_or_upper_case_hex_verifies():
    raw = json.dumps(DOC_V2_CALLBACK).encode()
    signature = v2_signature(DOC_V2_HEADERS["RequestTimestamp"], raw, SECRET)
    assert refusal(v2_request(raw, key=None, Authorization=f"Bearer {signature}")) is None
    assert refusal(v2_request(raw, key=None, Signature=signature.upper())) is None


def v2_forgeries() -> dict[str, WebhookRequest]:
    raw = json.dumps(DOC_V2_CALLBACK).encode()
    good = v2_request(raw)
    tampered_body = raw.replace(b'"total": 400', b'"total": 400000')
    body_only = hmac.new(SECRET.encode(), raw, hashlib.sha512).hexdigest()
    return {
        "wrong-key": v2_request(raw, key="OPAYPRV-someone-else"),
        "tampered-body": WebhookRequest(body=tampered_body, headers=dict(good.headers)),
        "other-timestamp": WebhookRequest(body=raw, headers={**good.headers, "RequestTimestamp": "1631106688001"}),
        "no-timestamp": WebhookRequest(body=raw, headers={**good.headers, "RequestTimestamp": None}),
        "timestamp-not-digits": v2_request(raw, RequestTimestamp="2021-09-08T13:11:28Z"),
        "body-only-hmac": v2_request(raw, key=None, Authorization=body_only),
        "sha3-instead": v2_request(
            raw,
            key=None,
            Authorization=hmac.new(SECRET.encode(), b"1631106688000" + raw, hashlib.sha3_512).hexdigest(),
        ),
        "no-signature-header": v2_request(raw, key=None),
        "unsigned-no-headers": WebhookRequest(body=raw, headers={"Content-Type": "application/json"}),
        "non-ascii-signature": v2_request(raw, key=None, Authorization="é" * 128),
    }


@pytest.mark.parametrize("name", list(v2_forgeries()))
def test_v2_forgeries_are_401_once_the_secret_key_is_set(name):
    webhook = v2_forgeries()[name]
    webhook.headers = {k: v for k, v in webhook.headers.items() if v is not None}
    failure = refusal(webhook)
    assert failure is not None and failure.status == 401, failure


def test_v2_is_not_enforced_before_the_secret_key_is_set():
    assert refusal(v2_request(DOC_V2_CALLBACK, key=None), key=None) is None
    assert refusal(v2_request(DOC_V2_CALLBACK, key="anything"), key=None) is None


def test_a_header_signature_cannot_be_dodged_by_dressing_the_body_as_another_form():
    # A forged v1 callback with a bogus v2 header, and a v2 callback dressed as POS: both refused.
    v1_shape = {"type": "transaction-status", "payload": LEGACY_CALLBACK["payload"]}
    assert refusal(v2_request(v1_shape, key="OPAYPRV-forger")).status == 401
    pos_shape = {"type": "MACQUIRING_CALLBACK", "data": {"amount": "300.00"}}
    assert refusal(WebhookRequest(body=json.dumps(pos_shape).encode(), headers={})).status == 401


# --- the older cashier callback and the API generation option -------------------------------


def test_legacy_cashier_callback_is_naira_with_its_declared_generation():
    (notice,) = parse(legacy(), generation="legacy_cashier")
    assert (notice.external_id, notice.amount, notice.fee, notice.currency, notice.status) == (
        "200921144008250432",
        Decimal("10.00"),
        Decimal("0.10"),
        "NGN",
        "succeeded",
    )
    assert notice.references == ("3cae64cb5f68a7c4008b765b97401a",)


def test_legacy_amount_under_the_default_generation_is_a_422_naming_field_and_option():
    errors = errors_of(legacy())
    assert set(errors) == {"payload.amount", "payload.fee"}
    assert "api_generation" in errors["payload.amount"][0]
    assert "legacy_cashier" in errors["payload.amount"][0]


@pytest.mark.parametrize("amount", ["49160", "10", "10.0", "10.005", "-10.00", "0.00", "1,000.00", "ten"], ids=repr)
def test_amount_that_does_not_fit_naira_is_refused_under_legacy(amount):
    errors = errors_of(legacy(amount=amount), generation="legacy_cashier")
    assert "payload.amount" in errors
    if amount == "49160":
        assert "checkout" in errors["payload.amount"][0]


def test_legacy_amount_as_a_json_number_stays_exact():
    raw = json.dumps(legacy(key=None)).replace('"10.00"', "10.50").encode()
    (notice,) = parse(raw, generation="legacy_cashier")
    assert notice.amount == Decimal("10.50")


@pytest.mark.parametrize(("status", "expected"), [("successful", "succeeded"), ("Successful", "succeeded")])
def test_legacy_lower_case_statuses_are_read(status, expected):
    (notice,) = parse(legacy(status=status), generation="legacy_cashier")
    assert notice.status == expected


def test_legacy_callback_signed_with_the_documented_template_verifies():
    body = legacy()
    webhook = WebhookRequest(body=json.dumps(body).encode(), headers={})
    assert refusal(webhook) is None
    body["payload"]["amount"] = "1000.00"
    assert refusal(WebhookRequest(body=json.dumps(body).encode(), headers={})).status == 401


# --- digital-wallet deposits ------------------------------------------------------------------


def test_wallet_deposit_maps_code_amount_and_payer():
    (notice,) = parse(wallet())
    assert (notice.external_id, notice.amount, notice.currency, notice.status, notice.kind) == (
        "261122030400187654321",
        Decimal("5000.00"),
        "NGN",
        "succeeded",
        "payment",
    )
    assert notice.destination_account == "6234567890"
    assert (notice.payer.name, notice.payer.account_number) == ("CHIDI OKAFOR", "0712345678")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"depositAmount": "5000.005"}, "depositAmount"),
        ({"depositAmount": "-5"}, "depositAmount"),
        ({"depositAmount": ""}, "depositAmount"),
        ({"status": 7}, "status"),
        ({"orderNo": None}, "orderNo"),
        ({"completedTime": None, "transactionTime": None}, "completedTime"),
        ({"currency": "NAIRA"}, "currency"),
    ],
)
def test_bad_wallet_deposits_name_the_field(changes, field):
    assert field in errors_of(wallet(**changes))


def test_a_wallet_deposit_status_this_plugin_does_not_know_is_unrecognized():
    result = parse(wallet(status="SETTLED"))
    assert isinstance(result, Unrecognized) and "status 'SETTLED'" in result.reason


def test_wallet_deposit_reads_its_other_id_and_time_fields():
    (notice,) = parse(
        wallet(
            orderNo=None,
            transactionId="WTX-1",
            completedTime=None,
            transactionTime=None,
            depositTime="2026-11-22T12:20:01Z",
            status="successful",
        )
    )
    assert (notice.external_id, notice.status) == ("WTX-1", "succeeded")
    assert notice.occurred_at == dt.datetime(2026, 11, 22, 12, 20, 1, tzinfo=dt.UTC)


def test_wallet_deposits_are_unsigned_like_pos_even_with_the_secret_key_set():
    assert refusal(WebhookRequest(body=json.dumps(wallet()).encode(), headers={})) is None


# --- the rule: known types declared; nothing that may be money ignored ------------------------


def test_every_form_is_declared_with_what_it_carries():
    assert OpayProvider.event_types == {
        "transaction-status": "payment",
        "MACQUIRING_CALLBACK": "payment",
        "pos-transfer-notification": "payment",
        "digital-wallet-deposit": "payment",
    }
    assert OpayProvider.unrecognized_status == 200


@pytest.mark.parametrize("event_type", ["settlement-report", "REFUND_CALLBACK", "macquiring_callback", "x" * 300])
def test_unknown_types_are_unrecognized(event_type):
    result = parse({"type": event_type, "payload": {}})
    assert isinstance(result, Unrecognized)


@pytest.mark.parametrize("body", [{"event": "payment.success"}, {}, {"amount": "10.00"}], ids=repr)
def test_objects_of_no_known_form_are_unrecognized(body):
    assert isinstance(parse(body), Unrecognized)


# --- hostile input on the new forms ------------------------------------------------------------


def new_form_samples() -> list:
    samples = OpayProvider.sample_payloads()
    return [samples["macquiring_payment"], samples["wallet_deposit"], DOC_V2_CALLBACK, legacy()]


def hostile_problem(body: bytes, headers: dict, generation: str) -> str | None:
    """Auth may only refuse; parse may only return a valid result or raise PayloadError."""
    webhook = WebhookRequest(body=body, headers=headers, options={"api_generation": generation})
    for check in OpayProvider.auth:
        try:
            check.verify(webhook, context())
        except (AuthFailure, MalformedBody):
            pass
    try:
        webhook.payload  # noqa: B018 - a body that is not JSON is a 400 before parse
    except MalformedBody:
        return None
    try:
        result = OpayProvider().parse(webhook)
    except PayloadError:
        return None
    if isinstance(result, Unrecognized):
        return None if result.reason else "Unrecognized without a reason"
    problems = result_problems(result, engine=False)
    return f"{body[:200]!r}: {problems}" if problems else None


@pytest.mark.parametrize("generation", ["checkout", "legacy_cashier"])
def test_every_field_of_the_new_forms_swept_with_edge_values(generation):
    for document in swept_samples(new_form_samples()):
        body = encode_json(document)
        for headers in ({}, DOC_V2_HEADERS, {**DOC_V2_HEADERS, "Signature": "00" * 64}):
            assert hostile_problem(body, headers, generation) is None


header_values = st.one_of(st.none(), st.text(max_size=40), st.sampled_from(["", "0", "1631106688000", "Bearer x"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    body=bodies(new_form_samples()),
    timestamp=header_values,
    signature=header_values,
    generation=st.sampled_from(["checkout", "legacy_cashier", "unknown"]),
)
def test_hostile_bodies_and_headers_raise_nothing_but_refusals(body, timestamp, signature, generation):
    headers = {"RequestTimestamp": timestamp, "Authorization": signature}
    headers = {k: v for k, v in headers.items() if v is not None}
    assert hostile_problem(body, headers, generation) is None


@settings(max_examples=100, deadline=None)
@given(value=json_values())
def test_any_type_value_is_never_ignored(value):
    try:
        result = parse({"type": value, "payload": {}, "sha512": "x"})
    except (PayloadError, MalformedBody):
        return
    assert not isinstance(result, Ignored)


# --- through the webhook endpoint --------------------------------------------------------------


@pytest.fixture
def app(database_url):
    app = make_app(database_url, plugins=[flux_recon_opay])
    yield app
    close_app(app)


@pytest.fixture
def enable(client, tenant):
    def make(options: dict | None = None, secret: str | None = SECRET) -> dict:
        body = {"provider": "opay", **({"options": options} if options else {})}
        response = client.post("/api/v1/integrations", json=body, headers=tenant["headers"])
        assert response.status_code == 201, response.json
        integration = response.json
        path = f"/api/v1/integrations/{integration['id']}"
        added = client.post(f"{path}/allowlist", json={"cidr": f"{ALLOWED}/32"}, headers=tenant["headers"])
        assert added.status_code == 201, added.json
        if secret:
            put = client.put(f"{path}/secrets/secret_key", json={"value": secret}, headers=tenant["headers"])
            assert put.status_code == 200, put.json
        integration["path"] = "/" + integration["webhook_url"].split("/", 3)[3]
        return integration

    return make


def send(client, integration, body, headers=None, *, v2_key: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if v2_key is not None:
        sent.update(DOC_V2_HEADERS)
        sent["Authorization"] = v2_signature(DOC_V2_HEADERS["RequestTimestamp"], raw, v2_key)
    return client.post(integration["path"], data=raw, headers=sent)


def shown_payment(client, tenant, payment_id) -> dict:
    return client.get(f"/api/v1/payments/{payment_id}", headers=tenant["headers"]).json


def test_signed_v2_success_pays_its_order_and_is_never_ignored(client, tenant, enable, create_order):
    order = create_order(reference="INV-V2-1", amount="2500.00")
    integration = enable()
    body = acquiring(status="SUCCESS", reference="INV-V2-1", amount={"currency": "NGN", "total": 250000})
    paid = send(client, integration, body, v2_key=SECRET)
    assert paid.status_code == 200, paid.json
    assert (paid.json["status"], paid.json["reconciliation"]) == ("accepted", "matched")
    payment = shown_payment(client, tenant, paid.json["payment_id"])
    assert (payment["amount"], payment["currency"], payment["status"], payment["kind"]) == (
        "2500.00",
        "NGN",
        "succeeded",
        "payment",
    )
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json["status"] == "paid"
    assert send(client, integration, body, v2_key=SECRET).json["status"] == "duplicate"
    assert send(client, integration, body, v2_key="OPAYPRV-other").status_code == 401
    assert send(client, integration, body).status_code == 401


def test_v2_without_a_secret_key_is_recorded_not_ignored(client, tenant, enable):
    integration = enable(secret=None)
    response = send(client, integration, acquiring(status="SUCCESS"))
    assert response.json["status"] == "accepted", response.json


def test_legacy_generation_is_chosen_per_integration(app, client, tenant, enable, create_order):
    create_order(reference="3cae64cb5f68a7c4008b765b97401a", amount="10.00")
    integration = enable()
    refused = send(client, integration, legacy())
    assert refused.status_code == 422
    assert "payload.amount" in refused.json["errors"]
    options = f"/api/v1/integrations/{integration['id']}/options"
    changed = client.put(options, json={"options": {"api_generation": "legacy_cashier"}}, headers=tenant["headers"])
    assert changed.status_code == 200, changed.json
    accepted = send(client, integration, legacy())
    assert (accepted.json["status"], accepted.json["reconciliation"]) == ("accepted", "matched"), accepted.json
    payment = shown_payment(client, tenant, accepted.json["payment_id"])
    assert (payment["amount"], payment["fee"], payment["currency"], payment["status"], payment["kind"]) == (
        "10.00",
        "0.10",
        "NGN",
        "succeeded",
        "payment",
    )
    # Kobo sent to an integration declared legacy is refused, never read as naira.
    kobo = send(client, integration, legacy(amount="1000", transactionId="200921144008250433"))
    assert kobo.status_code == 422 and "payload.amount" in kobo.json["errors"]
    bad = client.put(options, json={"options": {"api_generation": "v3"}}, headers=tenant["headers"])
    assert bad.status_code == 422


def test_an_integration_can_be_created_with_the_legacy_generation(client, tenant, enable):
    integration = enable(options={"api_generation": "legacy_cashier"})
    assert integration["options"] == {"api_generation": "legacy_cashier"}
    assert send(client, integration, legacy()).json["status"] == "accepted"


def test_wallet_deposit_matches_the_order_of_its_deposit_code(client, tenant, enable, create_order):
    order = create_order(reference="INV-W-1", amount="5000.00", virtual_account="6234567890")
    integration = enable()
    response = send(client, integration, wallet(refId=None))
    assert (response.json["status"], response.json["reconciliation"]) == ("accepted", "matched"), response.json
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json["status"] == "paid"


def test_swept_new_forms_never_reach_a_500(app, client, enable):
    integration = enable()
    statuses = set()
    samples = OpayProvider.sample_payloads()
    for document in swept_samples([samples["macquiring_payment"], samples["wallet_deposit"]]):
        raw = encode_json(document)
        for key in (SECRET, None):
            response = send(client, integration, raw, v2_key=key)
            statuses.add(response.status_code)
            assert response.status_code < 500, (document, response.json)
    assert 200 in statuses and 422 in statuses and 401 in statuses
    with app.app_context():
        assert WebhookEvent.select().count() > 0
        assert Payment.select().count() > 0
    db.close()
