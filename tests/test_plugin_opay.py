"""The Opay plugin: both webhook forms mapped onto notices, its auth, and its answers through the endpoint."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.metadata
import json
from decimal import Decimal

import pytest

import flux_recon_opay
from flux_recon import Ignored, PayloadError, Unrecognized, WebhookRequest
from flux_recon.models import Payment, WebhookEvent, db
from flux_recon_opay.provider import OpayProvider
from flux_recon_opay.samples import SAMPLE_SECRET_KEY
from tests.conftest import close_app, make_app

SECRET = "OPAYPRV-test-secret-key-0001"
REFERENCE = "INV-1001"


# --- wire helpers, written from the specification rather than from the plugin -------------


def opay_sha512(fields: dict, key: str, digest=hashlib.sha3_512) -> str:
    """Opay's checkout signature: hex HMAC-SHA3-512 over its fixed template of the payload."""
    text = (
        '{Amount:"%s",Currency:"%s",Reference:"%s",Refunded:%s,'
        'Status:"%s",Timestamp:"%s",Token:"%s",TransactionID:"%s"}'
    )
    message = text % (
        fields["amount"],
        fields["currency"],
        fields["reference"],
        "t" if fields["refunded"] else "f",
        fields["status"],
        fields["timestamp"],
        fields["token"],
        fields["transactionId"],
    )
    return hmac.new(key.encode(), message.encode(), digest).hexdigest()


def checkout_body(key: str | None = SECRET, **fields) -> dict:
    """A transaction-status callback, signed with ``key`` (unsigned when None)."""
    payload = {
        "amount": "49160",
        "channel": "Web",
        "country": "NG",
        "currency": "NGN",
        "displayedFailure": "",
        "fee": "737",
        "feeCurrency": "NGN",
        "instrumentType": "BankCard",
        "reference": REFERENCE,
        "refunded": False,
        "status": "SUCCESS",
        "timestamp": "2026-11-22T09:20:46Z",
        "token": "261122145660712931829",
        "transactionId": "TX-0001",
        "updated_at": "2026-11-22T09:20:48Z",
    }
    payload.update(fields)
    payload = {k: v for k, v in payload.items() if v is not None}
    body = {"payload": payload, "type": "transaction-status"}
    if key is not None:
        body["sha512"] = opay_sha512(payload, key)
    return body


def pos_body(**fields) -> dict:
    data = {
        "outOrderNo": "INV-2002",
        "orderNo": "261122010100213456789",
        "payNo": "2611221005030001",
        "merchantId": "256621051512345",
        "status": "SUCCESS",
        "senderName": "ADA OBI",
        "senderBank": "Guaranty Trust Bank",
        "senderAccount": "0123456789",
        "recipientName": "ADAEZE STORES LTD",
        "receiptBank": "OPay",
        "receiptAccount": "6123456789",
        "amount": "300.00",
        "fee": "1.50",
        "payMethod": "BankTransfer",
        "settlementAmount": "298.50",
        "currency": "NGN",
        "transactionTime": "1795341903000",
        "completedTime": "1795341905000",
        "remark": "",
    }
    data.update(fields)
    return {"data": {k: v for k, v in data.items() if v is not None}}


