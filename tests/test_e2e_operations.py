"""Through real gunicorn with two workers: metrics add up across workers, and no secret made
during a full session ever reaches the logs."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import core_payload, core_signature
from tests.live_server import BIN_DIR, REPO_ROOT, create_tenant, live_server, request
from tests.receiver import start_receiver


def webhooks_total(text: str, verdict: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "flux_recon_webhooks_total" and sample.labels.get("verdict") == verdict:
                return sample.value
    return 0.0


def test_metrics_sum_workers_and_logs_hold_no_secret(database_url, tmp_path):
    receiver = start_receiver()
    secrets_seen = []
    try:
        settings = {"ALLOW_PRIVATE_DESTINATIONS": "true"}
        with live_server(database_url, tmp_path, workers=2, settings=settings) as server:
            tenant = create_tenant(server, "Ops")
            secrets_seen.append(tenant["api_key"])
            auth = {"Authorization": f"Bearer {tenant['api_key']}", "Content-Type": "application/json"}

            def api(method, path, body=None):
                data = json.dumps(body).encode() if body is not None else None
                return request(server.port, method, path, data, auth)

            core = api("POST", "/api/v1/integrations", {"provider": "core"}).json
            secrets_seen += [core["credentials"][0]["secret"], urlsplit(core["webhook_url"]).path.rsplit("/", 1)[1]]
            api("POST", f"/api/v1/integrations/{core['id']}/allowlist", {"cidr": "127.0.0.1"})
            scoped = api("POST", f"/api/v1/integrations/{core['id']}/credentials", {"label": "pos"}).json
            secrets_seen.append(scoped["secret"])
            regenerated = api("POST", f"/api/v1/integrations/{core['id']}/credentials/{scoped['id']}/regenerate", {})
            secrets_seen.append(regenerated.json["secret"])
            monnify = api("POST", "/api/v1/integrations", {"provider": "monnify"}).json
            api("PUT", f"/api/v1/integrations/{monnify['id']}/secrets/client_secret", {"value": "mnfy-client-secret-9"})
            secrets_seen.append("mnfy-client-secret-9")
            subscription = api(
                "POST",
                "/api/v1/subscriptions",
                {
                    "label": "ops",
                    "url": receiver.url,
                    "events": ["payment.received"],
                    "authentication": {"type": "basic", "username": "u", "password": "basic-pw-7731"},
                    "signature": {"type": "signing_key"},
                },
            ).json
            secrets_seen += ["basic-pw-7731", subscription["signing_key"]]
            api("POST", "/api/v1/orders", {"reference": "INV-1001", "amount": "15000.00", "currency": "NGN"})

            path = urlsplit(core["webhook_url"]).path

            def send(n):
                body = json.dumps(core_payload(tenant["tenant_id"], transactionRef=f"T{n}")).encode()
                secret = core["credentials"][0]["secret"] if n % 2 else "wrong"
                headers = {"Content-Type": "application/json", "Signature": core_signature(body, secret)}
                return request(server.port, "POST", path, body, headers).status

            with ThreadPoolExecutor(max_workers=4) as pool:  # spread over both workers
                statuses = list(pool.map(send, range(12)))
            assert statuses.count(401) == 6 and statuses.count(200) == 6
            metrics = request(server.port, "GET", "/metrics").body.decode()
            assert webhooks_total(metrics, "rejected_signature") == 6
            assert webhooks_total(metrics, "accepted") == 6

            worker = subprocess.run(
                [str(BIN_DIR / "flux-recon"), "worker", "--until-idle"],
                cwd=REPO_ROOT,
                env=server.env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert worker.returncode == 0, worker.stderr
        log = server.log() + worker.stdout + worker.stderr
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    assert len(receiver.requests) == 6
    assert '"request_id"' in log  # the JSON request log was written
    for secret in secrets_seen:
        assert secret not in log, "a secret reached the logs"
