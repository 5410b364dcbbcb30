"""The Monnify plugin: its payloads mapped onto notices, its auth, and its answers through /webhooks/monnify."""

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest

import flux_recon_monnify
from flux_recon import Ignored, PayloadError, Unrecognized, WebhookRequest
from flux_recon.models import WebhookEvent, db
from flux_recon.reconciliation import refunds
from flux_recon_monnify.provider import MonnifyProvider
from tests.conftest import close_app, make_app

MONNIFY_ADDRESS = "35.242.133.146"
CLIENT_SECRET = "3RQY6W8ZK2C9PLT5XBNM4HDVJ7FAGS1E"

# Monnify's documented signature example: its sample client secret, its sample body
# (as JSON.stringify sends it) and the hash Monnify publishes for them.
PUBLISHED_SECRET = "91MUDL9N6U3BQRXBQ2PJ9M0PW4J22M1Y"
PUBLISHED_BODY = (
    b'{"eventData":{"product":{"reference":"111222333","type":"OFFLINE_PAYMENT_AGENT"},'
    b'"transactionReference":"MNFY|76|20211117154810|000001","paymentReference":"0.01462001097368737",'
    b'"paidOn":"17/11/2021 3:48:10 PM","paymentDescription":"Mockaroo Jesse","metaData":{},'
    b'"destinationAccountInformation":{},"paymentSourceInformation":{},"amountPaid":78000,"totalPayable":78000,'
    b'"offlineProductInformation":{"code":"41470","type":"DYNAMIC"},"cardDetails":{},"paymentMethod":"CASH",'
    b'"currency":"NGN","settlementAmount":77600,"paymentStatus":"PAID","customer":{"name":"Mockaroo Jesse",'
    b'"email":"111222333@ZZAMZ4WT4Y3E.monnify"}},"eventType":"SUCCESSFUL_TRANSACTION"}'
)
PUBLISHED_SIGNATURE = (
    "f04fb635e04d71648bd3cc7999003da6861483342c856d05ddfa9b2dafacb873"
    "b0de1d0f8f67405d0010b4348b721c49fa171d317972618debba6b638aedcd3c"
)


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


def sample(name):
    return MonnifyProvider.sample_payloads()[name]


def parse(payload):
    return MonnifyProvider().parse(WebhookRequest(body=json.dumps(payload).encode()))


def parse_body(body: bytes):
    return MonnifyProvider().parse(WebhookRequest(body=body))


def with_data(name, **changes):
    """A sample whose eventData has ``changes`` applied; a None value removes the field."""
    payload = sample(name)
    for key, value in changes.items():
        if value is None:
            payload["eventData"].pop(key, None)
        else:
            payload["eventData"][key] = value
    return payload


def field_errors(payload) -> dict:
    with pytest.raises(PayloadError) as error:
        parse(payload)
    return error.value.errors


def monnify_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


# --- every sample payload, mapped -------------------------------------------------------


def test_card_payment_sample():
    (notice,) = parse(sample("card_payment"))
    assert notice.kind == "payment"
    assert notice.status == "succeeded"
    assert notice.external_id == "MNFY|85|20261122101503|000431"
    assert notice.references == ("INV-1001",)  # paymentReference and product.reference are the same
    assert notice.amount == Decimal("15000")
    assert notice.currency == "NGN"
    assert notice.method == "card"
    assert notice.occurred_at == utc(2026, 11, 22, 9, 15, 3, 482000)  # 10:15:03.482 in Lagos
    assert notice.settlement_amount == Decimal("14775.00")
    assert notice.fee == Decimal("225.00")
    assert notice.destination_account is None  # a card payment goes into no account
    assert notice.parent_external_id is None
    assert (notice.payer.name, notice.payer.email) == ("Ada Obi", "ada@example.com")
    assert notice.payer.account_number is None
    assert notice.raw == sample("card_payment")


def test_reserved_account_transfer_sample():
    (notice,) = parse(sample("reserved_account_transfer"))
    assert notice.external_id == "MNFY|04|20261122091842|000170"
    # The reserved account's reference first: the payment reference is Monnify's own.
    assert notice.references == ("CUST-C77", "MNFY|04|20261122091842|000170")
    assert notice.amount == Decimal("20000.00")
    assert notice.method == "bank_transfer"
    assert notice.destination_account == "7023576853"
    assert notice.occurred_at == utc(2026, 11, 22, 8, 18, 42, 615000)
    assert (notice.settlement_amount, notice.fee) == (Decimal("19950.00"), Decimal("50.00"))
    payer = notice.payer
    assert (payer.name, payer.email, payer.account_number, payer.bank) == (
        "Ada Obi",
        "ada@example.com",
        "0123456789",
        "058",
    )


