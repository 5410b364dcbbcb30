"""Metrics, request ids and JSON logs: operators see trouble, and never a secret."""

import datetime as dt
import json
import logging
import time
from urllib.parse import urlsplit

import peewee
import pytest
from prometheus_client.parser import text_string_to_metric_families

from flux_recon.models import Delivery, db, utcnow
from tests.conftest import POSTGRES_URL, core_payload
from tests.live_server import live_server, request
from tests.tcp_proxy import TcpProxy
from tests.test_reliability_faults import setup_core


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus text format (0 if absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_metrics_count_webhooks_outcomes_and_backlog(client, tenant, create_order, post_core):
    before = client.get("/metrics").get_data(as_text=True)
    create_order()
    post_core(core_payload(tenant["tenant_id"]))
    post_core(core_payload(tenant["tenant_id"]))
    post_core(core_payload(tenant["tenant_id"]), signature="bad")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.get_data(as_text=True)

    def grew(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("flux_recon_webhooks_total", provider="core", verdict="accepted") == 1
    assert grew("flux_recon_webhooks_total", provider="core", verdict="duplicate") == 1
    assert grew("flux_recon_webhooks_total", provider="core", verdict="rejected_signature") == 1
    assert grew("flux_recon_reconciliations_total", status="accepted", reconciliation="matched") == 1
    assert "flux_recon_request_seconds_bucket" in after
    assert "flux_recon_delivery_backlog 0.0" in after


def test_request_ids_are_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert len(made) == 32 and " " not in made


def test_each_request_is_one_json_log_line_without_the_token(client, tenant, core_integration, post_core, caplog):
    caplog.set_level(logging.INFO, logger="flux_recon.requests")
    post_core(core_payload(tenant["tenant_id"]), headers={"X-Request-ID": "req-42"})
    (record,) = [r for r in caplog.records if r.name == "flux_recon.requests" and r.fields["request_id"] == "req-42"]
    from flux_recon.web.observability import JSONFormatter

    line = json.loads(JSONFormatter().format(record))
    assert line["status"] == 200 and line["method"] == "POST"
    token = core_integration["path"].rsplit("/", 1)[1]
    assert token not in line["path"] and line["path"].endswith("…")


def test_the_backlog_counts_due_deliveries_and_expired_leases(app, client, tenant, post_core):
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
    subscription = {
        "label": "shop",
        "url": "http://127.0.0.1:9/hook",  # never called: no worker runs here
        "events": ["payment.received"],
        "authentication": {"type": "none"},
        "signature": {"type": "signing_key"},
    }
    assert client.post("/api/v1/subscriptions", json=subscription, headers=tenant["headers"]).status_code == 201
    for n in range(4):
        assert post_core(core_payload(tenant["tenant_id"], transactionRef=f"T{n}")).status_code == 200
    with app.app_context():
        due, expired, leased, later = [d.id for d in Delivery.select().order_by(Delivery.id)]
        now = utcnow()
        Delivery.update(status="delivering", lease_until=now - dt.timedelta(minutes=1)).where(
            Delivery.id == expired
        ).execute()  # its worker died: due again
        Delivery.update(status="delivering", lease_until=now + dt.timedelta(minutes=5)).where(
            Delivery.id == leased
        ).execute()  # being delivered
        Delivery.update(next_attempt_at=now + dt.timedelta(hours=1)).where(Delivery.id == later).execute()
    db.close()
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "flux_recon_delivery_backlog") == 2
    assert metric(text, "flux_recon_database_up") == 1


def test_metrics_answer_without_the_database(app, client, tenant, post_core, monkeypatch):
    post_core(core_payload(tenant["tenant_id"]), signature="bad")
    before = client.get("/metrics").get_data(as_text=True)
    db.close()

    def refuse(*args, **kwargs):
        raise peewee.OperationalError("connection refused")

    monkeypatch.setattr(app.extensions["database"], "connect", refuse)
    assert client.get("/readyz").status_code == 503  # the app cannot reach its database
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert metric(text, "flux_recon_database_up") == 0
    assert "flux_recon_delivery_backlog" not in text  # omitted, never a stale or made-up 0
    rejected = {"provider": "core", "verdict": "rejected_signature"}
    assert metric(text, "flux_recon_webhooks_total", **rejected) == metric(
        before, "flux_recon_webhooks_total", **rejected
    )
    assert metric(text, "flux_recon_webhooks_total", **rejected) >= 1


@pytest.mark.skipif(not POSTGRES_URL, reason="the outage is made between the service and PostgreSQL")
def test_metrics_through_gunicorn_while_postgresql_is_cut(postgres_schema, tmp_path):
    url = urlsplit(postgres_schema)
    proxy = TcpProxy(url.hostname, url.port or 5432)
    proxied = postgres_schema.replace(f"{url.hostname}:{url.port or 5432}", f"127.0.0.1:{proxy.port}")
    accepted = {"provider": "core", "verdict": "accepted"}
    try:
        with live_server(proxied, tmp_path, workers=2) as server:
            _, webhook = setup_core(server, orders=1)
            assert webhook(0).status == 200
            text = request(server.port, "GET", "/metrics").body.decode()
            assert metric(text, "flux_recon_database_up") == 1 and "flux_recon_delivery_backlog" in text

            proxy.cut()
            assert webhook(1).status == 503  # the outage is real
            for _ in range(4):  # whichever worker answers
                answer = request(server.port, "GET", "/metrics")
                assert answer.status == 200, answer.body[:200]
                text = answer.body.decode()
                assert metric(text, "flux_recon_database_up") == 0
                assert "flux_recon_delivery_backlog" not in text
                assert metric(text, "flux_recon_webhooks_total", **accepted) == 1

            proxy.restore()
            for _ in range(50):
                text = request(server.port, "GET", "/metrics").body.decode()
                if metric(text, "flux_recon_database_up") == 1:
                    break
                time.sleep(0.2)
            assert metric(text, "flux_recon_database_up") == 1 and "flux_recon_delivery_backlog" in text
        assert "Traceback" not in server.log()
    finally:
        proxy.close()
