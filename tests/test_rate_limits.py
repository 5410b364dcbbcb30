"""Rate limits: 429 with Retry-After, per integration, per address and per API key; shared
across gunicorn workers through a real Redis."""

import json
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from flux_recon.models import db
from flux_recon.services.tenants import create_tenant
from tests.conftest import close_app, core_payload, core_signature, make_app
from tests.live_server import create_tenant as create_tenant_by_cli
from tests.live_server import live_server, request

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def limited_app(database_url):
    app = make_app(
        database_url,
        WEBHOOK_RATE_LIMIT_PER_INTEGRATION="3 per minute",
        WEBHOOK_RATE_LIMIT_PER_ADDRESS="5 per minute",
        API_RATE_LIMIT_PER_KEY="4 per minute",
        API_RATE_LIMIT_PER_ADDRESS="100 per minute",
    )
    yield app
    close_app(app)


def headers_for(app):
    with app.app_context():
        _, key = create_tenant("Limited")
    db.close()
    return {"Authorization": f"Bearer {key}"}


def assert_limited(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.json["code"] == 429 and response.json["message"]


@pytest.fixture
def webhook_limited_app(database_url):
    app = make_app(
        database_url,
        WEBHOOK_RATE_LIMIT_PER_INTEGRATION="3 per minute",
        WEBHOOK_RATE_LIMIT_PER_ADDRESS="25 per minute",
        API_RATE_LIMIT_PER_KEY="100 per minute",
        API_RATE_LIMIT_PER_ADDRESS="100 per minute",
    )
    yield app
    close_app(app)


def core_integration_of(app, cidr="127.0.0.1/32"):
    """A new tenant's core integration whose allow-list admits ``cidr``: ``(path, secret, tenant id)``."""
    with app.app_context():
        tenant, key = create_tenant("Limited")
    db.close()
    client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}
    created = client.post("/api/v1/integrations", json={"provider": "core"}, headers=headers)
    assert created.status_code == 201, created.json
    added = client.post(f"/api/v1/integrations/{created.json['id']}/allowlist", json={"cidr": cidr}, headers=headers)
    assert added.status_code == 201, added.json
    path = "/" + created.json["webhook_url"].split("/", 3)[3]
    return path, created.json["credentials"][0]["secret"], tenant.id