def test_offline_cash_payment_sample():
    (notice,) = parse(sample("offline_cash_payment"))
    assert notice.external_id == "MNFY|76|20211117154810|000001"
    assert notice.references == ("0.01462001097368737", "111222333")
    assert notice.method == "cash"
    assert notice.amount == Decimal("78000")
    assert notice.occurred_at == utc(2021, 11, 17, 14, 48, 10)  # 3:48:10 PM in Lagos
    assert (notice.settlement_amount, notice.fee) == (Decimal("77600"), Decimal("400"))
    # paymentSourceInformation is an empty object here, not a list: no payer account.
    assert notice.payer.account_number is None
    assert notice.payer.name == "Mockaroo Jesse"


def test_refund_sample():
    (notice,) = parse(sample("refund"))
    assert notice.kind == "refund"
    assert notice.status == "succeeded"
    assert notice.external_id == "RFD-INV-1001-01"
    assert notice.parent_external_id == sample("card_payment")["eventData"]["transactionReference"]
    assert notice.amount == Decimal("15000")
    assert notice.currency == "NGN"
    assert notice.occurred_at == utc(2026, 11, 22, 13, 10, 37)  # completedOn, not createdOn
    assert notice.references == ()


def test_rejected_payment_sample():
    (notice,) = parse(sample("rejected_payment"))
    assert notice.kind == "payment"
    assert notice.status == "failed"
    assert notice.external_id == "MNFY|85|20261122110240|041855"
    assert notice.references == ("INV-1002",)
    # What the customer sent (and got back), not the 15,000 that was expected.
    assert notice.amount == Decimal("12000")
    assert notice.occurred_at == utc(2026, 11, 22, 10, 2, 41)
    assert notice.destination_account == "7023576999"
    assert notice.method == "bank_transfer"
    payer = notice.payer
    assert (payer.name, payer.email, payer.account_number, payer.bank) == (
        "Chidi Eze",
        "chidi@example.com",
        "5141901487",
        "50515",
    )
    assert notice.fee is None and notice.settlement_amount is None


@pytest.mark.parametrize(("name", "event_type"), [("disbursement", "SUCCESSFUL_DISBURSEMENT")])
def test_ignored_samples(name, event_type):
    result = parse(sample(name))
    assert isinstance(result, Ignored)
    assert event_type in result.reason


def test_every_sample_has_a_mapping_test():
    tested = {
        "card_payment",
        "reserved_account_transfer",
        "offline_cash_payment",
        "refund",
        "rejected_payment",
        "disbursement",
        "settlement",  # tests/test_settlement_webhooks.py
        "settlement_header_only",  # tests/test_settlement_webhooks.py
        "legacy_transfer",  # tests/test_monnify_legacy.py
    }
    assert set(MonnifyProvider.sample_payloads()) == tested


def test_sample_payloads_are_fresh_copies():
    first = MonnifyProvider.sample_payloads()
    first["card_payment"]["eventData"]["amountPaid"] = 1
    assert MonnifyProvider.sample_payloads()["card_payment"]["eventData"]["amountPaid"] == 15000


# --- field by field ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid_on", "expected"),
    [
        ("2021-11-17 11:28:42.615", utc(2021, 11, 17, 10, 28, 42, 615000)),
        ("2022-01-21 15:51:30.0", utc(2022, 1, 21, 14, 51, 30)),
        ("17/11/2021 3:48:10 PM", utc(2021, 11, 17, 14, 48, 10)),
        ("18/07/2022 04:23:55 PM", utc(2022, 7, 18, 15, 23, 55)),
        ("01/01/2022 12:30:00 AM", utc(2021, 12, 31, 23, 30)),  # just after midnight in Lagos
        ("2026-05-24T10:18:55.000Z", utc(2026, 5, 24, 10, 18, 55)),
        ("2022-04-20T11:56:59.000+0000", utc(2022, 4, 20, 11, 56, 59)),
    ],
)
def test_paid_on_forms_are_read_as_lagos_time_unless_they_say_otherwise(paid_on, expected):
    (notice,) = parse(with_data("card_payment", paidOn=paid_on))
    assert notice.occurred_at == expected


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("15000", Decimal("15000")),
        ("15000.5", Decimal("15000.5")),
        ("15000.10", Decimal("15000.10")),
        ("1.5E+4", Decimal("15000")),
        ('"15000.10"', Decimal("15000.10")),
        ('"15,000.10"', Decimal("15000.10")),
        ('" 0.01 "', Decimal("0.01")),
    ],
)
def test_amount_as_number_or_string_is_read_exactly(wire, expected):
    body = json.dumps(sample("card_payment")).replace('"amountPaid": 15000', f'"amountPaid": {wire}')
    assert f'"amountPaid": {wire}' in body
    (notice,) = parse_body(body.encode())
    assert notice.amount == expected


