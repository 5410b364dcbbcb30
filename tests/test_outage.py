"""A database outage answers 503 (so providers retry) and leaves nothing half-written."""

import peewee

from flux_recon.models import Payment, SalesOrder, WebhookEvent, db
from tests.conftest import TEST_SECRET_KEY, core_payload

# Nothing listens on port 1: every connection attempt fails, as in a real outage.
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/test"


def test_database_down_answers_503_with_retry_after():
    from flux_recon import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": UNREACHABLE, "SECRET_KEY": TEST_SECRET_KEY})
    client = app.test_client()
    response = client.post("/webhooks/core/sometoken", data=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.json["code"] == 503 and "retry" in response.json["message"]
    api = client.get("/api/v1/orders", headers={"Authorization": "Bearer frk_x"})
    assert api.status_code == 503
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_failure_inside_the_transaction_writes_nothing(app, tenant, create_order, post_core, monkeypatch):
    created = create_order()

    def fail(*args, **kwargs):
        raise peewee.OperationalError("connection lost")

    # Fails after the payment row and the allocation are written, before commit.
    monkeypatch.setattr("flux_recon.reconciliation.engine.record_audit", fail)
    response = post_core(core_payload(tenant["tenant_id"]))
    assert response.status_code == 503
    with app.app_context():
        assert Payment.select().count() == 0
        assert WebhookEvent.select().count() == 0
        assert SalesOrder.get_by_id(created["id"]).amount_paid_minor == 0
    db.close()

    monkeypatch.undo()
    retried = post_core(core_payload(tenant["tenant_id"]))
    assert retried.json["status"] == "accepted"
    with app.app_context():
        assert Payment.select().count() == 1
        assert SalesOrder.get_by_id(created["id"]).status == "paid"
    db.close()
