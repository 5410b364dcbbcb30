"""The outbound package renders its own documents: the same bytes the outbox sent when it
borrowed the REST schemas, the same values GET /payments/{id} and GET /orders/{id} show, and
the catalog's examples in their shape."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from flux_recon.models import OutboundEvent, Payment, SalesOrder, db
from flux_recon.models.transactions import write_transaction
from flux_recon.outbound.catalog import EVENT_TYPES
from flux_recon.outbound.documents import order_document, payment_document
from flux_recon.outbound.sender import Sender
from flux_recon.providers import Payer, PaymentNotice
from flux_recon.web.resources.orders.schemas import OrderSchema
from flux_recon.web.resources.payments.schemas import PaymentSchema
from tests.conftest import core_payload

AT = dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC)


def record(app, tenant_id, external_id, amount, *references, currency="NGN", **fields):
    notice = PaymentNotice(
        external_id=external_id,
        amount=Decimal(amount),
        currency=currency,
        occurred_at=AT,
        references=references,
        **fields,
    )
    with app.app_context():
        with write_transaction():
            app.extensions["engine"].record(tenant_id=tenant_id, provider="core", notice=notice)
    db.close()


def ordered(document: dict) -> list:
    """Every key path in document order, nested objects and list items included."""
    paths = []
    for key, value in document.items():
        paths.append(key)
        if isinstance(value, dict):
            paths += [f"{key}.{inner}" for inner in ordered(value)]
        elif isinstance(value, list):
            for n, item in enumerate(value):
                if isinstance(item, dict):
                    paths += [f"{key}[{n}].{inner}" for inner in ordered(item)]
    return paths


@pytest.fixture
def ledger(app, client, tenant, create_order):
    """Orders and payments in every shape a document takes: paid, partly paid, refunded in
    part, overpaid, cancelled, matched by hand in a split, unmatched, a zero-decimal currency."""
    headers = tenant["headers"]
    create_order(
        "INV-1",
        "100.00",
        description="two chairs",
        customer={"id": "C-1", "name": "Ada Obi", "email": "ada@example.com", "phone": "+2348012345678"},
    )
    create_order("INV-2", "200.00", payment_reference="PAY-2", virtual_account="9900000001")
    create_order("INV-3", "50.00")
    create_order("INV-4", "30.00")
    create_order("INV-J", "1500", currency="JPY")
    cancelled = create_order("INV-5", "75.00")
    assert client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=headers).status_code == 200

    tenant_id = tenant["tenant_id"]
    payer = Payer(
        name="ADA OBI", email="ada@example.com", phone="+2348012345678", customer_id="C-1", account_number="0123"
    )
    record(
        app, tenant_id, "T1", "100.00", "INV-1", method="bank_transfer", payer=payer, fee=Decimal("1.50"),
        settlement_amount=Decimal("98.50"), destination_account="0011223344",
    )  # fmt: skip
    record(app, tenant_id, "T2", "50.00", "PAY-2")  # part of INV-2
    record(app, tenant_id, "R1", "30.00", kind="refund", parent_external_id="T1")  # part of T1 back
    record(app, tenant_id, "T3", "45.00", "INV-4")  # more than INV-4's 30.00
    record(app, tenant_id, "T4", "25.00")  # no reference: unmatched
    record(app, tenant_id, "T5", "1500", "INV-J", currency="JPY")
    record(app, tenant_id, "T6", "999.99", "NO-SUCH-ORDER", status="failed")

    # T4 split by hand between two orders, then part of it taken back.
    with app.app_context():
        t4 = Payment.get(Payment.external_id == "T4").id
        orders = {o.reference: o.id for o in SalesOrder.select()}
    db.close()
    for order, amount in (("INV-2", "10.00"), ("INV-3", "15.00")):
        matched = client.post(
            f"/api/v1/payments/{t4}/match",
            json={"order_id": orders[order], "amount": amount, "reason": "split"},
            headers=headers,
        )
        assert matched.status_code == 200, matched.json
    unmatched = client.post(f"/api/v1/payments/{t4}/unmatch", json={"order_id": orders["INV-3"]}, headers=headers)
    assert unmatched.status_code == 200, unmatched.json


def test_payments_render_as_the_rest_api_shows_them_and_as_the_outbox_sent_them(app, client, tenant, ledger):
    with app.app_context():
        payments = list(Payment.select().order_by(Payment.id))
        documents = [payment_document(p) for p in payments]
        # What the outbox signed before it had its own documents: the REST schema's dump.
        before = [PaymentSchema().dump(p) for p in payments]
    db.close()
    assert len(documents) == 7
    shapes = {(d["kind"], d["status"], d["reconciliation"]) for d in documents}
    assert {("payment", "succeeded", "matched"), ("refund", "succeeded", "matched")} <= shapes
    assert any(d["refunded"] != "0.00" for d in documents) and any(d["fee"] for d in documents)
    assert any(a["released_at"] for d in documents for a in d["allocations"])
    assert any(d["currency"] == "JPY" and d["amount"] == "1500" for d in documents)
    for document, old in zip(documents, before, strict=True):
        assert Sender.encode(document) == Sender.encode(old)
        assert ordered(document) == ordered(old)
        shown = client.get(f"/api/v1/payments/{document['id']}", headers=tenant["headers"])
        assert shown.status_code == 200
        assert document == shown.json


def test_orders_render_as_the_rest_api_shows_them_and_as_the_outbox_sent_them(app, client, tenant, ledger):
    with app.app_context():
        orders = list(SalesOrder.select().order_by(SalesOrder.id))
        documents = [order_document(o) for o in orders]
        before = [OrderSchema().dump(o) for o in orders]
    db.close()
    statuses = {d["status"] for d in documents}
    assert statuses >= {"paid", "partially_paid", "overpaid", "open", "cancelled"}, statuses
    for document, old in zip(documents, before, strict=True):
        assert Sender.encode(document) == Sender.encode(old)
        assert ordered(document) == ordered(old)
        shown = client.get(f"/api/v1/orders/{document['id']}", headers=tenant["headers"])
        assert shown.status_code == 200
        # The order's own page adds amount_settled (a query of its own, not sent in events).
        page = dict(shown.json)
        assert page.pop("amount_settled") is not None
        assert document == page


def test_the_outbox_stores_the_outbound_documents(app, client, tenant, post_core, create_order):
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
    subscription = {
        "label": "shop",
        "url": "http://127.0.0.1:9/hook",
        "events": ["payment.matched", "order.paid"],
        "authentication": {"type": "none"},
        "signature": {"type": "signing_key"},
    }
    assert client.post("/api/v1/subscriptions", json=subscription, headers=tenant["headers"]).status_code == 201
    create_order("INV-1001", "15000.00")
    assert post_core(core_payload(tenant["tenant_id"])).status_code == 200
    with app.app_context():
        stored = {row.event_type: json.loads(row.body) for row in OutboundEvent.select()}
        expected = {
            "payment.matched": Sender.encode(payment_document(Payment.get())),
            "order.paid": Sender.encode(order_document(SalesOrder.get())),
        }
    db.close()
    assert set(stored) == set(expected)
    for event_type, body in expected.items():
        assert Sender.encode(stored[event_type]["event_body"]) == body


@pytest.mark.parametrize("event_type", list(EVENT_TYPES))
def test_each_catalog_example_has_the_documents_fields_in_their_order(app, client, tenant, ledger, event_type):
    """An example may leave fields out, but what it shows is named, ordered and typed as sent."""
    example = EVENT_TYPES[event_type]["example"]
    if not event_type.startswith(("payment.", "order.")):
        pytest.skip("a document of its own kind, tested beside it (settlements: tests/test_settlements.py)")
    with app.app_context():
        if event_type.startswith("order."):
            real = order_document(SalesOrder.get(SalesOrder.reference == "INV-1"))
        else:
            real = payment_document(Payment.get(Payment.external_id == "T1"))
    db.close()

    def same_shape(shown: dict, sent: dict) -> None:
        names = [name for name in sent if name in shown]
        assert list(shown) == names, f"{event_type}: {list(shown)} is not in the order of {list(sent)}"
        for name, value in shown.items():
            assert isinstance(value, type(sent[name])), (event_type, name)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                same_shape(value[0], sent[name][0])

    same_shape(example, real)
