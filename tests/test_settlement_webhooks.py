"""Settlement webhooks: Monnify's SETTLEMENT mapped onto a SettlementNotice and recorded with the inbox record."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

import flux_recon_monnify
from flux_recon import PayloadError, SettlementNotice, WebhookRequest
from flux_recon.models import Payment, WebhookEvent
from flux_recon.models.settlement import Settlement, SettlementLine
from flux_recon_monnify.provider import MonnifyProvider
from tests.conftest import close_app, make_app
from tests.monnify_settlements import payment_webhook, settlement_webhook


def parse(payload):
    return MonnifyProvider().parse(WebhookRequest(body=json.dumps(payload).encode()))


def field_errors(payload) -> dict:
    with pytest.raises(PayloadError) as error:
        parse(payload)
    return error.value.errors


# --- the mapping ----------------------------------------------------------------------------


def test_settlement_sample_is_a_settlement_with_its_transaction_as_the_webhooks_name_it():
    result = parse(MonnifyProvider.sample_payloads()["settlement"])
    assert isinstance(result, SettlementNotice)
    (record,) = result.records
    assert record.reference == "LB8HG1PNZT4ATJGZXQBY"
    # 22/11/2026 10:00:00 PM Lagos time.
    assert record.settled_at == dt.datetime(2026, 11, 22, 21, 0, tzinfo=dt.UTC)
    assert (record.currency, record.gross, record.fees, record.net) == (
        "NGN",
        Decimal("20000.00"),
        Decimal("50.00"),
        Decimal("19950.00"),
    )
    assert (record.destination_account, record.destination_bank) == ("6000000249", "Fidelity Bank")
    (line,) = record.lines
    # The id Monnify's SUCCESSFUL_TRANSACTION carries: a recovered payment and its webhook are one.
    assert line.transaction_id == "MNFY|04|20261122091842|000170"
    assert (line.amount, line.fee, line.net_amount) == (Decimal("20000.00"), Decimal("50.00"), Decimal("19950.00"))
    assert (line.reference, line.payer_email) == ("INV-1002", "ada@example.com")
    assert line.paid_at == dt.datetime(2026, 11, 22, 8, 18, 42, tzinfo=dt.UTC)


def test_the_older_form_without_transactions_is_the_header_alone():
    (record,) = parse(MonnifyProvider.sample_payloads()["settlement_header_only"]).records
    assert (record.reference, record.lines) == ("KQ2ZB7TR9PLM3XW4NC8D", ())
    # Without its transactions the gross and fees are unknown: the lines (from the API) give them,
    # and their net must add up to the amount Monnify paid out.
    assert (record.gross, record.fees, record.net) == (None, None, Decimal("9975.00"))


def test_one_transaction_without_its_settlement_amount_takes_the_settlements_fee():
    payload = settlement_webhook("S-1", [("MNFY|1", "INV-1", "1234.00", "35.00")])
    del payload["eventData"]["transactions"][0]["settlementAmount"]
    (record,) = parse(payload).records
    assert (record.lines[0].fee, record.fees, record.net) == (Decimal("35.00"), Decimal("35.00"), Decimal("1199.00"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"settlementReference": None}, "eventData.settlementReference"),
        ({"amount": "19950.001"}, "eventData.amount"),
        ({"settlementTime": "yesterday"}, "eventData.settlementTime"),
        ({"transactions": "all of them"}, "eventData.transactions"),
    ],
)
def test_a_bad_settlement_names_its_field(change, field):
    payload = MonnifyProvider.sample_payloads()["settlement"]
    for key, value in change.items():
        if value is None:
            del payload["eventData"][key]
        else:
            payload["eventData"][key] = value
    assert field in field_errors(payload)


def test_a_transaction_that_did_not_pay_cannot_be_settled():
    payload = settlement_webhook("S-1", [("MNFY|1", "INV-1", "1000.00", "10.00")])
    payload["eventData"]["transactions"][0]["paymentStatus"] = "FAILED"
    assert "eventData.transactions[0].paymentStatus" in field_errors(payload)


# --- through /webhooks/monnify --------------------------------------------------------------


@pytest.fixture
def app(database_url):
    app = make_app(database_url, plugins=[flux_recon_monnify])
    yield app
    close_app(app)


@pytest.fixture
def integration(client, tenant):
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
def post(client, integration):
    def post_(payload):
        return client.post(
            integration["path"],
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )

    return post_


THREE = [
    ("MNFY|01|20261122|000001", "INV-1", "10000.00", "100.00"),
    ("MNFY|01|20261122|000002", "INV-2", "20000.00", "200.00"),
    ("MNFY|01|20261122|000003", "INV-3", "5000.00", "50.00"),  # its webhook never comes
]


def test_a_settlement_recovers_the_payment_whose_webhook_never_came(app, client, tenant, create_order, post):
    for _, order, amount, _ in THREE + [("", "INV-4", "7000.00", "")]:
        create_order(reference=order, amount=amount)
    for transaction_id, order, amount, fee in THREE[:2]:
        assert post(payment_webhook(transaction_id, order, amount, fee)).json["status"] == "accepted"
    # Paid, not yet settled.
    assert post(payment_webhook("MNFY|01|20261122|000004", "INV-4", "7000.00", "70.00")).json["status"] == "accepted"

    response = post(settlement_webhook("SETTLE-1", THREE))
    assert response.status_code == 200, response.json
    assert response.json["status"] == "accepted"
    assert response.json["settlement"]["payments_recovered"] == 1
    assert response.json["settlement"]["lines_added"] == 3
    (settlement_id,) = response.json["settlement_ids"]

    payments = client.get("/api/v1/payments?per_page=50", headers=tenant["headers"]).json
    assert len(payments) == 4
    recovered = Payment.select().where(Payment.recovered_from.is_null(False))
    assert [(p.external_id, p.recovered_from) for p in recovered] == [
        ("MNFY|01|20261122|000003", f"settlement:{settlement_id}")
    ]
    orders = {o["reference"]: o["status"] for o in client.get("/api/v1/orders", headers=tenant["headers"]).json}
    assert orders == {"INV-1": "paid", "INV-2": "paid", "INV-3": "paid", "INV-4": "paid"}
    settlement = client.get(f"/api/v1/settlements/{settlement_id}", headers=tenant["headers"]).json
    assert (settlement["status"], settlement["gross"], settlement["fees"], settlement["net"]) == (
        "reconciled",
        "35000.00",
        "350.00",
        "34650.00",
    )
    assert settlement["sources"] == ["webhook"]
    (event,) = WebhookEvent.select().where(WebhookEvent.verdict == "accepted", WebhookEvent.payment.is_null())
    assert "1 payment(s) recovered" in event.reason

    # The same SETTLEMENT again: nothing new.
    again = post(settlement_webhook("SETTLE-1", THREE))
    assert (again.status_code, again.json["status"]) == (200, "duplicate")
    assert again.json["settlement_ids"] == [settlement_id]
    assert Settlement.select().count() == 1 and SettlementLine.select().count() == 3

    # The recovered payment's webhook, late: the same payment.
    late = post(payment_webhook(*THREE[2]))
    assert late.json["status"] == "duplicate"
    assert Payment.select().count() == 4


def test_a_header_only_settlement_waits_for_its_lines_and_is_a_duplicate_when_resent(client, tenant, post):
    payload = MonnifyProvider.sample_payloads()["settlement_header_only"]
    first = post(payload)
    assert first.json["status"] == "accepted", first.json
    (settlement_id,) = first.json["settlement_ids"]
    settlement = client.get(f"/api/v1/settlements/{settlement_id}", headers=tenant["headers"]).json
    assert (settlement["status"], settlement["line_count"]) == ("awaiting_lines", 0)
    assert post(payload).json["status"] == "duplicate"


def test_a_settlement_listing_new_lines_is_accepted_again(client, tenant, create_order, post):
    for _, order, amount, _ in THREE:
        create_order(reference=order, amount=amount)
    assert post(settlement_webhook("SETTLE-2", THREE[:2])).json["status"] == "accepted"
    extended = post(settlement_webhook("SETTLE-2", THREE))
    assert extended.json["status"] == "accepted"
    assert extended.json["settlement"]["lines_added"] == 1
    assert SettlementLine.select().count() == 3


def test_a_settlement_that_cannot_be_recorded_is_422_and_records_nothing(app, post):
    payload = settlement_webhook("SETTLE-3", THREE)
    payload["eventData"]["transactions"][1]["amountPaid"] = "-5"
    response = post(payload)
    assert response.status_code == 422
    assert "eventData.transactions[1].amountPaid" in response.json["errors"]
    (event,) = WebhookEvent.select()
    assert event.verdict == "invalid_payload"
    assert Settlement.select().count() == 0 and Payment.select().count() == 0


def test_a_replayed_settlement_webhook_is_a_duplicate(app, client, tenant, post):
    post(settlement_webhook("SETTLE-4", THREE))
    (event,) = WebhookEvent.select()
    replay = client.post(f"/api/v1/webhook-events/{event.id}/replay", headers=tenant["headers"])
    assert replay.status_code == 200, replay.json
    assert replay.json["result"]["status"] == "duplicate"
    assert Settlement.select().count() == 1 and Payment.select().count() == 3
