"""The Fuspay plugin: payload mapping, the body signature and its keys, and what the webhook answers."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib.metadata
import json
from decimal import Decimal

import pytest

import flux_recon_fuspay
from flux_recon import Ignored, PayloadError, Unrecognized, WebhookRequest
from flux_recon.models import WebhookEvent, db
from flux_recon_fuspay.provider import FuspayProvider
from flux_recon_fuspay.signature import canonical_json
from tests.conftest import close_app, make_app

MERCHANT_SECRET = "SK_merchant_5f1c0e9a7b3d42c8"
PARTNER_SECRET = "SK_partner_9d2e4b6a8c0f13e7"
COLLECTION_KEY = MERCHANT_SECRET + PARTNER_SECRET
AMOUNT = "data.payment.virtual_account.amount"


# ---------------------------------------------------------------- helpers


def sample(name: str) -> dict:
    return FuspayProvider.sample_payloads()[name]


def notification(payment_status="Paid", order_status="Completed", amount="15000.00", **order) -> dict:
    """A nested payment notification, built from the paid sample with the given changes (None removes)."""
    payload = sample("paid_completed")
    payment, details = payload["data"]["payment"], payload["data"]["order_details"]
    payment["status"] = payment_status
    payment["virtual_account"]["amount"] = amount
    details.update(status=order_status, **order)
    for part in (payment, payment["virtual_account"], details):
        for name in [name for name, value in part.items() if value is None]:
            del part[name]
    return payload


def parse_body(body: bytes):
    return FuspayProvider().parse(WebhookRequest(body=body))


def parse(payload):
    return parse_body(json.dumps(payload).encode())


def parse_one(payload):
    result = parse(payload)
    assert isinstance(result, list), result
    (notice,) = result
    return notice


def parse_error(payload) -> dict:
    with pytest.raises(PayloadError) as error:
        parse(payload)
    return error.value.errors


def sign(payload: dict, key: str) -> dict:
    """The signature as Fuspay describes it, computed here independently of the plugin:
    hex HMAC-SHA512(key, JSON of the body without `signature`, keys sorted, compact, UTF-8)."""
    unsigned = {k: v for k, v in payload.items() if k != "signature"}
    message = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return {**unsigned, "signature": hmac.new(key.encode(), message, hashlib.sha512).hexdigest()}


def hmac_hex(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha512).hexdigest()


# ---------------------------------------------------------------- every sample payload


def test_samples_cover_every_supported_form():
    assert set(FuspayProvider.sample_payloads()) == {
        "paid_completed",
        "paid_mismatched",
        "pending_claimed",
        "refund",
        "expired",
        "collection_order",
        "payout",
    }


def test_sample_paid_completed_is_a_succeeded_transfer_into_the_virtual_account():
    before = dt.datetime.now(dt.UTC)
    notice = parse_one(sample("paid_completed"))
    after = dt.datetime.now(dt.UTC)
    assert notice.kind == "payment"
    assert notice.status == "succeeded"
    assert notice.external_id == "IPR-7F3KQ9X2M1"
    assert notice.parent_external_id is None
    assert notice.amount == Decimal("15000.00")
    assert notice.currency == "NGN"
    assert notice.method == "bank_transfer"
    assert notice.references == ("INV-1001", "IPR-7F3KQ9X2M1")
    assert notice.destination_account == "9923456781"
    # The virtual account is the merchant's collection account, not the payer's.
    assert notice.payer.name is None
    assert notice.payer.account_number is None
    assert notice.payer.bank is None
    # Fuspay's notification carries no time: it happened when it arrived.
    assert before <= notice.occurred_at <= after
    assert notice.raw["data"]["payment"]["virtual_account"]["bank_name"] == "Wema Bank"


def test_sample_paid_mismatched_is_the_amount_actually_paid_and_reads_Order_details():
    notice = parse_one(sample("paid_mismatched"))
    assert (notice.kind, notice.status) == ("payment", "succeeded")
    assert notice.external_id == "IPR-8H2LM4Z7Q5"
    assert notice.amount == Decimal("12000.00")
    assert notice.references == ("INV-1002", "IPR-8H2LM4Z7Q5")
    assert notice.destination_account == "9923456785"


def test_sample_pending_claimed_is_a_pending_payment_under_the_same_key_as_its_paid_notice():
    notice = parse_one(sample("pending_claimed"))
    assert (notice.kind, notice.status) == ("payment", "pending")
    assert notice.external_id == "IPR-2C9VN6T8W3"
    assert notice.amount == Decimal("15000.00")
    assert notice.references == ("INV-1003", "IPR-2C9VN6T8W3")


def test_sample_refund_refunds_the_payment_of_the_same_order():
    paid = parse_one(sample("paid_completed"))
    refund = parse_one(sample("refund"))
    assert (refund.kind, refund.status) == ("refund", "succeeded")
    assert refund.parent_external_id == paid.external_id
    assert refund.external_id == "IPR-7F3KQ9X2M1:refund"
    assert refund.amount == Decimal("15000.00")
    assert refund.references == ("INV-1001", "IPR-7F3KQ9X2M1")


def test_sample_expired_order_is_ignored():
    result = parse(sample("expired"))
    assert isinstance(result, Ignored)
    assert "Expired" in result.reason


def test_sample_flat_collection_order_maps_with_its_timestamp():
    notice = parse_one(sample("collection_order"))
    assert (notice.kind, notice.status) == ("payment", "succeeded")
    assert notice.external_id == "IPR-9J4WS2F7H8"
    assert notice.amount == Decimal("25000.00")
    assert notice.currency == "NGN"
    assert notice.references == ("INV-1005", "IPR-9J4WS2F7H8")
    assert notice.destination_account == "9923456782"
    assert notice.method == "bank_transfer"
    assert notice.occurred_at == dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC)


def test_sample_payout_is_ignored():
    result = parse(sample("payout"))
    assert isinstance(result, Ignored)
    assert "payout" in result.reason


def test_sample_payloads_are_fresh_copies():
    FuspayProvider.sample_payloads()["paid_completed"]["data"]["payment"]["status"] = "Refund"
    assert sample("paid_completed")["data"]["payment"]["status"] == "Paid"


# ---------------------------------------------------------------- statuses and ids


@pytest.mark.parametrize(
    ("payment_status", "order_status", "kind", "status"),
    [
        ("Paid", "Completed", "payment", "succeeded"),
        ("Paid", "Mismatched", "payment", "succeeded"),
        ("Paid", "Claimed", "payment", "succeeded"),
        ("Paid", None, "payment", "succeeded"),
        # Money that arrives after the order closed is still money received.
        ("Paid", "Expired", "payment", "succeeded"),
        ("Pending", "Pending", "payment", "pending"),
        ("Pending", "Claimed", "payment", "pending"),
        (None, "Completed", "payment", "succeeded"),
        (None, "Mismatched", "payment", "succeeded"),
        (None, "Claimed", "payment", "pending"),
        ("Refund", "Completed", "refund", "succeeded"),
        ("PAID", "completed", "payment", "succeeded"),
    ],
)
def test_status_mapping(payment_status, order_status, kind, status):
    notice = parse_one(notification(payment_status, order_status))
    assert (notice.kind, notice.status) == (kind, status)


@pytest.mark.parametrize(
    ("payment_status", "order_status", "amount"),
    [
        ("Pending", "Expired", "0.00"),
        ("Pending", "Abandoned", "0.00"),
        (None, "Expired", None),
        (None, "Abandoned", "15000.00"),
        ("Pending", "Pending", "0.00"),
        ("Pending", "Pending", None),
    ],
)
def test_nothing_paid_is_ignored(payment_status, order_status, amount):
    assert isinstance(parse(notification(payment_status, order_status, amount)), Ignored)


def test_without_intrapay_reference_the_key_is_partner_order_id_and_status():
    paid = parse_one(notification(intrapay_order_reference=None))
    pending = parse_one(notification("Pending", "Claimed", intrapay_order_reference=None))
    refund = parse_one(notification("Refund", intrapay_order_reference=None))
    assert paid.external_id == "INV-1001:Paid"
    assert pending.external_id == "INV-1001:Pending"
    assert (refund.external_id, refund.parent_external_id) == ("INV-1001:Refund", "INV-1001:Paid")
    assert paid.references == ("INV-1001",)


def test_a_numeric_partner_order_id_is_read_as_text():
    notice = parse_one(notification(partner_order_id=100234, intrapay_order_reference=None))
    assert notice.references == ("100234",)
    assert notice.external_id == "100234:Paid"


def test_flat_form_mismatched_uses_the_amount_paid_not_the_amount_to_collect():
    payload = {**sample("collection_order"), "status": "Mismatched", "amount_paid": "20000.00"}
    assert parse_one(payload).amount == Decimal("20000.00")
    del payload["amount_paid"]
    assert "amount_paid" in parse_error(payload)


def test_flat_form_without_intrapay_reference_and_with_a_payment_status():
    payload = {**sample("collection_order"), "status": "paid"}
    del payload["intrapay_order_reference"]
    notice = parse_one(payload)
    assert notice.external_id == "INV-1005:Paid"
    assert notice.status == "succeeded"


def test_flat_form_without_a_status_is_refused_rather_than_guessed():
    payload = sample("collection_order")
    del payload["status"]
    assert "status" in parse_error(payload)


def test_unknown_extra_fields_are_accepted():
    payload = notification()
    payload["event_id"] = "evt_1"
    payload["data"]["payment"]["channel"] = "BANK"
    payload["data"]["order_details"]["intrapay_merchant_id"] = "intra_merchant_954512"
    payload["data"]["payment"]["virtual_account"]["bank_code"] = "035"
    assert parse_one(payload).amount == Decimal("15000.00")


# ---------------------------------------------------------------- money


def test_currency_defaults_to_naira_and_is_read_when_given():
    assert parse_one(notification()).currency == "NGN"
    payload = notification()
    payload["data"]["order_details"]["currency"] = "ghs"
    assert parse_one(payload).currency == "GHS"


@pytest.mark.parametrize(
    ("raw_amount", "expected"),
    [
        ("15000.00", Decimal("15000.00")),
        ("15000", Decimal("15000")),
        (" 15000.5 ", Decimal("15000.5")),
        ("15,000.50", Decimal("15000.50")),
    ],
)
def test_string_amounts(raw_amount, expected):
    assert parse_one(notification(amount=raw_amount)).amount == expected


@pytest.mark.parametrize(("json_number", "expected"), [("15000", "15000"), ("15000.50", "15000.50"), ("0.1", "0.1")])
def test_json_number_amounts_are_read_exactly(json_number, expected):
    body = json.dumps(notification(amount="AMOUNT")).replace('"AMOUNT"', json_number).encode()
    (notice,) = parse_body(body)
    assert notice.amount == Decimal(expected)
    assert str(notice.amount) == expected


@pytest.mark.parametrize(
    ("raw_amount", "currency"),
    [
        ("15000.005", "NGN"),
        ("10.5", "JPY"),
        ("-5.00", "NGN"),
        ("0", "NGN"),
        ("lots", "NGN"),
        ("NaN", "NGN"),
        ("1e3", "NGN"),
        (True, "NGN"),
        ({"value": "1"}, "NGN"),
    ],
)
def test_bad_amounts_are_refused_with_the_field_named(raw_amount, currency):
    payload = notification(amount=raw_amount)
    payload["data"]["order_details"]["currency"] = currency
    assert AMOUNT in parse_error(payload)


def test_json_number_with_more_decimals_than_the_currency_is_refused():
    body = json.dumps(notification(amount="AMOUNT")).replace('"AMOUNT"', "100.001").encode()
    with pytest.raises(PayloadError) as error:
        parse_body(body)
    assert AMOUNT in error.value.errors


def test_a_paid_notification_without_an_amount_is_refused():
    assert AMOUNT in parse_error(notification(amount=None))


# ---------------------------------------------------------------- invalid payloads


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p["data"]["payment"].update(status=7), "data.payment.status"),
        (lambda p: p["data"]["order_details"].update(status=["Completed"]), "data.order_details.status"),
        (lambda p: p["data"]["order_details"].update(currency="ABC"), "data.order_details.currency"),
        (lambda p: p["data"]["order_details"].update(partner_order_id=["x"]), "data.order_details.partner_order_id"),
        (lambda p: p["data"].update(payment="Paid"), "data.payment"),
        (lambda p: p.update(data=[1]), "data"),
        (lambda p: p["data"].update(Order_details={"status": "Completed"}), "data.Order_details"),
        (lambda p: p["data"]["order_details"].update(timestamp="yesterday"), "data.order_details.timestamp"),
        (lambda p: p["data"]["order_details"].update(timestamp=1795338903), "data.order_details.timestamp"),
        (lambda p: p["data"]["order_details"].update(updated_at="soon"), "data.order_details.updated_at"),
    ],
)
def test_invalid_fields_are_named_in_the_error(change, field):
    payload = notification()
    change(payload)
    assert field in parse_error(payload)


def test_missing_ids_name_both_fields():
    errors = parse_error(notification(partner_order_id=None, intrapay_order_reference=None))
    assert {"data.order_details.intrapay_order_reference", "data.order_details.partner_order_id"} <= set(errors)


def test_missing_statuses_are_refused():
    assert "data.payment.status" in parse_error(notification(None, None))


def test_a_body_that_is_neither_form_is_unrecognized_and_a_non_object_refused():
    # Signed by Fuspay but of no shape this adapter reads: it may be money, so it is kept
    # (unrecognized) rather than refused as it used to be.
    assert isinstance(parse({"status": "success", "message": "hello"}), Unrecognized)
    with pytest.raises(PayloadError):
        parse([1, 2, 3])


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda p: p["data"]["payment"].update(status="Settled"), "data.payment.status"),
        (lambda p: p["data"]["order_details"].update(status="Done"), "data.order_details.status"),
    ],
)
def test_a_status_fuspay_may_add_later_is_unrecognized_never_refused_or_ignored(change, path):
    payload = notification()
    change(payload)
    result = parse(payload)
    assert isinstance(result, Unrecognized)
    assert path in result.reason


def test_every_status_read_is_declared_with_what_it_carries():
    declared = FuspayProvider.event_types
    assert {declared[s] for s in ("Paid", "Completed", "Mismatched", "Claimed", "Pending")} == {"payment"}
    assert declared["Refund"] == "refund"
    assert {declared[s] for s in ("Expired", "Abandoned", "payout")} == {"no_money"}
    assert FuspayProvider.unrecognized_status == 200


def test_times_in_the_payload_are_used():
    payload = notification()
    payload["data"]["order_details"]["updated_at"] = "2026-11-22T10:15:03+01:00"
    assert parse_one(payload).occurred_at == dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC)
    payload["timestamp"] = "1795338903000"
    assert parse_one(payload).occurred_at == dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC)


# ---------------------------------------------------------------- the canonical form


def test_canonical_json_is_sorted_compact_utf8_without_the_signature():
    payload = {"z": "Adébáyọ̀", "a": {"y": [1, "two", None, True], "b": "x/y"}, "signature": "abc"}
    body = json.dumps(payload, indent=2).encode()  # whitespace and \u escapes on the wire
    expected = json.dumps(
        {k: v for k, v in payload.items() if k != "signature"},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    assert canonical_json(body) == expected


def test_canonical_json_keeps_numbers_as_sent_and_nested_signature_fields():
    body = b'{"b": 15000.50, "a": 1E3, "c": {"signature": "kept"}, "d": -0.0, "signature": "dropped"}'
    assert canonical_json(body) == b'{"a":1E3,"b":15000.50,"c":{"signature":"kept"},"d":-0.0}'


# ---------------------------------------------------------------- through the webhook endpoint


@pytest.fixture
def app(database_url):
    """Only this plugin, so the tests see exactly the Fuspay provider."""
    app = make_app(database_url, plugins=[flux_recon_fuspay])
    yield app
    close_app(app)


def enable(client, tenant, secrets=(MERCHANT_SECRET, PARTNER_SECRET), cidr="127.0.0.1/32") -> dict:
    created = client.post("/api/v1/integrations", json={"provider": "fuspay"}, headers=tenant["headers"])
    assert created.status_code == 201, created.json
    integration = created.json
    for name, value in zip(("merchant_secret", "partner_secret"), secrets, strict=False):
        stored = client.put(
            f"/api/v1/integrations/{integration['id']}/secrets/{name}", json={"value": value}, headers=tenant["headers"]
        )
        assert stored.status_code == 200, stored.json
        assert stored.json["set"] is True
    added = client.post(
        f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": cidr}, headers=tenant["headers"]
    )
    assert added.status_code == 201, added.json
    integration["path"] = "/" + integration["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    return integration


@pytest.fixture
def fuspay(client, tenant):
    return enable(client, tenant)


@pytest.fixture
def post(client, fuspay):
    def send(payload=None, *, key=COLLECTION_KEY, body=None, remote_addr="127.0.0.1"):
        raw = body if body is not None else json.dumps(sign(payload, key) if key else payload).encode()
        return client.post(
            fuspay["path"],
            data=raw,
            headers={"Content-Type": "application/json"},
            environ_base={"REMOTE_ADDR": remote_addr},
        )

    return send


def get_order(client, tenant, order_id):
    return client.get(f"/api/v1/orders/{order_id}", headers=tenant["headers"]).json


def list_payments(client, tenant):
    return client.get("/api/v1/payments", headers=tenant["headers"]).json


def inbox(app):
    with app.app_context():
        rows = list(WebhookEvent.select().order_by(WebhookEvent.id))
    db.close()
    return rows


def test_the_entry_point_names_this_plugin():
    (entry_point,) = [e for e in importlib.metadata.entry_points(group="flux_recon") if e.name == "fuspay"]
    assert entry_point.load() is flux_recon_fuspay


def test_the_provider_lists_its_auth_and_both_required_secrets(client, tenant):
    (provider,) = [p for p in client.get("/api/v1/providers", headers=tenant["headers"]).json if p["name"] == "fuspay"]
    assert [c["name"] for c in provider["credentials"]] == ["merchant_secret", "partner_secret"]
    assert all(c["required"] and not c["generated"] for c in provider["credentials"])
    assert [a["type"] for a in provider["auth"]] == ["ip_allowlist", "body_field_signature"]


def test_a_correctly_signed_paid_notification_pays_the_order(app, client, tenant, create_order, post):
    order = create_order("INV-1001", "15000.00")
    response = post(sample("paid_completed"))
    assert response.status_code == 200, response.json
    assert (response.json["status"], response.json["reconciliation"]) == ("accepted", "matched")
    shown = get_order(client, tenant, order["id"])
    assert (shown["status"], shown["amount_paid"]) == ("paid", "15000.00")
    (payment,) = list_payments(client, tenant)
    assert (payment["provider"], payment["external_id"]) == ("fuspay", "IPR-7F3KQ9X2M1")
    assert payment["destination_account"] == "9923456781"
    (event,) = inbox(app)
    assert (event.verdict, event.credential_id is not None) == ("accepted", True)


def test_the_same_notification_again_is_a_duplicate(client, tenant, create_order, post):
    order = create_order("INV-1001", "15000.00")
    first = post(sample("paid_completed"))
    again = post(sample("paid_completed"))
    assert again.status_code == 200
    assert (again.json["status"], again.json["payment_id"]) == ("duplicate", first.json["payment_id"])
    assert get_order(client, tenant, order["id"])["amount_paid"] == "15000.00"


def test_mismatched_underpayment_leaves_the_order_partially_paid(client, tenant, create_order, post):
    order = create_order("INV-1002", "15000.00")
    response = post(sample("paid_mismatched"))
    assert response.json["reconciliation"] == "matched", response.json
    shown = get_order(client, tenant, order["id"])
    assert (shown["status"], shown["amount_paid"], shown["outstanding"]) == ("partially_paid", "12000.00", "3000.00")


def test_pending_then_paid_is_one_payment_applied_once(client, tenant, create_order, post):
    order = create_order("INV-1003", "15000.00")
    pending = post(sample("pending_claimed"))
    assert pending.json["reconciliation"] == "not_applicable", pending.json
    assert get_order(client, tenant, order["id"])["status"] == "open"
    paid = notification("Paid", "Completed", partner_order_id="INV-1003", intrapay_order_reference="IPR-2C9VN6T8W3")
    assert post(paid).json["status"] == "accepted"
    assert post(paid).json["status"] == "duplicate"
    assert get_order(client, tenant, order["id"])["status"] == "paid"
    (payment,) = list_payments(client, tenant)
    assert payment["status"] == "succeeded"


def test_refund_releases_the_payment_of_its_order(client, tenant, create_order, post):
    order = create_order("INV-1001", "15000.00")
    paid = post(sample("paid_completed"))
    refund = post(sample("refund"))
    assert refund.status_code == 200, refund.json
    assert refund.json["status"] == "accepted"
    assert get_order(client, tenant, order["id"])["status"] == "open"
    payment = client.get(f"/api/v1/payments/{paid.json['payment_id']}", headers=tenant["headers"]).json
    assert (payment["status"], payment["refunded"]) == ("refunded", "15000.00")
    assert post(sample("refund")).json["status"] == "duplicate"


def test_a_refund_that_arrives_first_is_applied_when_its_payment_arrives(client, tenant, create_order, post):
    order = create_order("INV-1001", "15000.00")
    assert post(sample("refund")).json["reconciliation"] == "orphan"
    post(sample("paid_completed"))
    shown = get_order(client, tenant, order["id"])
    assert (shown["status"], shown["amount_paid"]) == ("open", "0.00")


def test_the_virtual_account_paid_into_matches_an_order(client, tenant, create_order, post):
    order = create_order("SO-77", "15000.00", virtual_account="9923456781")
    response = post(sample("paid_completed"))
    assert response.json["reconciliation"] == "matched", response.json
    assert get_order(client, tenant, order["id"])["status"] == "paid"


@pytest.mark.parametrize("name", ["expired", "payout"])
def test_events_without_a_payment_answer_200_ignored_and_are_kept_in_the_inbox(app, client, tenant, post, name):
    key = MERCHANT_SECRET if name == "payout" else COLLECTION_KEY
    response = post(sample(name), key=key)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ignored"
    assert response.json["payment_id"] is None
    assert list_payments(client, tenant) == []
    (event,) = inbox(app)
    assert (event.verdict, event.http_status) == ("ignored", 200)
    assert event.reason == response.json["reason"]


def test_a_bad_amount_is_a_422_naming_the_field(post):
    response = post(notification(amount="15000.005"))
    assert response.status_code == 422, response.json
    assert AMOUNT in response.json["errors"]


# ---------------------------------------------------------------- auth


def assert_refused(app, client, tenant, response, status, verdict):
    assert response.status_code == status, response.json
    assert response.json["code"] == status
    assert list_payments(client, tenant) == []
    assert inbox(app)[-1].verdict == verdict


def test_a_collection_signed_with_the_merchant_secret_alone_is_refused(app, client, tenant, create_order, post):
    create_order("INV-1001", "15000.00")
    assert_refused(app, client, tenant, post(sample("paid_completed"), key=MERCHANT_SECRET), 401, "rejected_signature")


def test_a_collection_signed_with_the_secrets_in_the_wrong_order_is_refused(app, client, tenant, post):
    response = post(sample("paid_completed"), key=PARTNER_SECRET + MERCHANT_SECRET)
    assert_refused(app, client, tenant, response, 401, "rejected_signature")


def test_a_payout_signed_with_merchant_and_partner_secrets_is_refused(app, client, tenant, post):
    assert_refused(app, client, tenant, post(sample("payout"), key=COLLECTION_KEY), 401, "rejected_signature")


def test_a_collection_dressed_as_a_payout_never_records_a_payment(app, client, tenant, create_order, post):
    """The merchant secret alone verifies a payout; what it verifies is ignored, even with collection fields."""
    order = create_order("INV-1001", "15000.00")
    disguised = sample("paid_completed")
    disguised["data"]["withdrawal_reference"] = "P1795337103000KXYZab"
    response = post(disguised, key=MERCHANT_SECRET)
    assert (response.status_code, response.json["status"]) == (200, "ignored")
    assert list_payments(client, tenant) == []
    assert get_order(client, tenant, order["id"])["status"] == "open"


def test_a_tampered_body_is_refused(app, client, tenant, post):
    signed = sign(sample("paid_completed"), COLLECTION_KEY)
    signed["data"]["payment"]["virtual_account"]["amount"] = "150000.00"
    assert_refused(app, client, tenant, post(body=json.dumps(signed).encode()), 401, "rejected_signature")


@pytest.mark.parametrize("signature", [None, "", 12345])
def test_a_missing_or_non_string_signature_is_refused(app, client, tenant, post, signature):
    payload = sample("paid_completed")
    if signature is not None:
        payload["signature"] = signature
    assert_refused(app, client, tenant, post(payload, key=None), 401, "rejected_signature")


def test_a_wrong_key_is_refused(app, client, tenant, post):
    assert_refused(app, client, tenant, post(sample("paid_completed"), key="not-the-key"), 401, "rejected_signature")


def test_an_address_off_the_allow_list_is_refused_even_when_signed(app, client, tenant, post):
    response = post(sample("paid_completed"), remote_addr="127.0.0.9")
    assert_refused(app, client, tenant, response, 403, "rejected_address")


def test_without_both_secrets_nothing_is_accepted(app, client, tenant):
    integration = enable(client, tenant, secrets=(MERCHANT_SECRET,))
    response = client.post(
        integration["path"],
        data=json.dumps(sign(sample("paid_completed"), COLLECTION_KEY)).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 401, response.json
    assert "partner_secret" in response.json["message"]


def test_an_upper_case_hex_signature_is_accepted(client, tenant, create_order, post):
    signed = sign(sample("paid_completed"), COLLECTION_KEY)
    signed["signature"] = signed["signature"].upper()
    assert post(body=json.dumps(signed).encode()).json["status"] == "accepted"


def test_numbers_are_verified_as_sent(client, tenant, create_order, post):
    """A JSON number is signed with its exact text: 15000.50 stays 15000.50, never 15000.5."""
    create_order("INV-1001", "15000.50")
    payload = notification(amount="AMOUNT")
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).replace('"AMOUNT"', "15000.50").encode()
    as_sent = json.dumps({**payload, "signature": "SIG"}).replace('"AMOUNT"', "15000.50")

    rounded = canonical.replace(b"15000.50", b"15000.5")
    refused = post(body=as_sent.replace("SIG", hmac_hex(COLLECTION_KEY, rounded)).encode())
    assert refused.status_code == 401, refused.json

    accepted = post(body=as_sent.replace("SIG", hmac_hex(COLLECTION_KEY, canonical)).encode())
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["reconciliation"] == "matched"
    (payment,) = list_payments(client, tenant)
    assert payment["amount"] == "15000.50"


def test_malformed_json_is_a_400(post):
    response = post(body=b'{"data": ')
    assert response.status_code == 400, response.json