def parse(body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return OpayProvider().parse(WebhookRequest(body=raw))


def parse_one(body):
    (notice,) = parse(body)
    return notice


def payload_errors(body) -> dict:
    with pytest.raises(PayloadError) as error:
        parse(body)
    return error.value.errors


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# --- the plugin is installed like a third party's -----------------------------------------


def test_entry_point_registers_the_opay_provider():
    (entry_point,) = importlib.metadata.entry_points(group="flux_recon", name="opay")
    module = entry_point.load()
    registered = []
    module.flux_recon_register_providers(register=registered.append)
    assert registered == [OpayProvider]
    assert OpayProvider.name == "opay"


# --- every sample maps onto the expected notice --------------------------------------------

SAMPLE_NOTICES = {
    "checkout_payment": {
        "external_id": "261122140885521681",
        "kind": "payment",
        "status": "succeeded",
        "method": "card",
        "amount": Decimal("491.60"),
        "currency": "NGN",
        "references": ("INV-20261122-0042",),
        "occurred_at": utc(2026, 11, 22, 9, 20, 46),
        "fee": Decimal("7.37"),
        "settlement_amount": None,
        "parent_external_id": None,
        "destination_account": None,
    },
    "checkout_refund": {
        "external_id": "261122140885521681:refund:49160",
        "kind": "refund",
        "status": "succeeded",
        "method": "card",
        "amount": Decimal("491.60"),
        "currency": "NGN",
        "references": ("INV-20261122-0042",),
        "occurred_at": utc(2026, 11, 24, 14, 2, 10),
        "fee": None,
        "settlement_amount": None,
        "parent_external_id": "261122140885521681",
        "destination_account": None,
    },
    "pos_card_payment": {
        "external_id": "261122010100213456789",
        "kind": "payment",
        "status": "succeeded",
        "method": "card",
        "amount": Decimal("300.00"),
        "currency": "NGN",
        "references": ("INV-20261122-0043",),
        "occurred_at": utc(2026, 11, 22, 10, 5, 5),
        "fee": Decimal("1.50"),
        "settlement_amount": Decimal("298.50"),
        "parent_external_id": None,
        "destination_account": None,
    },
    "bank_transfer": {
        "external_id": "261122020300198765432",
        "kind": "payment",
        "status": "succeeded",
        "method": "bank_transfer",
        "amount": Decimal("15000.00"),
        "currency": "NGN",
        "references": (),
        "occurred_at": utc(2026, 11, 22, 11, 42, 18),
        "fee": Decimal("75.00"),
        "settlement_amount": Decimal("14925.00"),
        "parent_external_id": None,
        "destination_account": "6123456789",
    },
    "macquiring_payment": {
        "external_id": "261122140885652282",
        "kind": "payment",
        "status": "succeeded",
        "method": "other",
        "amount": Decimal("2500.00"),
        "currency": "NGN",
        "references": ("INV-20261122-0044",),
        "occurred_at": utc(2026, 11, 22, 10, 5, 5, 591000),
        "fee": None,
        "settlement_amount": None,
        "parent_external_id": None,
        "destination_account": None,
    },
    "wallet_deposit": {
        "external_id": "261122030400187654321",
        "kind": "payment",
        "status": "succeeded",
        "method": "other",
        "amount": Decimal("5000.00"),
        "currency": "NGN",
        "references": ("RIDER0000000042",),
        "occurred_at": utc(2026, 11, 22, 12, 20, 1),
        "fee": None,
        "settlement_amount": None,
        "parent_external_id": None,
        "destination_account": "6234567890",
    },
}


@pytest.mark.parametrize("name", sorted(SAMPLE_NOTICES))
def test_sample_maps_onto_the_expected_notice(name):
    sample = OpayProvider.sample_payloads()[name]
    notice = parse_one(sample)
    expected = SAMPLE_NOTICES[name]
    assert {field: getattr(notice, field) for field in expected} == expected
    assert notice.raw == sample


def test_bank_transfer_sample_names_the_payer():
    payer = parse_one(OpayProvider.sample_payloads()["bank_transfer"]).payer
    assert (payer.name, payer.account_number, payer.bank) == ("ADA OBI", "0123456789", "Guaranty Trust Bank")


def test_pending_refund_sample_is_ignored():
    result = parse(OpayProvider.sample_payloads()["checkout_refund_pending"])
    assert isinstance(result, Ignored)
    assert "PENDING" in result.reason


def test_every_sample_is_covered_and_checkout_samples_are_signed_with_the_sample_key():
    samples = OpayProvider.sample_payloads()
    assert set(samples) == set(SAMPLE_NOTICES) | {"checkout_refund_pending"}
    for sample in samples.values():
        if "payload" in sample:
            assert sample["sha512"] == opay_sha512(sample["payload"], SAMPLE_SECRET_KEY)


# --- checkout callback mapping -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [("SUCCESS", "succeeded"), ("FAIL", "failed"), ("CLOSE", "failed"), ("INITIAL", "pending"), ("PENDING", "pending")],
)
def test_checkout_statuses(status, expected):
    notice = parse_one(checkout_body(status=status))
    assert (notice.status, notice.kind, notice.external_id) == (expected, "payment", "TX-0001")