@pytest.mark.parametrize(
    "wire",
    ["15000.005", '"15000.005"', "0", '"0.00"', "-10", '"ten thousand"', "true", '"1,5"', "{}", '"NaN"', '""'],
)
def test_bad_amounts_are_refused_naming_the_field(wire):
    body = json.dumps(sample("card_payment")).replace('"amountPaid": 15000', f'"amountPaid": {wire}')
    with pytest.raises(PayloadError) as error:
        parse_body(body.encode())
    assert "eventData.amountPaid" in error.value.errors


def test_a_zero_decimal_currency_refuses_a_fraction():
    errors = field_errors(with_data("card_payment", currency="XOF", amountPaid="1500.5", settlementAmount=None))
    assert "eventData.amountPaid" in errors
    (notice,) = parse(with_data("card_payment", currency="XOF", amountPaid="1500", settlementAmount=None))
    assert (notice.amount, notice.currency) == (Decimal("1500"), "XOF")


def test_currency_defaults_to_naira_and_is_used_as_given():
    (notice,) = parse(with_data("card_payment", currency=None))
    assert notice.currency == "NGN"
    (notice,) = parse(with_data("card_payment", currency="usd", amountPaid="25.50", settlementAmount="24.90"))
    assert (notice.currency, notice.amount, notice.fee) == ("USD", Decimal("25.50"), Decimal("0.60"))


def test_settlement_amount_is_checked_like_an_amount():
    assert "eventData.settlementAmount" in field_errors(with_data("card_payment", settlementAmount="14775.001"))
    assert "eventData.settlementAmount" in field_errors(with_data("card_payment", settlementAmount="-1"))


def test_no_fee_without_a_settlement_amount_or_when_more_was_settled_than_paid():
    (notice,) = parse(with_data("card_payment", settlementAmount=None))
    assert (notice.fee, notice.settlement_amount) == (None, None)
    (notice,) = parse(with_data("card_payment", settlementAmount="15100.00"))
    assert (notice.fee, notice.settlement_amount) == (None, Decimal("15100.00"))


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("CARD", "card"),
        ("ACCOUNT_TRANSFER", "bank_transfer"),
        ("CASH", "cash"),
        ("USSD", "ussd"),
        ("PHONE_NUMBER", "wallet"),
        ("account_transfer", "bank_transfer"),
        ("DIRECT_DEBIT", "other"),
    ],
)
def test_payment_methods(method, expected):
    (notice,) = parse(with_data("card_payment", paymentMethod=method))
    assert notice.method == expected


@pytest.mark.parametrize("status", ["PAID", "OVERPAID", "PARTIALLY_PAID", None])
def test_money_received_is_a_succeeded_payment(status):
    (notice,) = parse(with_data("card_payment", paymentStatus=status))
    assert notice.status == "succeeded"


def test_pending_payment_status_is_pending():
    (notice,) = parse(with_data("card_payment", paymentStatus="PENDING"))
    assert notice.status == "pending"


def test_payment_source_as_a_list_takes_the_first_account():
    source = [
        {"accountName": "FIRST PAYER", "accountNumber": "1111111111", "bankCode": "044", "amountPaid": 100},
        {"accountName": "SECOND PAYER", "accountNumber": "2222222222", "bankCode": "058", "amountPaid": 200},
    ]
    (notice,) = parse(with_data("card_payment", paymentSourceInformation=source, customer=None))
    assert (notice.payer.name, notice.payer.account_number, notice.payer.bank) == ("FIRST PAYER", "1111111111", "044")


def test_payment_source_as_an_object():
    source = {"accountName": "ADA OBI", "accountNumber": "0123456789", "bankCode": "058", "amountPaid": 15000}
    (notice,) = parse(with_data("card_payment", paymentSourceInformation=source))
    assert (notice.payer.account_number, notice.payer.bank) == ("0123456789", "058")


def test_reserved_account_reference_leads_only_for_reserved_accounts():
    payload = with_data("card_payment", paymentReference="PAY-9")
    payload["eventData"]["product"] = {"reference": "ORD-9", "type": "INVOICE"}
    (notice,) = parse(payload)
    assert notice.references == ("PAY-9", "ORD-9")
    payload["eventData"]["product"]["type"] = "RESERVED_ACCOUNT"
    (notice,) = parse(payload)
    assert notice.references == ("ORD-9", "PAY-9")


