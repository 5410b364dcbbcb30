"""The Paystack plugin: Paystack's signature, what each event maps onto, and the whole path through flux-recon."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest

import flux_recon_paystack
from flux_recon import Ignored, PayloadError, Unrecognized, WebhookRequest
from flux_recon.testing import create_test_app, enable_integration
from flux_recon_paystack.provider import PaystackProvider

SECRET_KEY = "sk_test_3f9a1c0e5b7d2468ace0f13579bdf2468ace0f1"  # noqa: S105 - a made-up test key


def sample(name: str) -> dict:
    return PaystackProvider.sample_payloads()[name]


def parse(payload):
    return PaystackProvider().parse(WebhookRequest(body=json.dumps(payload).encode()))


def paystack_signature(body: bytes, secret: str) -> str:
    """As Paystack documents it, computed here independently of the plugin."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def test_signing_is_paystacks_hmac_sha512_of_the_raw_body():
    signed = PaystackProvider.sign(sample("charge_success"), {"secret_key": SECRET_KEY})
    assert signed.headers["x-paystack-signature"] == paystack_signature(signed.body, SECRET_KEY)


def test_the_default_allow_list_is_paystacks_published_addresses():
    assert PaystackProvider.default_allowlist == ("52.31.139.75/32", "52.49.173.169/32", "52.214.14.220/32")


def test_a_card_charge_is_a_payment_keyed_by_its_reference():
    (notice,) = parse(sample("charge_success"))
    assert (notice.kind, notice.status, notice.method) == ("payment", "succeeded", "card")
    assert notice.external_id == "INV-1001"
    assert notice.references == ("INV-1001",)
    assert (notice.amount, notice.currency, notice.fee) == (Decimal("15000.00"), "NGN", Decimal("325.00"))
    assert notice.occurred_at == dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC)
    assert (notice.payer.name, notice.payer.email) == ("Ada Obi", "ada@example.com")
    assert (notice.payer.phone, notice.payer.customer_id) == ("+2348012345678", "CUS_1rkzaqsv4rrhqo6")
    assert notice.destination_account is None
    assert notice.raw["data"]["id"] == 4099260516  # Paystack's transaction id stays in raw


def test_a_transfer_into_a_dedicated_account_names_the_account_paid_into():
    (notice,) = parse(sample("charge_success_transfer"))
    assert (notice.method, notice.amount) == ("bank_transfer", Decimal("20000.00"))  # "2000000" kobo as text
    assert notice.destination_account == "9930000737"
    assert (notice.payer.account_number, notice.payer.bank) == ("XXXXXX4553", "Guaranty Trust Bank")


def test_a_processed_refund_takes_money_back_from_the_charge_it_names():
    before = dt.datetime.now(dt.UTC)
    (notice,) = parse(sample("refund_processed"))
    assert (notice.kind, notice.parent_external_id) == ("refund", "INV-1001")
    assert notice.external_id == "INV-1001:refund:132013318360"
    assert (notice.amount, notice.currency) == (Decimal("15000.00"), "NGN")
    # Paystack's refund event carries no time: it happened when it arrived.
    assert before <= notice.occurred_at <= dt.datetime.now(dt.UTC)


def test_a_refund_time_is_read_when_paystack_sends_one():
    payload = sample("refund_processed")
    payload["data"]["refunded_at"] = "2026-11-24T14:02:10.000Z"
    (notice,) = parse(payload)
    assert notice.occurred_at == dt.datetime(2026, 11, 24, 14, 2, 10, tzinfo=dt.UTC)


def test_a_refund_without_a_refund_reference_is_keyed_by_its_id_or_else_its_amount():
    payload = sample("refund_processed")
    del payload["data"]["refund_reference"]
    payload["data"]["id"] = 1234567
    assert parse(payload)[0].external_id == "INV-1001:refund:1234567"
    del payload["data"]["id"]
    payload["data"]["amount"] = 500000
    assert parse(payload)[0].external_id == "INV-1001:refund:500000"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (sample("refund_pending"), "only a processed refund"),
        (sample("transfer_success"), "payout"),
        ({"event": "subscription.create", "data": {}}, "own charge.success"),
        ({"event": "charge.success", "data": {**sample("charge_success")["data"], "status": "failed"}}, "no money"),
        ({"event": "refund.processed", "data": {**sample("refund_processed")["data"], "status": "pending"}}, "yet"),
    ],
)
def test_events_without_customer_money_are_ignored(payload, reason):
    result = parse(payload)
    assert isinstance(result, Ignored)
    assert reason in result.reason


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"event": "something.new", "data": {}}, "'something.new' is not a Paystack event this plugin knows"),
        ({"event": "refund.reversed", "data": {}}, "'refund.reversed' is not a Paystack event"),
        (
            {"event": "charge.success", "data": {**sample("charge_success")["data"], "status": "reversed"}},
            "charge.success with status 'reversed', which this plugin does not know",
        ),
        (
            {"event": "refund.processed", "data": {**sample("refund_processed")["data"], "status": "needs-attention"}},
            "refund.processed with status 'needs-attention'",
        ),
    ],
)
def test_events_and_statuses_it_does_not_know_are_unrecognized_never_ignored(payload, reason):
    result = parse(payload)
    assert isinstance(result, Unrecognized)
    assert reason in result.reason


