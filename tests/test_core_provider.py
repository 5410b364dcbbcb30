"""The Fluxvend core payload mapped onto a PaymentNotice."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from flux_recon import PayloadError, Unrecognized, WebhookRequest
from flux_recon_core.provider import CoreProvider
from tests.conftest import core_payload


def parse(payload):
    return CoreProvider().parse(WebhookRequest(body=json.dumps(payload).encode()))


def test_fields_map_onto_the_notice():
    (notice,) = parse(core_payload("tn_1", orderRef="ORD-9"))
    assert notice.external_id == "TRX-0001"
    assert notice.amount == Decimal("15000.00")
    assert notice.currency == "NGN"
    assert notice.references == ("ORD-9", "INV-1001")  # the explicit order reference first
    assert notice.method == "bank_transfer"
    assert notice.status == "succeeded"
    assert notice.occurred_at == dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC)
    assert notice.tenant_hint == "tn_1"
    assert notice.payer.customer_id == "C-77"
    assert notice.payer.email == "ada@example.com"
    assert notice.payer.account_number == "0123456789"
    assert notice.payer.bank == "Guaranty Trust Bank"


def test_a_json_number_amount_stays_exact():
    body = json.dumps(core_payload("tn_1")).replace('"15000.00"', "15000.10").encode()
    (notice,) = CoreProvider().parse(WebhookRequest(body=body))
    assert notice.amount == Decimal("15000.10")


def test_naive_transaction_date_is_lagos_time():
    (notice,) = parse(core_payload("tn_1", transactionDate="2026-11-22 10:00:00"))
    assert notice.occurred_at == dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def test_currency_defaults_to_naira():
    payload = core_payload("tn_1")
    del payload["currency"]
    (notice,) = parse(payload)
    assert notice.currency == "NGN"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"transactionRef": None}, "transactionRef"),
        ({"tenantId": None}, "tenantId"),
        ({"amount": None}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"currency": "ABC"}, "currency"),
        ({"transactionDate": "yesterday"}, "transactionDate"),
        ({"status": "maybe"}, "status"),
        ({"customer": "Ada"}, "customer"),
        ({"transactionRef": {"nested": True}}, "transactionRef"),
        ({"paymentRef": "x" * 201}, "paymentRef"),
    ],
)
def test_invalid_fields_are_named_in_the_error(changes, field):
    payload = core_payload("tn_1", **changes)  # a None value removes the field
    with pytest.raises(PayloadError) as error:
        parse(payload)
    assert field in error.value.errors


def test_missing_required_fields_are_all_reported_at_once():
    with pytest.raises(PayloadError) as error:
        parse({"paymentRef": "INV-1"})
    assert {"tenantId", "transactionRef", "amount", "transactionDate"} <= set(error.value.errors)


def test_a_body_that_is_not_an_object_is_refused():
    with pytest.raises(PayloadError):
        parse([1, 2, 3])


def test_sample_payload_parses():
    for sample in CoreProvider.sample_payloads().values():
        (notice,) = parse(sample)
        assert notice.amount > 0


def test_a_signed_body_of_another_shape_is_unrecognized_not_refused():
    """Fluxvend's webhook has one shape and no type field: a body with none of its fields is
    something newer, kept as unrecognized (it may be money), never ignored."""
    result = parse({"event": "settlement.completed", "data": {"total": "15000.00"}})
    assert isinstance(result, Unrecognized)
    assert "none of tenantId, transactionRef" in result.reason
    assert CoreProvider.event_types == {"payment": "payment"}


def test_such_a_webhook_is_answered_200_and_kept_as_unrecognized(client, tenant, post_core):
    answer = post_core({"event": "settlement.completed", "tenantId_": tenant["tenant_id"]})
    assert (answer.status_code, answer.json["status"]) == (200, "unrecognized"), answer.json
    listed = client.get("/api/v1/webhook-events?verdict=unrecognized", headers=tenant["headers"]).json
    assert [e["http_status"] for e in listed] == [200]