def test_unknown_fields_are_accepted_everywhere():
    payload = sample("reserved_account_transfer")
    payload["deliveryAttempt"] = 3
    payload["eventData"]["newMonnifyField"] = {"nested": [1, 2, 3]}
    payload["eventData"]["customer"]["phoneNumber"] = "08012345678"
    payload["eventData"]["paymentSourceInformation"][0]["narration"] = "for order"
    (notice,) = parse(payload)
    (expected,) = parse(sample("reserved_account_transfer"))
    assert (notice.external_id, notice.amount, notice.references, notice.payer) == (
        expected.external_id,
        expected.amount,
        expected.references,
        expected.payer,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"transactionReference": None}, "eventData.transactionReference"),
        ({"transactionReference": {"id": 1}}, "eventData.transactionReference"),
        ({"transactionReference": "x" * 201}, "eventData.transactionReference"),
        ({"amountPaid": None}, "eventData.amountPaid"),
        ({"paidOn": None}, "eventData.paidOn"),
        ({"paidOn": "yesterday"}, "eventData.paidOn"),
        ({"paidOn": "31/02/2021 3:48:10 PM"}, "eventData.paidOn"),
        ({"paidOn": 1637159290}, "eventData.paidOn"),
        ({"currency": "ABC"}, "eventData.currency"),
        ({"paymentStatus": ["PAID"]}, "eventData.paymentStatus"),
        ({"paymentStatus": 1}, "eventData.paymentStatus"),
        ({"customer": "Ada Obi"}, "eventData.customer"),
        ({"product": ["INV-1001"]}, "eventData.product"),
        ({"paymentReference": ["INV-1001"]}, "eventData.paymentReference"),
        ({"paymentSourceInformation": "0123456789"}, "eventData.paymentSourceInformation"),
        ({"paymentSourceInformation": [1, 2]}, "eventData.paymentSourceInformation"),
        (
            {"destinationAccountInformation": {"accountNumber": "9" * 65}},
            "eventData.destinationAccountInformation.accountNumber",
        ),
    ],
)
def test_invalid_payment_fields_are_named_in_the_error(changes, field):
    assert field in field_errors(with_data("card_payment", **changes))


def test_every_missing_field_is_reported_at_once():
    errors = field_errors({"eventType": "SUCCESSFUL_TRANSACTION", "eventData": {"paymentReference": "INV-1"}})
    assert {"eventData.transactionReference", "eventData.amountPaid", "eventData.paidOn"} <= set(errors)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([sample("card_payment")], "body"),
        ({"eventData": sample("card_payment")["eventData"]}, "eventType"),
        ({"eventType": 7, "eventData": {}}, "eventType"),
        ({"eventType": "SUCCESSFUL_TRANSACTION"}, "eventData"),
        ({"eventType": "SUCCESSFUL_TRANSACTION", "eventData": "paid"}, "eventData"),
    ],
)
def test_a_body_that_is_not_a_monnify_envelope_is_refused(payload, field):
    assert field in field_errors(payload)


def test_event_type_is_read_case_insensitively():
    payload = sample("card_payment")
    payload["eventType"] = " successful_transaction "
    (notice,) = parse(payload)
    assert notice.external_id == sample("card_payment")["eventData"]["transactionReference"]


@pytest.mark.parametrize(
    "event_type",
    [
        "FAILED_DISBURSEMENT",
        "REVERSED_DISBURSEMENT",
        "FAILED_REFUND",
        "MANDATE_UPDATE",
        "ACCOUNT_ACTIVITY",
        "LOW_BALANCE_ALERT",
    ],
)
def test_events_without_a_payment_are_ignored_with_a_reason(event_type):
    result = parse({"eventType": event_type, "eventData": {"amount": 100}})
    assert isinstance(result, Ignored)
    assert event_type in result.reason
    assert MonnifyProvider.event_types[event_type] == "no_money"


def test_an_event_type_monnify_may_add_later_is_unrecognized_never_ignored():
    # It may carry money: kept in the inbox for a person and for replay, not acknowledged as nothing.
    result = parse({"eventType": "SOME_FUTURE_EVENT", "eventData": {"amount": 100}})
    assert isinstance(result, Unrecognized)
    assert "SOME_FUTURE_EVENT" in result.reason
    assert "SOME_FUTURE_EVENT" not in MonnifyProvider.event_types


@pytest.mark.parametrize("status", ["PAID_BY_A_NEW_RAIL", "FAILED", "expired"])
def test_a_payment_status_this_adapter_does_not_know_is_unrecognized(status):
    # A "successful" transaction that says something else needs a person: kept, announced
    # and in the queue, never a 422 that only Monnify's retries would see.
    result = parse(with_data("card_payment", paymentStatus=status))
    assert isinstance(result, Unrecognized)
    assert f"eventData.paymentStatus {status!r}" in result.reason


def test_a_refund_status_monnify_never_documented_is_unrecognized():
    result = parse(with_data("refund", refundStatus="PARTIALLY_REVERSED"))
    assert isinstance(result, Unrecognized)
    assert "PARTIALLY_REVERSED" in result.reason


def test_refund_uses_created_on_when_it_has_no_completed_on():
    (notice,) = parse(with_data("refund", completedOn=None))
    assert notice.occurred_at == utc(2026, 11, 22, 13, 10, 5)


def test_refund_amount_as_a_decimal_string():
    (notice,) = parse(with_data("refund", refundAmount="2500.50"))
    assert notice.amount == Decimal("2500.50")


