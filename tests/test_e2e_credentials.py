"""End to end through real gunicorn: rotating the core signing secret with and without grace."""

from __future__ import annotations

import json
import time

from tests.conftest import core_payload, core_signature
from tests.live_server import create_tenant, live_server, request

GRACE_SECONDS = 2


def test_regeneration_with_and_without_grace(database_url, tmp_path):
    with live_server(database_url, tmp_path) as server:
        tenant = create_tenant(server, "Rotation")
        auth = {"Authorization": f"Bearer {tenant['api_key']}", "Content-Type": "application/json"}

        def api(method, path, body=None):
            return request(server.port, method, path, json.dumps(body).encode() if body is not None else None, auth)

        integration = api("POST", "/api/v1/integrations", {"provider": "core"}).json
        api("POST", f"/api/v1/integrations/{integration['id']}/allowlist", {"cidr": "127.0.0.2"})
        path = "/" + integration["webhook_url"].split("/", 3)[3]
        credential = integration["credentials"][0]
        regenerate = f"/api/v1/integrations/{integration['id']}/credentials/{credential['id']}/regenerate"
        sent = 0

        def webhook(secret):
            nonlocal sent
            sent += 1
            body = json.dumps(core_payload(tenant["tenant_id"], transactionRef=f"T{sent}")).encode()
            headers = {"Content-Type": "application/json", "Signature": core_signature(body, secret)}
            return request(server.port, "POST", path, body, headers, source="127.0.0.2").status

        first_secret = credential["secret"]
        assert webhook(first_secret) == 200

        # With grace: both secrets verify until the grace period ends, then only the new one.
        rotated = api("POST", regenerate, {"grace_seconds": GRACE_SECONDS})
        assert rotated.status == 200, rotated.body
        second_secret = rotated.json["secret"]
        assert webhook(first_secret) == 200
        assert webhook(second_secret) == 200
        time.sleep(GRACE_SECONDS + 0.5)
        assert webhook(first_secret) == 401
        assert webhook(second_secret) == 200

        # Without grace: the previous secret stops at once.
        third_secret = api("POST", regenerate, {}).json["secret"]
        assert webhook(second_secret) == 401
        assert webhook(third_secret) == 200
    assert "Traceback" not in server.log()