def test_every_declared_event_type_is_read_or_ignored_and_nothing_else_is_ignored():
    assert PaystackProvider.event_types["charge.success"] == "payment"
    assert PaystackProvider.event_types["refund.processed"] == "refund"
    for event, carries in PaystackProvider.event_types.items():
        if carries == "no_money":
            assert isinstance(parse({"event": event, "data": {}}), Ignored), event


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reference": None}, "data.reference"),
        ({"amount": "15000.00"}, "data.amount"),  # kobo are whole numbers: a decimal string is refused
        ({"amount": 0}, "data.amount"),
        ({"amount": 10**30}, "data.amount"),
        ({"amount": True}, "data.amount"),
        ({"currency": "XOF"}, "data.currency"),
        ({"currency": None}, "data.currency"),
        ({"paid_at": "yesterday", "paidAt": None}, "data.paid_at"),
        ({"paid_at": None, "paidAt": None}, "data.paid_at"),
    ],
)
def test_invalid_charges_are_refused_with_the_field_named(change, field):
    payload = sample("charge_success")
    payload["data"].update(change)
    with pytest.raises(PayloadError) as raised:
        parse(payload)
    assert field in raised.value.errors, raised.value.errors


@pytest.mark.parametrize("payload", [[], "charge.success", {"data": {}}, {"event": 7}, {"event": "charge.success"}])
def test_bodies_that_are_no_paystack_event_are_refused(payload):
    with pytest.raises(PayloadError):
        parse(payload)


@pytest.fixture
def paystack(tmp_path):
    """A flux-recon with this plugin, a merchant with the Paystack integration enabled and
    the test client's address (127.0.0.1) added to Paystack's own addresses."""
    app = create_test_app(tmp_path, plugins=[flux_recon_paystack])
    client = app.test_client()
    integration = enable_integration(client, "paystack", secrets={"secret_key": SECRET_KEY})
    return client, integration


def post(client, integration, payload, *, secrets=None, **kwargs):
    signed = PaystackProvider.sign(payload, secrets if secrets is not None else integration.secrets)
    return client.post(integration.webhook_path, data=signed.body, headers=signed.headers, **kwargs)


def order_status(client, integration, reference):
    return client.get(f"/api/v1/orders?reference={reference}", headers=integration.api_headers).json[0]["status"]


def test_a_charge_pays_its_order_once_and_the_refund_reopens_it(paystack):
    client, integration = paystack
    cidrs = [e["cidr"] for e in integration.details["allowlist"]["entries"]]
    assert cidrs == list(PaystackProvider.default_allowlist)  # pre-filled when enabled
    order = {"reference": "INV-1001", "amount": "15000.00", "currency": "NGN"}
    assert client.post("/api/v1/orders", json=order, headers=integration.api_headers).status_code == 201

    paid = post(client, integration, sample("charge_success"))
    assert (paid.json["status"], paid.json["reconciliation"]) == ("accepted", "matched"), paid.json
    assert order_status(client, integration, "INV-1001") == "paid"
    # Paystack retries until it gets a 200: the retry changes nothing.
    assert post(client, integration, sample("charge_success")).json["status"] == "duplicate"

    refunded = post(client, integration, sample("refund_processed"))
    assert refunded.json["status"] == "accepted", refunded.json
    assert order_status(client, integration, "INV-1001") == "open"
    payment = client.get(f"/api/v1/payments/{paid.json['payment_id']}", headers=integration.api_headers).json
    assert payment["status"] == "refunded", payment


def test_a_transfer_to_a_dedicated_account_pays_the_order_on_that_account(paystack):
    client, integration = paystack
    order = {"reference": "INV-1002", "amount": "20000.00", "currency": "NGN", "virtual_account": "9930000737"}
    assert client.post("/api/v1/orders", json=order, headers=integration.api_headers).status_code == 201
    paid = post(client, integration, sample("charge_success_transfer"))
    assert (paid.json["status"], paid.json["reconciliation"]) == ("accepted", "matched"), paid.json
    assert order_status(client, integration, "INV-1002") == "paid"


def test_refused_unsigned_wrongly_signed_and_from_another_address(paystack):
    client, integration = paystack
    body = json.dumps(sample("charge_success")).encode()
    unsigned = client.post(integration.webhook_path, data=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    wrong_key = {"secret_key": "sk_test_other"}
    assert post(client, integration, sample("charge_success"), secrets=wrong_key).status_code == 401
    elsewhere = post(client, integration, sample("charge_success"), environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 403
    # From one of Paystack's published addresses it is accepted.
    from_paystack = post(client, integration, sample("charge_success"), environ_base={"REMOTE_ADDR": "52.49.173.169"})
    assert from_paystack.status_code == 200, from_paystack.json


def test_ignored_events_are_acknowledged(paystack):
    client, integration = paystack
    answer = post(client, integration, sample("transfer_success"))
    assert (answer.status_code, answer.json["status"]) == (200, "ignored")


def test_an_unknown_event_is_answered_200_and_kept_as_unrecognized(paystack):
    client, integration = paystack
    answer = post(client, integration, {"event": "charge.refunded.partial", "data": {"reference": "INV-1001"}})
    assert (answer.status_code, answer.json["status"]) == (200, "unrecognized")