@pytest.mark.parametrize("refunded", [False, True])
def test_a_checkout_status_this_plugin_does_not_know_is_unrecognized(refunded):
    # A status Opay adds later may be money moving: kept, announced and queued, never a 422.
    result = parse(checkout_body(status="SETTLED", refunded=refunded))
    assert isinstance(result, Unrecognized)
    assert "payload.status 'SETTLED'" in result.reason


@pytest.mark.parametrize("status", ["", None, 1, ["SUCCESS"]])
def test_a_missing_or_non_string_checkout_status_is_named(status):
    assert "payload.status" in payload_errors(checkout_body(key=None, status=status))


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("49160", "491.60"), (49160, "491.60"), ("1", "0.01"), ("100", "1.00"), (" 0049160 ", "491.60")],
)
def test_checkout_amount_is_kobo(amount, expected):
    assert parse_one(checkout_body(amount=amount)).amount == Decimal(expected)


@pytest.mark.parametrize(
    "amount",
    ["491.60", "49160.00", "-49160", "0", "", "4.9e4", "abc", "١٢٣", True, [49160], "9" * 5000],
    ids=repr,
)
def test_checkout_amount_that_is_not_whole_kobo_is_refused(amount):
    assert "payload.amount" in payload_errors(checkout_body(amount=amount))


def test_checkout_amount_with_a_fraction_as_json_number_is_refused():
    body = json.dumps(checkout_body(key=None)).replace('"49160"', "491.60").encode()
    assert "payload.amount" in payload_errors(body)


def test_fee_in_another_currency_is_not_kept():
    assert parse_one(checkout_body(feeCurrency="USD")).fee is None
    assert parse_one(checkout_body(fee=None, feeCurrency=None)).fee is None


def test_checkout_timestamp_forms_become_utc():
    assert parse_one(checkout_body(timestamp="2026-11-22T10:20:46+01:00")).occurred_at == utc(2026, 11, 22, 9, 20, 46)
    assert parse_one(checkout_body(timestamp="2026-11-22 09:20:46")).occurred_at == utc(2026, 11, 22, 9, 20, 46)
    assert parse_one(checkout_body(timestamp="1795341903000")).occurred_at == utc(2026, 11, 22, 10, 5, 3)
    assert "payload.timestamp" in payload_errors(checkout_body(timestamp="yesterday"))


def test_refund_of_a_transaction_is_a_refund_notice_linked_to_it():
    notice = parse_one(checkout_body(refunded=True, amount="10000"))
    assert notice.kind == "refund"
    assert notice.status == "succeeded"
    assert notice.amount == Decimal("100.00")
    assert notice.parent_external_id == "TX-0001"
    assert notice.external_id == "TX-0001:refund:10000"
    # Another amount is another (partial) refund; the same amount again is the same refund.
    assert parse_one(checkout_body(refunded=True, amount="5000")).external_id != notice.external_id
    assert parse_one(checkout_body(refunded=True, amount="10000")).external_id == notice.external_id


@pytest.mark.parametrize("status", ["INITIAL", "PENDING", "FAIL", "CLOSE"])
def test_refund_that_did_not_succeed_is_ignored(status):
    result = parse(checkout_body(refunded=True, status=status))
    assert isinstance(result, Ignored)
    assert status in result.reason


def test_refunded_must_be_a_boolean():
    assert "payload.refunded" in payload_errors(checkout_body(key=None, refunded="yes"))


def test_other_checkout_event_types_are_unrecognized_never_ignored():
    # Was Ignored: a type Opay does not document may carry money, so it is kept for review.
    result = parse({"type": "settlement-report", "payload": {"date": "2026-11-22"}})
    assert isinstance(result, Unrecognized)
    assert "settlement-report" in result.reason


def test_checkout_missing_fields_are_all_reported_at_once():
    errors = payload_errors({"type": "transaction-status", "payload": {}})
    assert {
        "payload.transactionId",
        "payload.reference",
        "payload.amount",
        "payload.currency",
        "payload.status",
        "payload.timestamp",
    } <= set(errors)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"payload": checkout_body()["payload"]}, "type"),
        ({"type": "transaction-status", "payload": "x"}, "payload"),
        (
            {"type": "transaction-status", "payload": {**checkout_body()["payload"], "currency": "XYZ"}},
            "payload.currency",
        ),
        (
            {"type": "transaction-status", "payload": {**checkout_body()["payload"], "reference": {"a": 1}}},
            "payload.reference",
        ),
        (
            {"type": "transaction-status", "payload": {**checkout_body()["payload"], "transactionId": "T" * 151}},
            "payload.transactionId",
        ),
        ({**checkout_body(), "data": pos_body()["data"]}, "data"),
        ([1, 2, 3], "body"),
    ],
    ids=["no-type", "payload-not-object", "currency", "reference", "long-id", "both-forms", "array"],
)
def test_malformed_checkout_bodies_name_the_field(body, field):
    assert field in payload_errors(body)