@pytest.mark.parametrize("status", ["PENDING", "FAILED", "IN_PROGRESS"])
def test_a_refund_not_completed_is_ignored(status):
    result = parse(with_data("refund", refundStatus=status))
    assert isinstance(result, Ignored)
    assert status in result.reason


def test_a_refund_without_a_status_is_applied():
    (notice,) = parse(with_data("refund", refundStatus=None))
    assert notice.kind == "refund"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"refundReference": None}, "eventData.refundReference"),
        ({"transactionReference": None}, "eventData.transactionReference"),
        ({"refundAmount": None}, "eventData.refundAmount"),
        ({"refundAmount": "10.001"}, "eventData.refundAmount"),
        ({"refundAmount": 0}, "eventData.refundAmount"),
        ({"completedOn": "14/04/2021"}, "eventData.completedOn"),
        ({"completedOn": None, "createdOn": None}, "eventData.createdOn"),
    ],
)
def test_invalid_refund_fields_are_named_in_the_error(changes, field):
    assert field in field_errors(with_data("refund", **changes))


def test_rejected_payment_falls_back_to_the_event_amount_and_a_list_source():
    payload = sample("rejected_payment")
    payload["eventData"]["paymentSourceInformation"] = []
    payload["eventData"]["amount"] = "14000.00"
    (notice,) = parse(payload)
    assert notice.amount == Decimal("14000.00")
    assert notice.payer.account_number is None


def test_rejected_payment_fields_are_named_in_the_error():
    payload = sample("rejected_payment")
    payload["eventData"]["paymentSourceInformation"]["amountPaid"] = "12000.001"
    del payload["eventData"]["created_on"]
    errors = field_errors(payload)
    assert {"eventData.paymentSourceInformation.amountPaid", "eventData.created_on"} <= set(errors)


def test_published_signature_example_is_monnify_json():
    # Monnify's documented example parses like the sample built from it.
    (notice,) = parse_body(PUBLISHED_BODY)
    (expected,) = parse(sample("offline_cash_payment"))
    assert notice == expected


# --- through POST /webhooks/monnify/<token> ---------------------------------------------


@pytest.fixture
def app(database_url):
    """An app with only this plugin loaded: these tests depend on no other provider."""
    app = make_app(database_url, plugins=[flux_recon_monnify])
    yield app
    close_app(app)


@pytest.fixture
def integration(client, tenant):
    """A Monnify integration enabled over REST; its allow-list also admits 127.0.0.1."""
    response = client.post("/api/v1/integrations", json={"provider": "monnify"}, headers=tenant["headers"])
    assert response.status_code == 201, response.json
    integration = response.json
    added = client.post(
        f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": "127.0.0.1/32"}, headers=tenant["headers"]
    )
    assert added.status_code == 201, added.json
    integration["path"] = "/" + integration["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    return integration


@pytest.fixture
def set_secret(client, tenant, integration):
    def set_(value=CLIENT_SECRET):
        response = client.put(
            f"/api/v1/integrations/{integration['id']}/secrets/client_secret",
            json={"value": value},
            headers=tenant["headers"],
        )
        assert response.status_code == 200, response.json
        return response.json

    return set_


@pytest.fixture
def post(client, integration):
    """POST a Monnify webhook; signed with ``secret`` when given, or with an explicit ``signature``."""

    def post_(payload=None, *, body=None, secret=None, signature=None, source="127.0.0.1", headers=None):
        raw = body if body is not None else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json"}
        if signature is None and secret is not None:
            signature = monnify_signature(raw, secret)
        if signature is not None:
            sent["monnify-signature"] = signature
        sent.update(headers or {})
        return client.post(integration["path"], data=raw, headers=sent, environ_base={"REMOTE_ADDR": source})

    return post_


def inbox(app):
    with app.app_context():
        rows = list(WebhookEvent.select().order_by(WebhookEvent.id))
    db.close()
    return rows


def get(client, tenant, path, **query):
    response = client.get(path, query_string=query, headers=tenant["headers"])
    assert response.status_code == 200, response.json
    return response.json


def assert_error(response, status):
    assert response.status_code == status, response.json
    assert response.json["code"] == status
    assert response.json["message"]


def test_enabling_prefills_monnify_address_and_asks_for_an_optional_client_secret(client, tenant, integration):
    cidrs = [entry["cidr"] for entry in integration["allowlist"]["entries"]]
    assert "35.242.133.146/32" in cidrs
    secret, api_key = integration["secrets"]  # the API key only for settlement pulls
    assert (secret["name"], secret["required"], secret["set"]) == ("client_secret", False, False)
    assert (api_key["name"], api_key["required"], api_key["set"]) == ("api_key", False, False)
    (provider,) = [p for p in get(client, tenant, "/api/v1/providers") if p["name"] == "monnify"]
    assert [check["type"] for check in provider["auth"]] == ["ip_allowlist", "header_hmac"]
    assert provider["auth"][1]["header"] == "monnify-signature"
    assert provider["auth"][1]["required"] is False


def test_unsigned_webhook_from_monnify_address_is_accepted_until_a_secret_is_set(
    client, tenant, create_order, post, set_secret
):
    order = create_order()
    response = post(sample("card_payment"), source=MONNIFY_ADDRESS)
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["reconciliation"]) == ("accepted", "matched")
    assert get(client, tenant, f"/api/v1/orders/{order['id']}")["status"] == "paid"

    set_secret()
    payload = with_data("card_payment", transactionReference="MNFY|85|20261122101503|000432")
    assert_error(post(payload, source=MONNIFY_ADDRESS), 401)


