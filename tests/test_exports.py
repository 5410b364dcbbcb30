"""CSV exports: the list endpoints' filters, UTF-8 with a header row, money as decimal strings,
formula injection neutralised, streamed a page at a time."""

from __future__ import annotations

import csv
import io

import pytest

from flux_recon.models import AuditEntry, db
from flux_recon.services import exports
from tests.conftest import core_payload

EXPORTS = "/api/v1/exports"


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.data[:500]
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8"), newline="")))


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+2348012345678", "'+2348012345678"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=cmd", "'\t=cmd"),
        ("\r=cmd", "'\r=cmd"),
        ("INV-1001", "INV-1001"),
        ("1500.00", "1500.00"),
        (" =not at the start", " =not at the start"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_formula_cells_are_neutralised(text, cell):
    assert exports.neutralise(text) == cell


def test_orders_csv_with_filters(client, tenant, other_tenant, create_order):
    create_order(reference="INV-1", amount="1500.50", customer={"name": '=HYPERLINK("http://x")'})
    create_order(reference="INV-2", amount="20.00", currency="JPY", description="Ünïcode — 東京")
    cancelled = create_order(reference="@INV-3", amount="3.00")
    client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=tenant["headers"])
    create_order(reference="THEIRS", headers=other_tenant["headers"])

    rows = read_csv(client.get(f"{EXPORTS}/orders.csv", headers=tenant["headers"]))
    assert [r["reference"] for r in rows] == ["'@INV-3", "INV-2", "INV-1"]  # newest first, mine only
    first = rows[2]
    assert (first["amount"], first["currency"], first["amount_paid"], first["outstanding"]) == (
        "1500.50",
        "NGN",
        "0.00",
        "1500.50",
    )
    assert first["customer_name"] == '\'=HYPERLINK("http://x")'
    assert rows[1]["amount"] == "20" and rows[1]["description"] == "Ünïcode — 東京"
    assert rows[0]["status"] == "cancelled" and rows[0]["cancelled_at"]

    only = read_csv(client.get(f"{EXPORTS}/orders.csv?status=cancelled", headers=tenant["headers"]))
    assert [r["reference"] for r in only] == ["'@INV-3"]
    by_reference = read_csv(client.get(f"{EXPORTS}/orders.csv?reference=inv-2", headers=tenant["headers"]))
    assert [r["reference"] for r in by_reference] == ["INV-2"]


def test_payments_csv(client, tenant, create_order, post_core):
    order = create_order(reference="INV-1001", amount="15000.00")
    post_core(core_payload(tenant["tenant_id"], transactionRef="T-1", paymentRef="INV-1001", amount="15000.00"))
    post_core(
        core_payload(
            tenant["tenant_id"],
            transactionRef="=2+5",
            paymentRef="NOPE",
            amount="10.10",
            customer={"id": "C-1", "name": "-Ada", "email": "ada@example.com", "phone": "+2348012345678"},
        )
    )
    response = client.get(f"{EXPORTS}/payments.csv", headers=tenant["headers"])
    raw = response.data.decode("utf-8")
    assert raw.startswith("id,provider,external_id,kind,status,method,amount,currency,")
    rows = read_csv(response)
    assert [r["external_id"] for r in rows] == ["'=2+5", "T-1"]
    unmatched, matched = rows
    assert (matched["amount"], matched["allocated"], matched["reconciliation"]) == ("15000.00", "15000.00", "matched")
    assert matched["order_ids"] == str(order["id"])
    assert matched["references"] == "INV-1001"
    assert (unmatched["amount"], unmatched["allocated"], unmatched["order_ids"]) == ("10.10", "0.00", "")
    assert unmatched["payer_name"] == "'-Ada" and unmatched["payer_phone"] == "'+2348012345678"
    assert matched["fee"] == ""  # none reported: an empty cell, not 0

    filtered = read_csv(client.get(f"{EXPORTS}/payments.csv?reconciliation=unmatched", headers=tenant["headers"]))
    assert [r["external_id"] for r in filtered] == ["'=2+5"]
    of_order = read_csv(client.get(f"{EXPORTS}/payments.csv?order_id={order['id']}", headers=tenant["headers"]))
    assert [r["external_id"] for r in of_order] == ["T-1"]