def test_an_object_of_no_known_form_is_unrecognized():
    # Was a 422 "not an Opay webhook": a form Opay has not documented may be a payment.
    result = parse({"payLoad": {}})
    assert isinstance(result, Unrecognized)
    assert "payLoad" in result.reason


# --- POS / transfer notification mapping -----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        ("SUCCESS", "payment", "succeeded"),
        ("successful", "payment", "succeeded"),
        ("FAIL", "payment", "failed"),
        ("FAILED", "payment", "failed"),
        ("CLOSE", "payment", "failed"),
        ("INITIAL", "payment", "pending"),
        ("PENDING", "payment", "pending"),
        ("PROCESSING", "payment", "pending"),
        ("REVERSED", "reversal", "succeeded"),
    ],
)
def test_pos_statuses(status, kind, expected):
    notice = parse_one(pos_body(status=status))
    assert (notice.kind, notice.status) == (kind, expected)
    assert notice.parent_external_id == ("261122010100213456789" if kind == "reversal" else None)


@pytest.mark.parametrize("status", ["", None, 1, {"code": "SUCCESS"}])
def test_a_missing_or_non_string_pos_status_is_named(status):
    assert "data.status" in payload_errors(pos_body(status=status))


def test_a_pos_status_this_plugin_does_not_know_is_unrecognized():
    result = parse(pos_body(status="SETTLED", amount="not money"))
    assert isinstance(result, Unrecognized)
    assert "data.status 'SETTLED'" in result.reason


@pytest.mark.parametrize(
    ("pay_method", "method"),
    [
        ("Card", "card"),
        ("POS", "card"),
        ("BankCard", "card"),
        ("BankTransfer", "bank_transfer"),
        ("bank_transfer", "bank_transfer"),
        ("TRANSFER", "bank_transfer"),
        ("USSD", "ussd"),
        ("Wallet", "wallet"),
        ("OWealth", "wallet"),
        ("Cash", "cash"),
        ("QRCode", "other"),
        (None, "other"),
    ],
)
def test_pos_pay_methods(pay_method, method):
    assert parse_one(pos_body(payMethod=pay_method)).method == method


def test_pos_maps_order_reference_account_and_payer():
    notice = parse_one(pos_body())
    assert notice.external_id == "261122010100213456789"
    assert notice.references == ("INV-2002",)
    assert notice.destination_account == "6123456789"
    assert (notice.payer.name, notice.payer.account_number, notice.payer.bank) == (
        "ADA OBI",
        "0123456789",
        "Guaranty Trust Bank",
    )
    assert parse_one(pos_body(outOrderNo="")).references == ()


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("300.00", "300.00"), ("300", "300"), ("0.01", "0.01"), ("1,500.00", "1500.00"), (300, "300")],
)
def test_pos_amount_is_naira(amount, expected):
    assert parse_one(pos_body(amount=amount)).amount == Decimal(expected)


def test_pos_amount_as_json_number_stays_exact():
    body = json.dumps(pos_body()).replace('"300.00"', "300.10").encode()
    assert parse_one(body).amount == Decimal("300.10")


@pytest.mark.parametrize("amount", ["300.005", "-300.00", "0.00", "", "lots", "NaN", "1e3", None], ids=repr)
def test_pos_amount_that_is_not_naira_with_two_decimals_is_refused(amount):
    assert "data.amount" in payload_errors(pos_body(amount=amount))


def test_pos_fee_and_settlement_respect_two_decimals():
    errors = payload_errors(pos_body(fee="1.505", settlementAmount="-1"))
    assert {"data.fee", "data.settlementAmount"} <= set(errors)
    assert parse_one(pos_body(fee="0.00")).fee == Decimal("0.00")