def signed_post(client, path, secret, tenant_id, *, address="127.0.0.1", signature=None):
    body = json.dumps(core_payload(tenant_id, transactionRef=f"T-{secrets.token_hex(4)}")).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not False:
        headers["Signature"] = signature or core_signature(body, secret)
    return client.post(path, data=body, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_webhooks_are_limited_per_integration(webhook_limited_app):
    client = webhook_limited_app.test_client()
    path_a, secret_a, tenant_a = core_integration_of(webhook_limited_app)
    path_b, secret_b, tenant_b = core_integration_of(webhook_limited_app)
    assert [signed_post(client, path_a, secret_a, tenant_a).status_code for _ in range(3)] == [200] * 3
    assert_limited(signed_post(client, path_a, secret_a, tenant_a))
    # Another integration's URL has its own budget.
    assert signed_post(client, path_b, secret_b, tenant_b).status_code == 200


def test_refused_webhooks_do_not_spend_the_integrations_budget(webhook_limited_app):
    client = webhook_limited_app.test_client()
    path, secret, tenant_id = core_integration_of(webhook_limited_app)

    def stranger():
        # Someone who learned the URL: unsigned, from an address off the allow-list.
        return signed_post(client, path, secret, tenant_id, address="10.9.9.9", signature=False).status_code

    assert [stranger() for _ in range(20)] == [403] * 20
    # From an allowed address but without the secret: refused too, and not counted either.
    assert [signed_post(client, path, secret, tenant_id, signature="forged").status_code for _ in range(5)] == [401] * 5
    # The stranger's refusals count against its own address (25 a minute)...
    assert [stranger() for _ in range(5)] == [403] * 5
    assert stranger() == 429
    # ...while the provider's signed webhooks still have the integration's whole budget.
    assert [signed_post(client, path, secret, tenant_id).status_code for _ in range(3)] == [200] * 3
    assert_limited(signed_post(client, path, secret, tenant_id))


def test_webhooks_are_limited_per_source_address(limited_app):
    client = limited_app.test_client()
    statuses = [client.post(f"/webhooks/core/token-{n}", json={}).status_code for n in range(6)]
    assert statuses == [404] * 5 + [429]
    other_address = client.post("/webhooks/core/token-x", json={}, environ_base={"REMOTE_ADDR": "127.0.0.8"})
    assert other_address.status_code == 404


def test_the_api_is_limited_per_key(limited_app):
    client = limited_app.test_client()
    mine, theirs = headers_for(limited_app), headers_for(limited_app)
    assert [client.get("/api/v1/orders", headers=mine).status_code for _ in range(4)] == [200] * 4
    assert_limited(client.get("/api/v1/orders", headers=mine))
    assert client.get("/api/v1/orders", headers=theirs).status_code == 200


def test_limits_can_be_switched_off(database_url):
    app = make_app(database_url, RATE_LIMIT_ENABLED=False, WEBHOOK_RATE_LIMIT_PER_INTEGRATION="1 per minute")
    try:
        client = app.test_client()
        assert [client.post("/webhooks/core/t", json={}).status_code for _ in range(3)] == [404] * 3
    finally:
        close_app(app)


def _redis_up() -> bool:
    try:
        import redis

        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception:
        return False


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_the_limit_holds_across_two_gunicorn_workers_with_redis(database_url, tmp_path):
    settings = {
        "RATE_LIMIT_STORAGE_URI": REDIS_URL,
        "WEBHOOK_RATE_LIMIT_PER_INTEGRATION": "5 per minute",
        # A prefix of its own, so earlier runs' counters in Redis cannot interfere.
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    with live_server(database_url, tmp_path, workers=2, settings=settings) as server:
        tenant = create_tenant_by_cli(server, "Redis")
        auth = {"Authorization": f"Bearer {tenant['api_key']}", "Content-Type": "application/json"}
        integration = request(server.port, "POST", "/api/v1/integrations", b'{"provider": "core"}', auth).json
        request(
            server.port, "POST", f"/api/v1/integrations/{integration['id']}/allowlist", b'{"cidr": "127.0.0.0/8"}', auth
        )
        path = "/" + integration["webhook_url"].split("/", 3)[3]
        secret = integration["credentials"][0]["secret"]

        def send(n):
            body = json.dumps(core_payload(tenant["tenant_id"], transactionRef=f"T{n}-{secrets.token_hex(2)}"))
            headers = {"Content-Type": "application/json", "Signature": core_signature(body.encode(), secret)}
            return request(server.port, "POST", path, body.encode(), headers).status

        # Four at a time: a sync worker serves one request at once, so both workers take part.
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(send, range(12)))
        assert statuses.count(200) == 5, statuses
        assert statuses.count(429) == 7, statuses
    # Two workers served concurrently; had each counted alone, up to ten would have passed.
    workers = {line.rsplit("pid:", 1)[1].strip() for line in server.log().splitlines() if "Booting worker" in line}
    assert len(workers) == 2


@pytest.mark.skipif(not _redis_up(), reason="needs Redis on 127.0.0.1:6379")
def test_strangers_neither_spend_the_budget_nor_fill_the_inbox_across_gunicorn_workers(database_url, tmp_path):
    settings = {
        "RATE_LIMIT_STORAGE_URI": REDIS_URL,
        "WEBHOOK_RATE_LIMIT_PER_INTEGRATION": "4 per minute",
        "WEBHOOK_INBOX_REFUSED_SAMPLE_PER_ADDRESS": "3 per hour",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    with live_server(database_url, tmp_path, workers=2, settings=settings) as server:
        tenant = create_tenant_by_cli(server, "Redis")
        auth = {"Authorization": f"Bearer {tenant['api_key']}", "Content-Type": "application/json"}
        integration = request(server.port, "POST", "/api/v1/integrations", b'{"provider": "core"}', auth).json
        allowlist = f"/api/v1/integrations/{integration['id']}/allowlist"
        assert request(server.port, "POST", allowlist, b'{"cidr": "127.0.0.1/32"}', auth).status == 201
        path = "/" + integration["webhook_url"].split("/", 3)[3]
        secret = integration["credentials"][0]["secret"]

        def send(n, source="127.0.0.1", signed=True):
            body = json.dumps(core_payload(tenant["tenant_id"], transactionRef=f"T{n}-{secrets.token_hex(2)}")).encode()
            headers = {"Content-Type": "application/json"}
            if signed:
                headers["Signature"] = core_signature(body, secret)
            return request(server.port, "POST", path, body, headers, source=source).status

        # 20 forged requests from an address off the allow-list, through both workers.
        with ThreadPoolExecutor(max_workers=4) as pool:
            forged = list(pool.map(lambda n: send(n, "127.0.0.9", signed=False), range(20)))
        assert forged == [403] * 20
        assert [send(n) for n in range(4)] == [200] * 4
        assert send(5) == 429
        events = request(server.port, "GET", "/api/v1/webhook-events?verdict=rejected_address", headers=auth).json
        assert [e["source_ip"] for e in events] == ["127.0.0.9"] * 3
        metrics = request(server.port, "GET", "/metrics").body.decode()
    unrecorded = [line for line in metrics.splitlines() if line.startswith("flux_recon_webhooks_unrecorded_total{")]
    assert unrecorded and float(unrecorded[0].rsplit(" ", 1)[1]) == 17, unrecorded
