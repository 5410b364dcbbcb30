"""Metrics, request ids and JSON logs: operators see trouble, and never a secret."""

import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import core_payload


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
    from flux_recon.extensions.observability import JSONFormatter

    line = json.loads(JSONFormatter().format(record))
    assert line["status"] == 200 and line["method"] == "POST"
    token = core_integration["path"].rsplit("/", 1)[1]
    assert token not in line["path"] and line["path"].endswith("…")