def test_pos_currency_defaults_to_naira_and_must_be_known():
    assert parse_one(pos_body(currency=None)).currency == "NGN"
    assert "data.currency" in payload_errors(pos_body(currency="NAIRA"))


def test_pos_times_are_epoch_milliseconds_in_utc():
    assert parse_one(pos_body()).occurred_at == utc(2026, 11, 22, 10, 5, 5)  # completedTime wins
    assert parse_one(pos_body(completedTime=None)).occurred_at == utc(2026, 11, 22, 10, 5, 3)
    assert parse_one(pos_body(completedTime="0")).occurred_at == utc(2026, 11, 22, 10, 5, 3)
    assert parse_one(pos_body(completedTime=1795341905123)).occurred_at == utc(2026, 11, 22, 10, 5, 5, 123000)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"completedTime": "1795341905"}, "data.completedTime"),  # seconds, not milliseconds
        ({"completedTime": "2026-11-22T10:05:05Z"}, "data.completedTime"),
        ({"transactionTime": "-5", "completedTime": None}, "data.transactionTime"),
        ({"transactionTime": None, "completedTime": None}, "data.completedTime"),
    ],
)
def test_bad_or_missing_pos_times_are_named(changes, field):
    assert field in payload_errors(pos_body(**changes))


def test_overlong_ids_and_accounts_are_refused_not_truncated():
    errors = payload_errors(pos_body(orderNo="9" * 181, receiptAccount="1" * 65))
    assert {"data.orderNo", "data.receiptAccount"} <= set(errors)


def test_pos_missing_fields_are_all_reported_at_once():
    errors = payload_errors({"data": {}})
    assert {"data.orderNo", "data.amount", "data.status", "data.completedTime"} <= set(errors)
    assert "data" in payload_errors({"data": [1]})


def test_unknown_extra_fields_are_accepted_in_both_forms():
    checkout = checkout_body(newField={"nested": [1, 2]})
    checkout["apiVersion"] = "v3"
    assert parse_one(checkout).external_id == "TX-0001"
    pos = pos_body(terminalId="2OPY0123", extra=None, cardScheme="Verve")
    pos["requestId"] = "abc"
    assert parse_one(pos).external_id == "261122010100213456789"


# --- through the webhook endpoint -------------------------------------------------------------


@pytest.fixture
def app(database_url):
    """An app with exactly this plugin: a test sees only the opay provider."""
    app = make_app(database_url, plugins=[flux_recon_opay])
    yield app
    close_app(app)


@pytest.fixture
def opay(client, tenant):
    """An enabled opay integration whose allow-list admits 127.0.0.1 (the test client's address)."""
    response = client.post("/api/v1/integrations", json={"provider": "opay"}, headers=tenant["headers"])
    assert response.status_code == 201, response.json
    integration = response.json
    assert integration["credentials"] == []  # nothing is generated: the secret key comes from Opay
    added = client.post(
        f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": "127.0.0.1/32"}, headers=tenant["headers"]
    )
    assert added.status_code == 201, added.json
    integration["path"] = "/" + integration["webhook_url"].split("/", 3)[3]
    return integration


@pytest.fixture
def set_secret(client, tenant, opay):
    def put(value=SECRET):
        response = client.put(
            f"/api/v1/integrations/{opay['id']}/secrets/secret_key", json={"value": value}, headers=tenant["headers"]
        )
        assert response.status_code == 200, response.json
        assert response.json["set"] is True

    return put