def test_signed_webhook_is_accepted_and_recorded(app, client, tenant, create_order, post, set_secret):
    set_secret()
    order = create_order()
    response = post(sample("card_payment"), secret=CLIENT_SECRET, source=MONNIFY_ADDRESS)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "accepted"
    payment = get(client, tenant, f"/api/v1/payments/{response.json['payment_id']}")
    assert (payment["provider"], payment["external_id"], payment["method"]) == (
        "monnify",
        "MNFY|85|20261122101503|000431",
        "card",
    )
    assert (payment["amount"], payment["fee"], payment["settlement_amount"]) == ("15000.00", "225.00", "14775.00")
    assert payment["payer"]["email"] == "ada@example.com"
    assert [a["order_id"] for a in payment["allocations"]] == [order["id"]]
    (event,) = inbox(app)
    assert (event.verdict, event.source_ip) == ("accepted", MONNIFY_ADDRESS)
    assert event.credential_id is not None
    # The signature is kept only in redacted form.
    assert event.headers["monnify-signature"].endswith("…")
    assert len(event.headers["monnify-signature"]) < 10


def test_signature_is_compared_case_insensitively(create_order, post, set_secret):
    set_secret()
    create_order()
    body = json.dumps(sample("card_payment")).encode()
    response = post(body=body, signature=monnify_signature(body, CLIENT_SECRET).upper())
    assert response.json["status"] == "accepted"


def test_monnify_published_signature_example_is_accepted(post, set_secret):
    set_secret(PUBLISHED_SECRET)
    response = post(body=PUBLISHED_BODY, signature=PUBLISHED_SIGNATURE, source=MONNIFY_ADDRESS)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "accepted"


@pytest.mark.parametrize(
    "how",
    ["wrong key", "tampered body", "missing", "empty", "sha256 instead of sha512", "base64 instead of hex"],
)
def test_bad_signatures_are_refused_once_a_secret_is_set(app, client, tenant, post, set_secret, how):
    set_secret()
    body = json.dumps(sample("card_payment")).encode()
    good = monnify_signature(body, CLIENT_SECRET)
    signature, sent = {
        "wrong key": (monnify_signature(body, "not-the-client-secret"), body),
        "tampered body": (good, body.replace(b"15000", b"150000", 1)),
        "missing": (None, body),
        "empty": ("", body),
        "sha256 instead of sha512": (hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha256).hexdigest(), body),
        "base64 instead of hex": (base64.b64encode(bytes.fromhex(good)).decode(), body),
    }[how]
    assert_error(post(body=sent, signature=signature), 401)
    assert [e.verdict for e in inbox(app)] == ["rejected_signature"]
    assert get(client, tenant, "/api/v1/payments") == []


def test_replacing_the_secret_refuses_the_old_one(create_order, post, set_secret):
    set_secret("old-secret")
    set_secret("new-secret")
    create_order()
    assert_error(post(sample("card_payment"), secret="old-secret"), 401)
    assert post(sample("card_payment"), secret="new-secret").json["status"] == "accepted"


@pytest.mark.parametrize("source", ["127.0.0.9", "35.242.133.147", "::1"])
def test_an_address_off_the_allowlist_is_refused_even_when_signed(app, client, tenant, post, set_secret, source):
    set_secret()
    assert_error(post(sample("card_payment"), secret=CLIENT_SECRET, source=source), 403)
    (event,) = inbox(app)
    assert (event.verdict, event.source_ip) == ("rejected_address", source)
    assert get(client, tenant, "/api/v1/payments") == []


def test_removing_monnify_address_from_the_allowlist_refuses_it(client, tenant, integration, post):
    (entry,) = [e for e in integration["allowlist"]["entries"] if e["cidr"] == "35.242.133.146/32"]
    removed = client.delete(
        f"/api/v1/integrations/{integration['id']}/allowlist/{entry['id']}", headers=tenant["headers"]
    )
    assert removed.status_code == 204
    assert_error(post(sample("card_payment"), source=MONNIFY_ADDRESS), 403)