def test_audit_csv(client, tenant, create_order, app):
    create_order(reference="INV-1")
    rows = read_csv(client.get(f"{EXPORTS}/audit.csv?object_type=order", headers=tenant["headers"]))
    assert [r["action"] for r in rows] == ["order.created"]
    with app.app_context():
        entry = AuditEntry.get(AuditEntry.action == "order.created")
    db.close()
    assert rows[0]["id"] == str(entry.id) and rows[0]["object_id"] == str(entry.object_id)
    assert '"reference": "INV-1"' in rows[0]["details"]


def test_an_empty_export_is_the_header_alone(client, tenant):
    response = client.get(f"{EXPORTS}/orders.csv", headers=tenant["headers"])
    assert response.status_code == 200
    assert response.data.decode() == ",".join(exports.ORDERS.header) + "\r\n"


def test_bad_filters_are_422_and_the_key_is_required(client, tenant):
    assert client.get(f"{EXPORTS}/payments.csv?status=lost", headers=tenant["headers"]).status_code == 422
    assert client.get(f"{EXPORTS}/orders.csv?created_from=monday", headers=tenant["headers"]).status_code == 422
    assert client.get(f"{EXPORTS}/payments.csv?order_id=x", headers=tenant["headers"]).status_code == 422
    assert client.get(f"{EXPORTS}/audit.csv").status_code == 401
    assert client.get(f"{EXPORTS}/nothing.csv", headers=tenant["headers"]).status_code == 404


def test_pages_are_read_by_id_a_page_at_a_time(app, tenant, create_order):
    for n in range(7):
        create_order(reference=f"INV-{n}", amount="1.00")
    with app.app_context():
        from flux_recon.services.orders import list_orders

        chunks = list(exports.stream(exports.ORDERS, list_orders(tenant["tenant_id"]), page_size=3))
    db.close()
    # The header with the first page, then one chunk per page (3, 3, 1 rows).
    assert [chunk.decode().count("\r\n") for chunk in chunks] == [4, 3, 1]
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert [r["reference"] for r in rows] == [f"INV-{n}" for n in range(6, -1, -1)]


def test_exceptions_csv_with_the_queues_filters(client, tenant, create_order, post_core):
    cancelled = create_order(reference="GONE-1", amount="10.00")
    client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=tenant["headers"])
    post_core(core_payload(tenant["tenant_id"], transactionRef="T-1", paymentRef="=NOBODY", amount="25.00"))
    post_core(core_payload(tenant["tenant_id"], transactionRef="T-2", paymentRef="GONE-1", amount="10.00"))
    listed = client.get("/api/v1/exceptions", headers=tenant["headers"]).json

    rows = read_csv(client.get(f"{EXPORTS}/exceptions.csv", headers=tenant["headers"]))
    # The same items, in the queue's order, as the list endpoint shows them.
    assert [r["id"] for r in rows] == [item["id"] for item in listed]
    by_reason = {r["reason"]: r for r in rows}
    assert by_reason["no_order"]["amount"] == "25.00" and by_reason["no_order"]["currency"] == "NGN"
    assert by_reason["order_cancelled"]["candidate_order_ids"] == str(cancelled["id"])
    assert by_reason["order_cancelled"]["candidate_references"] == "GONE-1"
    assert all(r["status"] == "open" and r["decision"] == "" for r in rows)

    only = read_csv(client.get(f"{EXPORTS}/exceptions.csv?reason=order_cancelled", headers=tenant["headers"]))
    assert [r["reason"] for r in only] == ["order_cancelled"]
    refused = client.get(f"{EXPORTS}/exceptions.csv?min_amount=5.00", headers=tenant["headers"])
    assert refused.status_code == 422  # an amount filter needs a currency, as the queue says


def test_exceptions_csv_pages_through_the_queue(app, tenant, post_core):
    from flux_recon.services import exceptions

    for n in range(5):
        post_core(core_payload(tenant["tenant_id"], transactionRef=f"T-{n}", paymentRef=f"NONE-{n}"))
    with app.app_context():
        chunks = list(exports.exceptions_csv(tenant["tenant_id"], exceptions.Filters(), page_size=2))
    db.close()
    assert [chunk.decode().count("\r\n") for chunk in chunks] == [3, 2, 1]