@pytest.fixture
def post(client, opay):
    def send(body, *, headers=None, environ=None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        return client.post(opay["path"], data=raw, headers=sent, environ_base=environ or {})

    return send


def inbox(app):
    with app.app_context():
        rows = list(WebhookEvent.select().order_by(WebhookEvent.id))
    db.close()
    return rows


def payment_count(app):
    with app.app_context():
        count = Payment.select().count()
    db.close()
    return count


def order(client, tenant, order_id):
    return client.get(f"/api/v1/orders/{order_id}", headers=tenant["headers"]).json


def payment(client, tenant, payment_id):
    return client.get(f"/api/v1/payments/{payment_id}", headers=tenant["headers"]).json


def assert_error(response, status):
    assert response.status_code == status, response.json
    assert response.json["code"] == status
    assert response.json["message"]


def test_providers_endpoint_describes_opay(client, tenant):
    (provider,) = client.get("/api/v1/providers", headers=tenant["headers"]).json
    assert provider["name"] == "opay"
    assert [c["name"] for c in provider["credentials"]] == ["secret_key"]
    assert provider["credentials"][0]["generated"] is False
    assert [check["type"] for check in provider["auth"]] == ["ip_allowlist", "opay_checkout_signature"]
    assert provider["auth"][1]["digest"] == "sha3_512"


def test_signed_checkout_pays_its_order(app, client, tenant, create_order, set_secret, post):
    created = create_order(reference=REFERENCE, amount="491.60")
    set_secret()
    response = post(checkout_body())
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["reconciliation"]) == ("accepted", "matched")
    assert order(client, tenant, created["id"])["status"] == "paid"
    shown = payment(client, tenant, response.json["payment_id"])
    assert (shown["external_id"], shown["amount"], shown["fee"], shown["method"]) == (
        "TX-0001",
        "491.60",
        "7.37",
        "card",
    )
    (event,) = inbox(app)
    assert event.verdict == "accepted"
    assert event.credential_id is not None  # the secret key verified it


def test_signature_hex_is_case_insensitive(create_order, set_secret, post):
    set_secret()
    body = checkout_body()
    body["sha512"] = body["sha512"].upper()
    assert post(body).json["status"] == "accepted"


def test_unsigned_checkout_is_accepted_until_the_secret_key_is_set(create_order, post, set_secret):
    create_order(reference=REFERENCE, amount="491.60")
    assert post(checkout_body(key=None)).json["status"] == "accepted"
    set_secret()
    assert_error(post(checkout_body(key=None, transactionId="TX-0002")), 401)


def wrong_signatures():
    tampered = checkout_body()
    tampered["payload"]["amount"] = "4916000"
    sha512_not_sha3 = checkout_body()
    sha512_not_sha3["sha512"] = opay_sha512(sha512_not_sha3["payload"], SECRET, hashlib.sha512)
    refunded_flipped = checkout_body()
    refunded_flipped["payload"]["refunded"] = True
    not_a_string = checkout_body()
    not_a_string["sha512"] = 12345
    token_missing = checkout_body()
    del token_missing["payload"]["token"]
    return {
        "wrong-key": checkout_body(key="OPAYPRV-someone-else"),
        "tampered-amount": tampered,
        "missing": checkout_body(key=None),
        "empty": {**checkout_body(key=None), "sha512": ""},
        "hmac-sha512": sha512_not_sha3,
        "refunded-flipped": refunded_flipped,
        "not-a-string": not_a_string,
        "token-missing": token_missing,
    }


@pytest.mark.parametrize("name", list(wrong_signatures()))
def test_wrong_or_missing_signature_is_401_once_the_secret_is_set(
    app, client, tenant, create_order, set_secret, post, name
):
    created = create_order(reference=REFERENCE, amount="491.60")
    set_secret()
    assert_error(post(wrong_signatures()[name]), 401)
    assert [e.verdict for e in inbox(app)] == ["rejected_signature"]
    assert payment_count(app) == 0
    assert order(client, tenant, created["id"])["status"] == "open"


def dodges():
    """Checkout callbacks dressed up as POS notifications, none correctly signed."""
    forged = checkout_body(key=None)
    return {
        "payload-and-data": {**forged, "data": pos_body()["data"]},
        "payload-without-type": {"payload": forged["payload"]},
        "payload-without-type-with-data": {"payload": forged["payload"], "data": pos_body()["data"]},
        "type-and-data": {"type": "transaction-status", "data": pos_body()["data"]},
        "forged-sha512-and-data": {"sha512": "00" * 64, "data": pos_body()["data"]},
        "other-type": {"type": "settlement-report", "payload": forged["payload"]},
    }


@pytest.mark.parametrize("name", list(dodges()))
def test_a_checkout_callback_cannot_dodge_the_signature_by_looking_like_pos(app, create_order, set_secret, post, name):
    create_order(reference=REFERENCE, amount="491.60")
    create_order(reference="INV-2002", amount="300.00")
    set_secret()
    assert_error(post(dodges()[name]), 401)
    assert payment_count(app) == 0


def test_signed_checkout_that_also_carries_pos_data_is_refused(set_secret, post):
    set_secret()
    response = post({**checkout_body(), "data": pos_body()["data"]})
    assert_error(response, 422)
    assert "data" in response.json["errors"]


