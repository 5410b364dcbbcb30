"""MAX_CONTENT_LENGTH holds for chunked bodies (no Content-Length) as for stated ones: 413,
never the first megabyte processed as if it were the whole body."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from tests.conftest import core_payload, core_signature
from tests.live_server import HOST, HTTP_TIMEOUT, Response, create_tenant, live_server, request
from tests.test_webhooks import inbox

# What gunicorn hands the app for a chunked body: the decoded stream, no length, and the
# promise that the server ends the stream (the test client sets neither by itself).
CHUNKED = {"Transfer-Encoding": "chunked"}
TERMINATED = {"wsgi.input_terminated": True}


def padded(payload: dict, size: int) -> bytes:
    """``payload`` as JSON of exactly ``size`` bytes (trailing whitespace is still JSON)."""
    raw = json.dumps(payload).encode()
    return raw + b" " * (size - len(raw))


def test_a_chunked_webhook_over_the_limit_is_413_and_recorded_so(app, tenant, post_core):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = padded(core_payload(tenant["tenant_id"]), limit + 1)
    response = post_core(None, body=body, headers=CHUNKED, environ=TERMINATED)
    assert response.status_code == 413, response.json
    assert response.json["message"] == f"body larger than {limit} bytes"
    (event,) = inbox(app)
    assert (event.verdict, event.http_status) == ("invalid_payload", 413)
    assert event.body_size != limit  # not the first megabyte, taken for the body


def test_a_chunked_webhook_of_exactly_the_limit_is_processed(app, tenant, create_order, post_core):
    create_order()
    body = padded(core_payload(tenant["tenant_id"]), app.config["MAX_CONTENT_LENGTH"])
    response = post_core(None, body=body, headers=CHUNKED, environ=TERMINATED)
    assert response.status_code == 200 and response.json["status"] == "accepted", response.json
    assert inbox(app)[0].body_size == len(body)


def test_a_chunked_api_body_over_the_limit_is_413(app, client, tenant):
    body = padded({"reference": "INV-1", "amount": "1.00", "currency": "NGN"}, app.config["MAX_CONTENT_LENGTH"] + 1)
    headers = {**tenant["headers"], "Content-Type": "application/json", **CHUNKED}
    response = client.post("/api/v1/orders", data=body, headers=headers, environ_overrides=TERMINATED)
    assert response.status_code == 413, response.json
    assert response.json["code"] == 413
    assert client.get("/api/v1/orders", headers=tenant["headers"]).json == []


def send_chunked(port: int, path: str, body: bytes, headers: dict) -> Response:
    """POST ``body`` with Transfer-Encoding: chunked (64 KiB chunks, no Content-Length)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    try:
        try:
            conn.request("POST", path, body=chunks, headers={**headers, **CHUNKED}, encode_chunked=True)
        except BrokenPipeError:
            # The server answered 413 and closed once past the limit, while the last bytes
            # of the body were still on their way: its answer is already here to read.
            pass
        reply = conn.getresponse()
        return Response(reply.status, reply.headers, reply.read())
    finally:
        conn.close()


def test_chunked_bodies_over_the_limit_are_413_through_gunicorn(tmp_path):
    limit = 1024 * 1024  # the default MAX_CONTENT_LENGTH
    with live_server(f"sqlite:///{tmp_path / 'flux_recon.sqlite3'}", tmp_path, workers=1) as server:
        tenant = create_tenant(server)
        auth = {"Authorization": f"Bearer {tenant['api_key']}", "Content-Type": "application/json"}
        integration = request(server.port, "POST", "/api/v1/integrations", b'{"provider": "core"}', auth).json
        allow = json.dumps({"cidr": "127.0.0.1"}).encode()
        request(server.port, "POST", f"/api/v1/integrations/{integration['id']}/allowlist", allow, auth)
        order = json.dumps({"reference": "INV-1001", "amount": "15000.00", "currency": "NGN"}).encode()
        assert request(server.port, "POST", "/api/v1/orders", order, auth).status == 201
        path = urlsplit(integration["webhook_url"]).path
        secret = integration["credentials"][0]["secret"]

        def webhook(size: int) -> Response:
            body = padded(core_payload(tenant["tenant_id"]), size)
            headers = {"Content-Type": "application/json", "Signature": core_signature(body, secret)}
            return send_chunked(server.port, path, body, headers)

        for size in (limit + 1, 2 * limit):
            answer = webhook(size)
            assert answer.status == 413, (size, answer.status, answer.body[:200])
            assert answer.json["message"] == f"body larger than {limit} bytes"
            answer = send_chunked(server.port, "/api/v1/orders", padded({"reference": "X"}, size), auth)
            assert (answer.status, answer.json["code"]) == (413, 413), (size, answer.body[:200])
        # The same webhook within the limit, signed and chunked, is taken.
        answer = webhook(limit)
        assert (answer.status, answer.json["status"]) == (200, "accepted"), answer.body[:200]
    assert "Traceback" not in server.log()
