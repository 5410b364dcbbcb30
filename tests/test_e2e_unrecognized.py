"""Through real gunicorn: a signed core webhook of a shape the plugin does not know is answered
200 unrecognized, kept, counted in /metrics and announced to a webhook.unrecognized subscriber."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from tests.conftest import core_signature
from tests.live_server import create_tenant, live_server, request
from tests.test_observability import metric


def test_an_unknown_core_webhook_is_kept_counted_and_announced(database_url, tmp_path):
    with live_server(database_url, tmp_path, workers=2, settings={"ALLOW_PRIVATE_DESTINATIONS": "true"}) as server:
        tenant = create_tenant(server, "Unrecognized")
        auth = {"Authorization": f"Bearer {tenant['api_key']}", "Content-Type": "application/json"}

        def api(method, path, body=None):
            return request(server.port, method, path, json.dumps(body).encode() if body is not None else None, auth)

        integration = api("POST", "/api/v1/integrations", {"provider": "core"}).json
        api("POST", f"/api/v1/integrations/{integration['id']}/allowlist", {"cidr": "127.0.0.1"})
        subscription = api(
            "POST",
            "/api/v1/subscriptions",
            {
                "label": "back office",
                "url": "http://127.0.0.1:9/hook",
                "events": ["webhook.unrecognized"],
                "authentication": {"type": "none"},
                "signature": {"type": "signing_key"},
            },
        )
        assert subscription.status == 201, subscription.json

        body = json.dumps({"event": "settlement.completed", "data": {"total": "15000.00"}}).encode()
        headers = {
            "Content-Type": "application/json",
            "Signature": core_signature(body, integration["credentials"][0]["secret"]),
        }
        answer = request(server.port, "POST", urlsplit(integration["webhook_url"]).path, body, headers)
        assert (answer.status, answer.json["status"]) == (200, "unrecognized"), answer.json

        (kept,) = api("GET", "/api/v1/webhook-events?verdict=unrecognized").json
        assert (kept["provider"], kept["http_status"], kept["authenticated"]) == ("core", 200, True)
        metrics = request(server.port, "GET", "/metrics").body.decode()
        assert metric(metrics, "flux_recon_webhooks_total", provider="core", verdict="unrecognized") == 1
        deliveries = api("GET", f"/api/v1/subscriptions/{subscription.json['id']}/deliveries").json
        assert [d["event_type"] for d in deliveries] == ["webhook.unrecognized"]

        replayed = api("POST", f"/api/v1/webhook-events/{kept['id']}/replay")
        assert replayed.json["result"]["status"] == "unrecognized"
        assert len(api("GET", f"/api/v1/subscriptions/{subscription.json['id']}/deliveries").json) == 1
    assert "Traceback" not in server.log()