def test_pos_notification_needs_no_signature_even_with_the_secret_set(client, tenant, create_order, set_secret, post):
    created = create_order(reference="INV-2002", amount="300.00")
    set_secret()
    response = post(pos_body(), headers={"X-Opay-Tranid": "261122010100213456789"})
    assert (response.json["status"], response.json["reconciliation"]) == ("accepted", "matched")
    assert order(client, tenant, created["id"])["status"] == "paid"
    assert post(pos_body()).json["status"] == "duplicate"
    assert order(client, tenant, created["id"])["amount_paid"] == "300.00"


@pytest.mark.parametrize("form", ["checkout", "pos"])
def test_address_off_the_allowlist_is_403_for_both_forms(app, create_order, set_secret, post, form):
    create_order(reference=REFERENCE, amount="491.60")
    set_secret()
    body = checkout_body() if form == "checkout" else pos_body()
    assert_error(post(body, environ={"REMOTE_ADDR": "127.0.0.9"}), 403)
    (event,) = inbox(app)
    assert (event.verdict, event.source_ip) == ("rejected_address", "127.0.0.9")
    assert payment_count(app) == 0


def test_transfer_into_a_static_virtual_account_matches_by_account(client, tenant, create_order, post):
    created = create_order(reference="INV-3003", amount="15000.00", virtual_account="6123456789")
    response = post(OpayProvider.sample_payloads()["bank_transfer"])
    assert response.json["reconciliation"] == "matched"
    assert order(client, tenant, created["id"])["status"] == "paid"


@pytest.mark.parametrize(("name", "answer"), [("checkout_refund_pending", "ignored"), ("checkout_payment", "accepted")])
def test_samples_verify_with_the_sample_key(set_secret, post, name, answer):
    set_secret(SAMPLE_SECRET_KEY)
    assert post(OpayProvider.sample_payloads()[name]).json["status"] == answer


@pytest.mark.parametrize(
    "body",
    [checkout_body(refunded=True, status="PENDING")],
    ids=["pending-refund"],
)
def test_events_without_money_answer_200_ignored_and_are_kept_in_the_inbox(app, set_secret, post, body):
    set_secret()
    if "sha512" not in body:
        body["sha512"] = opay_sha512(body["payload"], SECRET)
    response = post(body)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ignored"
    assert response.json["payment_id"] is None
    (event,) = inbox(app)
    assert (event.verdict, event.http_status) == ("ignored", 200)
    assert event.reason == response.json["reason"]
    assert payment_count(app) == 0


def test_a_signed_callback_of_an_unknown_type_is_kept_as_unrecognized(app, set_secret, post):
    # Was "200 ignored": a type Opay does not document may carry money.
    set_secret()
    body = {**checkout_body(key=None, transactionId="TX-9"), "type": "settlement-report"}
    body["sha512"] = opay_sha512(body["payload"], SECRET)
    response = post(body)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "unrecognized"
    (event,) = inbox(app)
    assert (event.verdict, event.http_status) == ("unrecognized", 200)
    assert payment_count(app) == 0


def test_kobo_with_decimals_is_422_naming_the_field(app, set_secret, post):
    set_secret()
    response = post(checkout_body(amount="491.60"))
    assert_error(response, 422)
    assert "payload.amount" in response.json["errors"]
    assert inbox(app)[0].verdict == "invalid_payload"


def test_naira_with_three_decimals_is_422_naming_the_field(post):
    response = post(pos_body(amount="300.005"))
    assert_error(response, 422)
    assert list(response.json["errors"]) == ["data.amount"]


def test_amounts_sent_as_json_numbers_are_stored_exactly(client, tenant, post):
    pos = json.dumps(pos_body()).replace('"300.00"', "300.10").encode()
    checkout = json.dumps(checkout_body(key=None)).replace('"49160"', "49161").encode()
    stored = [payment(client, tenant, post(body).json["payment_id"])["amount"] for body in (pos, checkout)]
    assert stored == ["300.10", "491.61"]


def test_a_pos_status_that_is_not_a_string_is_422_never_500(post):
    response = post(pos_body(status=["SETTLED"]))
    assert_error(response, 422)
    assert "data.status" in response.json["errors"]


