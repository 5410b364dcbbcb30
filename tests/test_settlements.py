"""Settlements: statement imports (Paystack payout export, generic CSV), three-way matching, recovered
payments, breaks, the not-in-settlement sweep and the settlement report; over the REST API."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest

from flux_recon.models import AuditEntry, OutboundEvent, Payment, Settlement, SettlementLine, db
from flux_recon.models.settlement import SettlementState
from flux_recon.providers.settlements import SettlementLineRecord, SettlementRecord
from flux_recon.services import settlements
from flux_recon_paystack.provider import PaystackProvider

SECRET = "sk_test_settlements_0123456789"
PAYSTACK_HEADER = (
    "Reference number,Transaction date,Customer email,Amount paid,Paystack fee,Amount due to merchant,"
    "Settlement date,Gateway response,Customer full name,Transaction ID,Card type,Card bank,Country code,"
    "Currency,Subaccount,Subaccount due"
)


def paystack_row(reference, amount="15000.00", fee="325.00", net="14675.00", settled="2026-11-23", **extra):
    paid = extra.get("paid", "2026-11-22 10:15:03")
    email = extra.get("email", "ada@example.com")
    currency = extra.get("currency", "NGN")
    card = "Successful,Ada Obi,4099260516,visa,,NG"
    return f"{reference},{paid},{email},{amount},{fee},{net},{settled},{card},{currency},,"


def paystack_csv(*rows) -> bytes:
    return ("\n".join([PAYSTACK_HEADER, *rows]) + "\n").encode()


@pytest.fixture
def paystack(client, tenant):
    """A Paystack integration of the tenant, with its secret set and 127.0.0.1 allowed."""
    headers = tenant["headers"]
    enabled = client.post("/api/v1/integrations", json={"provider": "paystack"}, headers=headers)
    assert enabled.status_code == 201, enabled.json
    base = f"/api/v1/integrations/{enabled.json['id']}"
    assert client.put(f"{base}/secrets/secret_key", json={"value": SECRET}, headers=headers).status_code == 200
    assert client.post(f"{base}/allowlist", json={"cidr": "127.0.0.1/32"}, headers=headers).status_code == 201
    return {"id": enabled.json["id"], "path": "/" + enabled.json["webhook_url"].split("://", 1)[1].split("/", 1)[1]}


def post_charge(client, paystack, reference, amount_kobo=1500000, fees_kobo=32500, paid_at="2026-11-22T09:15:03Z"):
    payload = PaystackProvider.sample_payloads()["charge_success"]
    payload["data"].update(reference=reference, amount=amount_kobo, fees=fees_kobo, paid_at=paid_at)
    webhook = PaystackProvider.sign(payload, {"secret_key": SECRET})
    return client.post(paystack["path"], data=webhook.body, headers=dict(webhook.headers))


def import_file(client, tenant, integration_id, body, *, fmt="paystack_payout", content_type="text/csv", **query):
    params = "&".join(f"{k}={v}" for k, v in {"integration_id": integration_id, "format": fmt, **query}.items())
    return client.post(
        f"/api/v1/settlements/imports?{params}",
        data=body,
        headers={**tenant["headers"], "Content-Type": content_type},
    )


def test_a_paystack_payout_imported_twice_is_one_settlement(client, tenant, paystack, create_order):
    create_order("INV-1", amount="15000.00")
    create_order("INV-2", amount="8000.00")
    assert post_charge(client, paystack, "INV-1").json["status"] == "accepted"
    assert post_charge(client, paystack, "INV-2", amount_kobo=800000, fees_kobo=12000).status_code == 200
    statement = paystack_csv(paystack_row("INV-1"), paystack_row("INV-2", "8000.00", "120.00", "7880.00"))

    first = import_file(client, tenant, paystack["id"], statement)
    assert first.status_code == 200, first.json
    assert first.json["lines_added"] == 2 and first.json["payments_settled"] == 2
    assert first.json["payments_recovered"] == 0 and first.json["breaks_found"] == 0
    again = import_file(client, tenant, paystack["id"], statement)
    assert again.status_code == 200, again.json
    assert (again.json["lines_added"], again.json["lines_known"], again.json["payments_settled"]) == (0, 2, 0)
    assert again.json["settlements"] == first.json["settlements"]

    listed = client.get("/api/v1/settlements", headers=tenant["headers"]).json
    assert len(listed) == 1
    (settlement,) = listed
    assert (settlement["reference"], settlement["currency"]) == ("2026-11-23/NGN", "NGN")
    assert (settlement["gross"], settlement["fees"], settlement["net"]) == ("23000.00", "445.00", "22555.00")
    assert settlement["status"] == "reconciled" and settlement["sources"] == ["statement"]
    detail = client.get(f"/api/v1/settlements/{settlement['id']}", headers=tenant["headers"]).json
    assert [line["transaction_id"] for line in detail["lines"]] == ["INV-1", "INV-2"]
    assert all(line["payment_id"] and not line["recovered"] for line in detail["lines"])
    assert detail["breaks"] == []
    with client.application.app_context():
        assert {p.settlement_state for p in Payment.select()} == {SettlementState.SETTLED}
    db.close()


def test_a_malformed_statement_is_refused_whole_naming_its_lines(client, tenant, paystack):
    statement = paystack_csv(
        paystack_row("INV-1"),
        paystack_row("INV-2", amount="15O00.00"),
        paystack_row("INV-3", settled="23/11/2026"),
        paystack_row("", currency="XYZ"),
    )
    refused = import_file(client, tenant, paystack["id"], statement)
    assert refused.status_code == 422, refused.json
    errors = refused.json["errors"]["statement"]
    assert list(errors["line 3"]) == ["Amount paid"]
    assert list(errors["line 4"]) == ["Settlement date"]
    assert set(errors["line 5"]) == {"Currency", "Reference number"}
    assert "line 2" not in errors
    with client.application.app_context():
        assert Settlement.select().count() == 0 and SettlementLine.select().count() == 0
    db.close()


def test_a_statement_missing_a_column_is_refused(client, tenant, paystack):
    statement = b"Reference number,Amount paid\nINV-1,15000.00\n"
    refused = import_file(client, tenant, paystack["id"], statement)
    assert refused.status_code == 422
    assert set(refused.json["errors"]["statement"]["line 1"]) == {
        "Paystack fee",
        "Amount due to merchant",
        "Settlement date",
        "Currency",
    }


def test_a_settled_line_without_its_webhook_recovers_the_payment_and_pays_the_order(
    client, app, tenant, paystack, create_order
):
    order = create_order("INV-9", amount="15000.00")
    imported = import_file(client, tenant, paystack["id"], paystack_csv(paystack_row("INV-9")))
    assert imported.status_code == 200, imported.json
    assert imported.json["payments_recovered"] == 1 and imported.json["payments_settled"] == 1

    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json["status"] == "paid"
    (payment,) = client.get("/api/v1/payments", headers=tenant["headers"]).json
    assert (payment["external_id"], payment["amount"], payment["fee"]) == ("INV-9", "15000.00", "325.00")
    settlement_id = imported.json["settlements"][0]
    with app.app_context():
        row = Payment.get_by_id(payment["id"])
        assert row.recovered_from == f"settlement:{settlement_id}"
        assert row.settlement_state == SettlementState.SETTLED
        audit = AuditEntry.get(AuditEntry.action == "payment.recovered")
        assert audit.details["source"] == "statement" and audit.details["reason"] == "missing_webhook"
    db.close()

    # The webhook that never came arrives after all: a duplicate, never a second payment.
    late = post_charge(client, paystack, "INV-9")
    assert late.status_code == 200 and late.json["status"] == "duplicate", late.json
    assert late.json["payment_id"] == payment["id"]
    assert len(client.get("/api/v1/payments", headers=tenant["headers"]).json) == 1
    assert client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"]).json["amount_paid"] == "15000.00"


def test_line_amount_fee_and_net_differing_from_the_payment_are_breaks(client, app, tenant, paystack):
    assert post_charge(client, paystack, "INV-5", amount_kobo=1500000, fees_kobo=32500).status_code == 200
    statement = paystack_csv(paystack_row("INV-5", amount="14000.00", fee="300.00", net="13700.00"))
    imported = import_file(client, tenant, paystack["id"], statement)
    assert imported.status_code == 200, imported.json
    assert imported.json["breaks_found"] == 2  # amount and fee (the webhook gave no net)
    settlement = client.get(f"/api/v1/settlements/{imported.json['settlements'][0]}", headers=tenant["headers"]).json
    assert settlement["status"] == "with_breaks" and settlement["break_count"] == 2
    by_kind = {b["kind"]: b for b in settlement["breaks"]}
    assert (by_kind["amount_differs"]["settlement_value"], by_kind["amount_differs"]["ledger_value"]) == (
        "14000.00",
        "15000.00",
    )
    assert (by_kind["fee_differs"]["settlement_value"], by_kind["fee_differs"]["ledger_value"]) == ("300.00", "325.00")
    assert "14000.00" in by_kind["amount_differs"]["message"] and "15000.00" in by_kind["amount_differs"]["message"]


def test_a_transaction_in_two_settlements_is_a_break(client, tenant, paystack):
    assert post_charge(client, paystack, "INV-6").status_code == 200
    first = import_file(client, tenant, paystack["id"], paystack_csv(paystack_row("INV-6", settled="2026-11-23")))
    second = import_file(client, tenant, paystack["id"], paystack_csv(paystack_row("INV-6", settled="2026-11-24")))
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json["breaks_found"] == 1 and second.json["payments_settled"] == 0
    breaks = client.get(f"/api/v1/settlements/{second.json['settlements'][0]}/breaks", headers=tenant["headers"]).json
    assert [b["kind"] for b in breaks] == ["in_two_settlements"]
    assert str(first.json["settlements"][0]) in breaks[0]["message"]


def test_totals_that_the_lines_do_not_add_up_to_are_a_break(app, tenant, paystack):
    record = SettlementRecord(
        reference="MFY-1",
        settled_at=dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC),
        currency="NGN",
        gross=Decimal("20000.00"),
        fees=Decimal("300.00"),
        net=Decimal("19700.00"),
        lines=(SettlementLineRecord(transaction_id="T-1", amount=Decimal("15000.00"), fee=Decimal("225.00")),),
    )
    with app.app_context():
        from flux_recon.models import Integration

        integration = Integration.get_by_id(paystack["id"])
        summary = settlements.record_settlements(
            tenant["tenant_id"],
            integration,
            [record],
            source="webhook",
            engine=app.extensions["engine"],
            plugin_manager=app.extensions["plugin_manager"],
        )
        settlement = Settlement.get_by_id(summary.settlements[0])
        kinds = [(b.kind, b.settlement_value, b.ledger_value) for b in settlement.break_rows]
    db.close()
    assert ("totals_differ", "20000.00", "15000.00") in kinds
    assert ("totals_differ", "300.00", "225.00") in kinds
    assert ("totals_differ", "19700.00", "14775.00") in kinds
    assert settlement.status == "with_breaks" and summary.payments_recovered == 1


def test_a_payment_past_its_cycle_is_not_in_settlement(client, app, tenant, paystack):
    # Tracked from the first settlement's earliest line: INV-1 (settled) on Sunday 22 November.
    assert post_charge(client, paystack, "INV-1", paid_at="2026-11-22T09:00:00Z").status_code == 200
    assert post_charge(client, paystack, "INV-7", paid_at="2026-11-23T09:00:00Z").status_code == 200  # a Monday
    assert import_file(client, tenant, paystack["id"], paystack_csv(paystack_row("INV-1"))).status_code == 200

    def state():
        with app.app_context():
            return Payment.get(Payment.external_id == "INV-7").settlement_state

    # Paystack: the next working day (Tuesday 24th), then 24 hours' grace: due Thursday 26th 00:00 UTC.
    with app.app_context():
        before = settlements.sweep_unsettled(now=dt.datetime(2026, 11, 25, 23, 59, tzinfo=dt.UTC))
    assert (before.awaiting, before.not_in_settlement) == (1, 0) and state() == SettlementState.AWAITING
    with app.app_context():
        after = settlements.sweep_unsettled(now=dt.datetime(2026, 11, 26, 0, 0, 1, tzinfo=dt.UTC))
        assert AuditEntry.select().where(AuditEntry.action == "payment.not_in_settlement").count() == 1
    db.close()
    assert after.not_in_settlement == 1 and state() == SettlementState.NOT_IN_SETTLEMENT

    report = client.get("/api/v1/reports/settlements", headers=tenant["headers"]).json["rows"]
    row = next(r for r in report if r["day"] == "2026-11-23")
    assert (row["not_in_settlement"], row["not_in_settlement_amount"]) == (1, "15000.00")

    # Settled after all, late: the state follows.
    late = paystack_csv(paystack_row("INV-7", settled="2026-11-27"))
    assert import_file(client, tenant, paystack["id"], late).json["payments_settled"] == 1
    assert state() == SettlementState.SETTLED


def test_settlement_due_counts_working_days():
    grace = dt.timedelta(hours=0)
    friday = dt.datetime(2026, 11, 27, 15, tzinfo=dt.UTC)
    saturday = dt.datetime(2026, 11, 28, 15, tzinfo=dt.UTC)
    assert settlements.settlement_due(friday, 0, grace) == dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    assert settlements.settlement_due(friday, 1, grace) == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # Monday's end
    assert settlements.settlement_due(saturday, 0, grace) == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert settlements.settlement_due(saturday, 1, dt.timedelta(hours=24)) == dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


def test_the_settlement_report_per_provider_and_day(client, tenant, paystack, create_order):
    create_order("INV-1", amount="15000.00")
    assert post_charge(client, paystack, "INV-1").status_code == 200
    statement = paystack_csv(paystack_row("INV-1"), paystack_row("INV-2", "8000.00", "120.00", "7880.00"))
    assert import_file(client, tenant, paystack["id"], statement).status_code == 200
    rows = client.get("/api/v1/reports/settlements", headers=tenant["headers"]).json["rows"]
    settled = next(r for r in rows if r["day"] == "2026-11-23")
    assert settled == {
        "provider": "paystack",
        "day": "2026-11-23",
        "currency": "NGN",
        "settlements": 1,
        "lines": 2,
        "gross": "23000.00",
        "fees": "445.00",
        "net": "22555.00",
        "missing_webhooks": 1,
        "awaiting": 0,
        "awaiting_amount": "0.00",
        "not_in_settlement": 0,
        "not_in_settlement_amount": "0.00",
    }


def test_events_and_tenant_isolation(client, app, tenant, other_tenant, paystack):
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
    created = client.post(
        "/api/v1/subscriptions",
        json={
            "label": "books",
            "url": "http://127.0.0.1:9/flux",
            "events": ["settlement.received", "settlement.break_found", "payment.settled"],
            "authentication": {"type": "none"},
            "signature": {"type": "none"},
        },
        headers=tenant["headers"],
    )
    assert created.status_code == 201, created.json
    assert post_charge(client, paystack, "INV-1", amount_kobo=1400000).status_code == 200
    imported = import_file(client, tenant, paystack["id"], paystack_csv(paystack_row("INV-1")))
    settlement_id = imported.json["settlements"][0]
    with app.app_context():
        types = sorted(e.event_type for e in OutboundEvent.select())
    db.close()
    assert types == ["payment.settled", "settlement.break_found", "settlement.received"]

    other = other_tenant["headers"]
    assert client.get(f"/api/v1/settlements/{settlement_id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/settlements/{settlement_id}/lines", headers=other).status_code == 404
    assert client.get("/api/v1/settlements", headers=other).json == []
    assert client.get("/api/v1/reports/settlements", headers=other).json == {"rows": []}
    refused = import_file(client, other_tenant, paystack["id"], paystack_csv(paystack_row("INV-1")))
    assert refused.status_code == 404


def test_generic_csv_with_a_saved_mapping(client, app, tenant, paystack, create_order):
    base = f"/api/v1/settlements/mappings/{paystack['id']}"
    bad = client.put(base, json={"columns": {"amount": "Amt", "colour": "C"}}, headers=tenant["headers"])
    assert bad.status_code == 422
    assert "colour" in bad.json["errors"]["json"]["columns"]
    missing = client.put(base, json={"columns": {"amount": "Amt"}}, headers=tenant["headers"])
    assert missing.status_code == 422 and "columns.transaction_id" in missing.json["errors"]["json"]
    mapping = {
        "columns": {"transaction_id": "Txn", "amount": "Amt", "fee": "Fee", "reference": "Ref", "paid_at": "When"},
        "currency": "NGN",
        "amounts_in": "minor",
        "delimiter": ";",
        "utc_offset": "+01:00",
    }
    saved = client.put(base, json=mapping, headers=tenant["headers"])
    assert saved.status_code == 200, saved.json
    assert client.get(base, headers=tenant["headers"]).json["columns"]["transaction_id"] == "Txn"

    create_order("INV-3", amount="2500.50")
    body = b"Txn;Amt;Fee;Ref;When\nT-100;250050;3750;INV-3;2026-11-22 08:00:00\n"
    without_reference = import_file(client, tenant, paystack["id"], body, fmt="generic_csv")
    assert without_reference.status_code == 422
    assert "reference" in without_reference.json["errors"]["statement"]["file"]
    imported = import_file(
        client, tenant, paystack["id"], body, fmt="generic_csv", reference="BATCH-7", settled_at="2026-11-23T10:00:00Z"
    )
    assert imported.status_code == 200, imported.json
    (payment,) = client.get("/api/v1/payments", headers=tenant["headers"]).json
    assert (payment["external_id"], payment["amount"], payment["fee"]) == ("T-100", "2500.50", "37.50")
    assert payment["occurred_at"].startswith("2026-11-22T07:00:00")
    assert payment["reconciliation"] == "matched"


def test_imports_as_multipart_and_refusals(client, tenant, paystack):
    statement = paystack_csv(paystack_row("INV-1"))
    form = client.post(
        f"/api/v1/settlements/imports?integration_id={paystack['id']}&format=paystack_payout",
        data={"file": (io.BytesIO(statement), "payout.csv", "text/csv")},
        headers=tenant["headers"],
        content_type="multipart/form-data",
    )
    assert form.status_code == 200, form.json
    no_file = client.post(
        f"/api/v1/settlements/imports?integration_id={paystack['id']}&format=paystack_payout",
        data={"other": "x"},
        headers=tenant["headers"],
        content_type="multipart/form-data",
    )
    assert no_file.status_code == 422 and "file" in no_file.json["errors"]
    wrong_type = import_file(client, tenant, paystack["id"], statement, content_type="text/plain")
    assert wrong_type.status_code == 415
    unknown = import_file(client, tenant, paystack["id"], statement, fmt="quickbooks")
    assert unknown.status_code == 422 and "format" in unknown.json["errors"]["query"]
    not_utf8 = import_file(client, tenant, paystack["id"], PAYSTACK_HEADER.encode() + b"\n\xff\xfe,1\n")
    assert not_utf8.status_code == 422
    empty = import_file(client, tenant, paystack["id"], b"")
    assert empty.status_code == 422 and "file" in empty.json["errors"]["statement"]


def test_the_cli_imports_a_statement_and_sweeps(app, runner, client, tenant, paystack, tmp_path):
    from flux_recon.cli import cli

    statement = tmp_path / "payout.csv"
    statement.write_bytes(paystack_csv(paystack_row("INV-1", paid="2026-11-23 10:00:00")))
    options = ["--integration", str(paystack["id"]), "--format", "paystack_payout"]
    result = runner.invoke(cli, ["settlements", "import", str(statement), *options])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert (summary["lines_added"], summary["payments_recovered"]) == (1, 1)

    bad = tmp_path / "bad.csv"
    bad.write_bytes(paystack_csv(paystack_row("INV-2", fee="lots")))
    refused = runner.invoke(cli, ["settlements", "import", str(bad), *options])
    assert refused.exit_code == 1 and "line 2" in refused.output and "Paystack fee" in refused.output

    assert post_charge(client, paystack, "INV-8", paid_at="2026-11-23T12:00:00Z").status_code == 200
    swept = runner.invoke(cli, ["settlements", "sweep", "--now", "2026-12-01T00:00:00Z"])
    assert swept.exit_code == 0, swept.output
    assert json.loads(swept.output) == {"awaiting": 1, "not_in_settlement": 1}


def test_the_exception_queue_lists_missing_webhooks_payments_in_no_settlement_and_breaks(client, app, tenant, paystack):
    charged = post_charge(client, paystack, "INV-1", amount_kobo=1400000, paid_at="2026-11-23T08:00:00Z")
    assert charged.status_code == 200
    assert post_charge(client, paystack, "INV-2", paid_at="2026-11-23T09:00:00Z").status_code == 200
    statement = paystack_csv(paystack_row("INV-1", paid="2026-11-23 09:00:00"), paystack_row("INV-3"))
    imported = import_file(client, tenant, paystack["id"], statement)
    assert imported.json["payments_recovered"] == 1 and imported.json["breaks_found"] == 1
    with app.app_context():
        settlements.sweep_unsettled(now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    db.close()
    queue = client.get(
        "/api/v1/exceptions?reason=missing_webhook,not_in_settlement,settlement_break", headers=tenant["headers"]
    )
    assert queue.status_code == 200, queue.json
    reasons = sorted((item["reason"], item["id"].split(":")[0]) for item in queue.json)
    assert reasons == [
        ("missing_webhook", "settled_payment"),
        ("not_in_settlement", "settled_payment"),
        ("settlement_break", "settlement"),
    ]
    missing = next(item for item in queue.json if item["reason"] == "missing_webhook")
    assert "INV-3" in missing["message"] and "webhook" in missing["message"]


def test_one_payout_from_two_sources_is_one_settlement(app, tenant, paystack):
    def record(source, net):
        header = SettlementRecord(
            reference="PAYOUT-9",
            settled_at=dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC),
            currency="NGN",
            gross=Decimal("100.00"),
            fees=Decimal("1.50"),
            net=Decimal(net),
        )
        with app.app_context():
            from flux_recon.models import Integration

            return settlements.record_settlements(
                tenant["tenant_id"],
                Integration.get_by_id(paystack["id"]),
                [header],
                source=source,
                engine=app.extensions["engine"],
                plugin_manager=app.extensions["plugin_manager"],
            )

    first = record("webhook", "98.50")
    second = record("api", "98.50")
    assert first.settlements == second.settlements and second.breaks_found == 0
    third = record("statement", "97.50")
    assert third.breaks_found == 1
    with app.app_context():
        (settlement,) = Settlement.select()
        assert settlement.sources == ["webhook", "api", "statement"] and settlement.source == "webhook"
        assert settlement.status == "with_breaks"
        assert [b.kind for b in settlement.break_rows] == ["sources_disagree"]
    db.close()


def test_a_plugin_format_failing_on_odd_input_refuses_the_file_not_a_500(client, tenant, paystack, monkeypatch):
    from flux_recon import StatementFormat

    class Broken(StatementFormat):
        name = "broken"

        def parse(self, stream, context):
            yield SettlementRecord(reference="B-1", settled_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC), currency="NGN")
            raise AttributeError("a bug in the plugin")

    monkeypatch.setattr(PaystackProvider, "statement_formats", (Broken(),))
    refused = import_file(client, tenant, paystack["id"], b"anything", fmt="broken")
    assert refused.status_code == 422, refused.json
    assert "broken reader could not read this file" in str(refused.json["errors"]["statement"]["file"])
    assert client.get("/api/v1/settlements", headers=tenant["headers"]).json == []