@pytest.mark.parametrize("name", ["disbursement"])
def test_ignored_events_answer_200_ignored_and_are_kept_in_the_inbox(app, client, tenant, post, set_secret, name):
    set_secret()
    response = post(sample(name), secret=CLIENT_SECRET)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ignored"
    assert response.json["payment_id"] is None
    assert sample(name)["eventType"] in response.json["reason"]
    (event,) = inbox(app)
    assert (event.verdict, event.http_status) == ("ignored", 200)
    assert event.reason == response.json["reason"]
    assert get(client, tenant, "/api/v1/payments") == []


def test_an_ignored_event_still_needs_a_valid_signature(app, post, set_secret):
    set_secret()
    assert_error(post(sample("disbursement"), secret="not-the-client-secret"), 401)


@pytest.mark.parametrize("amount", ['"15000.005"', "15000.005", '"-1"', "0"])
def test_bad_amount_is_422_naming_the_field(app, post, amount):
    body = json.dumps(sample("card_payment")).replace('"amountPaid": 15000', f'"amountPaid": {amount}').encode()
    response = post(body=body)
    assert_error(response, 422)
    assert "eventData.amountPaid" in response.json["errors"]
    assert inbox(app)[0].verdict == "invalid_payload"


@pytest.mark.parametrize(
    ("amount", "shown"), [("15000.10", "15000.10"), ('"15000.10"', "15000.10"), ("15000", "15000.00")]
)
def test_number_and_string_amounts_are_recorded_exactly(client, tenant, create_order, post, amount, shown):
    order = create_order(amount="15000.10")
    body = json.dumps(sample("card_payment")).replace('"amountPaid": 15000', f'"amountPaid": {amount}').encode()
    response = post(body=body)
    assert response.json["status"] == "accepted", response.json
    assert get(client, tenant, f"/api/v1/payments/{response.json['payment_id']}")["amount"] == shown
    assert get(client, tenant, f"/api/v1/orders/{order['id']}")["amount_paid"] == shown


def test_a_retried_payment_is_a_duplicate(client, tenant, create_order, post):
    order = create_order()
    first = post(sample("card_payment"))
    again = post(sample("card_payment"))
    assert again.json["status"] == "duplicate"
    assert again.json["payment_id"] == first.json["payment_id"]
    assert get(client, tenant, f"/api/v1/orders/{order['id']}")["amount_paid"] == "15000.00"


def test_reserved_account_transfer_matches_the_order_on_that_account(client, tenant, create_order, post):
    order = create_order(reference="ORD-77", amount="20000.00", virtual_account="7023576853")
    response = post(sample("reserved_account_transfer"))
    assert response.json["reconciliation"] == "matched"
    payment = get(client, tenant, f"/api/v1/payments/{response.json['payment_id']}")
    assert payment["allocations"][0]["matched_by"] == "virtual_account"
    assert payment["destination_account"] == "7023576853"
    assert get(client, tenant, f"/api/v1/orders/{order['id']}")["status"] == "paid"


def test_reserved_account_reference_matches_an_order_payment_reference(client, tenant, create_order, post):
    order = create_order(reference="ORD-78", amount="20000.00", payment_reference="cust-c77")
    assert post(sample("reserved_account_transfer")).json["reconciliation"] == "matched"
    assert get(client, tenant, f"/api/v1/orders/{order['id']}")["status"] == "paid"


def test_refund_after_the_payment_reopens_the_order(client, tenant, create_order, post, set_secret):
    set_secret()
    order = create_order()
    paid = post(sample("card_payment"), secret=CLIENT_SECRET)
    assert get(client, tenant, f"/api/v1/orders/{order['id']}")["status"] == "paid"

    refunded = post(sample("refund"), secret=CLIENT_SECRET)
    assert refunded.status_code == 200, refunded.json
    assert (refunded.json["status"], refunded.json["reconciliation"]) == ("accepted", "matched")
    shown = get(client, tenant, f"/api/v1/orders/{order['id']}")
    assert (shown["status"], shown["amount_paid"]) == ("open", "0.00")
    payment = get(client, tenant, f"/api/v1/payments/{paid.json['payment_id']}")
    assert (payment["status"], payment["refunded"]) == ("refunded", "15000.00")
    refund = get(client, tenant, f"/api/v1/payments/{refunded.json['payment_id']}")
    assert (refund["kind"], refund["external_id"], refund["parent_external_id"]) == (
        "refund",
        "RFD-INV-1001-01",
        "MNFY|85|20261122101503|000431",
    )
    # Monnify retries: the same refund again takes nothing more back.
    assert post(sample("refund"), secret=CLIENT_SECRET).json["status"] == "duplicate"


def test_partial_refund_leaves_the_order_partly_paid(client, tenant, create_order, post):
    order = create_order()
    post(sample("card_payment"))
    post(with_data("refund", refundAmount="4000.00"))
    shown = get(client, tenant, f"/api/v1/orders/{order['id']}")
    assert (shown["status"], shown["amount_paid"]) == ("partially_paid", "11000.00")