def test_pending_then_success_is_applied_once(client, tenant, create_order, set_secret, post):
    created = create_order(reference=REFERENCE, amount="491.60")
    set_secret()
    assert post(checkout_body(status="PENDING")).json["reconciliation"] == "not_applicable"
    assert order(client, tenant, created["id"])["status"] == "open"
    assert post(checkout_body(status="SUCCESS")).json["status"] == "accepted"
    assert post(checkout_body(status="SUCCESS")).json["status"] == "duplicate"
    assert order(client, tenant, created["id"])["amount_paid"] == "491.60"


def test_closed_checkout_is_recorded_as_failed_and_not_applied(client, tenant, create_order, set_secret, post):
    created = create_order(reference=REFERENCE, amount="491.60")
    set_secret()
    response = post(checkout_body(status="CLOSE"))
    assert payment(client, tenant, response.json["payment_id"])["status"] == "failed"
    assert order(client, tenant, created["id"])["status"] == "open"


def test_refund_takes_the_payment_back_and_its_retry_changes_nothing(client, tenant, create_order, set_secret, post):
    created = create_order(reference=REFERENCE, amount="491.60")
    set_secret()
    paid = post(checkout_body()).json
    assert order(client, tenant, created["id"])["status"] == "paid"
    refund = post(checkout_body(refunded=True, timestamp="2026-11-24T14:02:10Z"))
    assert refund.json["status"] == "accepted"
    assert order(client, tenant, created["id"])["amount_paid"] == "0.00"
    assert payment(client, tenant, paid["payment_id"])["status"] == "refunded"
    retry = post(checkout_body(refunded=True, timestamp="2026-11-24T14:02:10Z"))
    assert retry.json["status"] == "duplicate"
    assert order(client, tenant, created["id"])["amount_paid"] == "0.00"


def test_two_partial_refunds_both_count(client, tenant, create_order, set_secret, post):
    created = create_order(reference=REFERENCE, amount="491.60")
    set_secret()
    post(checkout_body())
    assert post(checkout_body(refunded=True, amount="10000")).json["status"] == "accepted"
    assert post(checkout_body(refunded=True, amount="5000")).json["status"] == "accepted"
    assert post(checkout_body(refunded=True, amount="5000")).json["status"] == "duplicate"
    shown = order(client, tenant, created["id"])
    assert (shown["status"], shown["amount_paid"]) == ("partially_paid", "341.60")


def test_refund_before_its_payment_is_applied_when_the_payment_arrives(client, tenant, create_order, set_secret, post):
    created = create_order(reference=REFERENCE, amount="491.60")
    set_secret()
    early = post(checkout_body(refunded=True)).json
    assert (early["status"], early["reconciliation"]) == ("accepted", "orphan")
    paid = post(checkout_body()).json
    assert paid["status"] == "accepted"
    assert payment(client, tenant, paid["payment_id"])["status"] == "refunded"
    assert order(client, tenant, created["id"])["amount_paid"] == "0.00"


def test_pos_reversal_takes_the_payment_back(client, tenant, create_order, post):
    created = create_order(reference="INV-2002", amount="300.00")
    paid = post(pos_body()).json
    assert order(client, tenant, created["id"])["status"] == "paid"
    assert post(pos_body(status="REVERSED")).json["status"] == "accepted"
    assert post(pos_body(status="REVERSED")).json["status"] == "duplicate"
    assert payment(client, tenant, paid["payment_id"])["status"] == "reversed"
    assert order(client, tenant, created["id"])["amount_paid"] == "0.00"


def test_an_authenticated_opay_notification_with_a_status_it_does_not_know_reaches_the_queue(app, client, tenant, post):
    response = post(pos_body(status="PAID_BY_A_NEW_RAIL"))
    assert response.status_code == 200, response.json
    assert response.json["status"] == "unrecognized" and "PAID_BY_A_NEW_RAIL" in response.json["reason"]
    (record,) = inbox(app)
    assert (record.verdict, record.authenticated) == ("unrecognized", True)
    queue = client.get("/api/v1/exceptions", query_string={"reason": "unrecognized_webhook"}, headers=tenant["headers"])
    (item,) = queue.json
    assert item["id"] == f"webhook:{record.id}" and "PAID_BY_A_NEW_RAIL" in item["message"]
    assert payment_count(app) == 0