def test_refund_arriving_before_its_payment_is_applied_when_the_payment_comes(client, tenant, create_order, post):
    order = create_order()
    early = post(sample("refund"))
    assert early.json["reconciliation"] == "orphan"
    post(sample("card_payment"))
    shown = get(client, tenant, f"/api/v1/orders/{order['id']}")
    assert (shown["status"], shown["amount_paid"]) == ("open", "0.00")


@pytest.mark.parametrize("again", ["monnify_resends", "inbox_replay"])
def test_an_orphan_refund_is_applied_when_received_again_after_its_payment(
    client, tenant, create_order, post, app, monkeypatch, again
):
    order = create_order()
    early = post(sample("refund"))
    assert early.json["reconciliation"] == "orphan"
    # The payment recorded without adopting the refund: what a lost race between the two left.
    with monkeypatch.context() as patched:
        patched.setattr(refunds, "adopt_orphans", lambda *args: [])
        paid = post(sample("card_payment"))
    assert get(client, tenant, f"/api/v1/orders/{order['id']}")["status"] == "paid"

    if again == "monnify_resends":
        result = post(sample("refund")).json
    else:
        (refund_event,) = [e for e in inbox(app) if e.payment_id == early.json["payment_id"]]
        replay = client.post(f"/api/v1/webhook-events/{refund_event.id}/replay", headers=tenant["headers"])
        assert replay.status_code == 200, replay.json
        result = replay.json["result"]
        assert "now applied to payment" in replay.json["event"]["reason"]
    assert (result["status"], result["reconciliation"]) == ("accepted", "matched")
    shown = get(client, tenant, f"/api/v1/orders/{order['id']}")
    assert (shown["status"], shown["amount_paid"]) == ("open", "0.00")
    payment = get(client, tenant, f"/api/v1/payments/{paid.json['payment_id']}")
    assert (payment["status"], payment["refunded"], payment["allocated"]) == ("refunded", "15000.00", "0.00")
    # Applied once: Monnify's next retry is a duplicate and takes nothing more back.
    assert post(sample("refund")).json["status"] == "duplicate"
    assert get(client, tenant, f"/api/v1/payments/{paid.json['payment_id']}")["refunded"] == "15000.00"


def test_pending_refund_is_ignored_and_the_order_stays_paid(client, tenant, create_order, post):
    order = create_order()
    post(sample("card_payment"))
    response = post(with_data("refund", refundStatus="PENDING"))
    assert response.json["status"] == "ignored"
    assert get(client, tenant, f"/api/v1/orders/{order['id']}")["status"] == "paid"


def test_rejected_payment_is_recorded_and_never_allocated(client, tenant, create_order, post, set_secret):
    set_secret()
    order = create_order(reference="INV-1002")
    response = post(sample("rejected_payment"), secret=CLIENT_SECRET)
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["reconciliation"]) == ("accepted", "not_applicable")
    payment = get(client, tenant, f"/api/v1/payments/{response.json['payment_id']}")
    assert (payment["status"], payment["amount"], payment["allocations"]) == ("failed", "12000.00", [])
    assert get(client, tenant, f"/api/v1/orders/{order['id']}")["status"] == "open"


def test_same_transaction_for_two_merchants_is_two_payments(client, tenant, other_tenant, post):
    other = client.post("/api/v1/integrations", json={"provider": "monnify"}, headers=other_tenant["headers"]).json
    path = "/" + other["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    body = json.dumps(sample("card_payment")).encode()
    mine = post(body=body, source=MONNIFY_ADDRESS)
    theirs = client.post(
        path, data=body, headers={"Content-Type": "application/json"}, environ_base={"REMOTE_ADDR": MONNIFY_ADDRESS}
    )
    assert mine.json["status"] == theirs.json["status"] == "accepted"
    assert mine.json["payment_id"] != theirs.json["payment_id"]


def test_an_authenticated_monnify_payment_with_a_status_it_does_not_know_reaches_the_queue(
    app, client, tenant, post, set_secret
):
    set_secret()
    payload = with_data("card_payment", paymentStatus="PAID_BY_A_NEW_RAIL")
    response = post(payload, secret=CLIENT_SECRET, source=MONNIFY_ADDRESS)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "unrecognized" and "PAID_BY_A_NEW_RAIL" in response.json["reason"]
    (record,) = inbox(app)
    assert (record.verdict, record.authenticated) == ("unrecognized", True)
    (item,) = get(client, tenant, "/api/v1/exceptions", reason="unrecognized_webhook")
    assert item["id"] == f"webhook:{record.id}" and "PAID_BY_A_NEW_RAIL" in item["message"]
    assert get(client, tenant, "/api/v1/payments") == []
