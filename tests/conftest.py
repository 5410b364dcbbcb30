"""Shared fixtures: an app per test on SQLite, and on PostgreSQL when configured."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

import peewee
import pytest
from cryptography.fernet import Fernet

from flux_recon import create_app
from flux_recon.models import ALL_MODELS, db
from flux_recon.models.connections import open_database, upgrade
from flux_recon.services.tenants import create_tenant

POSTGRES_URL = os.environ.get("FLUX_RECON_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("FLUX_RECON_TEST_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])
TEST_SECRET_KEY = Fernet.generate_key().decode()


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: the bounded soak run by `make soak` (needs FLUX_RECON_SOAK_SECONDS)")


def pytest_report_header(config):
    return f"flux-recon database backends: {', '.join(BACKENDS)}"


@pytest.fixture(scope="session")
def postgres_schema():
    """Reset the PostgreSQL test database once per session and apply the migrations."""
    database = open_database(POSTGRES_URL)
    try:
        database.connect()
    except peewee.OperationalError as exc:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL at FLUX_RECON_TEST_POSTGRES_URL is unreachable: {exc}")
        pytest.skip("PostgreSQL unreachable")
    database.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
    database.execute_sql("CREATE SCHEMA public")
    upgrade(database)
    database.close_all()
    return POSTGRES_URL


def _truncate_postgres(database):
    tables = ", ".join(model._meta.table_name for model in ALL_MODELS)
    database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def _database_url(backend, tmp_path, request) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'flux_recon.sqlite3'}"
    return request.getfixturevalue("postgres_schema")


def make_app(url: str, **overrides):
    """An app on ``url`` with a clean schema; the caller closes it with ``close_app``."""
    config = {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": TEST_SECRET_KEY, "ADMIN_TOKEN": "admin-test-token"}
    plugins = overrides.pop("plugins", None)
    config.update(overrides)
    app = create_app(config, plugins=plugins)
    database = app.extensions["database"]
    with app.app_context():
        if url.startswith("sqlite"):
            upgrade(database)
        else:
            _truncate_postgres(database)
    return app


def close_app(app):
    database = app.extensions["database"]
    if hasattr(database, "close_all"):
        database.close_all()
    elif not database.is_closed():
        database.close()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def database_url(backend, tmp_path, request):
    return _database_url(backend, tmp_path, request)


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    close_app(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def tenant(app):
    """A tenant and its API key: ``{"tenant_id", "api_key", "headers"}``."""
    with app.app_context():
        row, api_key = create_tenant("Test Merchant")
    db.close()
    return {"tenant_id": row.id, "api_key": api_key, "headers": {"Authorization": f"Bearer {api_key}"}}


@pytest.fixture
def other_tenant(app):
    with app.app_context():
        row, api_key = create_tenant("Other Merchant")
    db.close()
    return {"tenant_id": row.id, "api_key": api_key, "headers": {"Authorization": f"Bearer {api_key}"}}


def core_signature(body: bytes, secret: str, key: str | None = None) -> str:
    """Base64(HMAC-SHA256(secret, body)), or with key "apiKey:apiSecret" when ``key`` is given."""
    signing_key = f"{key}:{secret}" if key else secret
    return base64.b64encode(hmac.new(signing_key.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def core_integration(client, tenant):
    """An enabled core integration whose allow-list admits 127.0.0.1 (the test client's address)."""
    response = client.post("/api/v1/integrations", json={"provider": "core"}, headers=tenant["headers"])
    assert response.status_code == 201, response.json
    integration = response.json
    added = client.post(
        f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": "127.0.0.1/32"}, headers=tenant["headers"]
    )
    assert added.status_code == 201, added.json
    credential = integration["credentials"][0]
    integration["path"] = integration["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    integration["path"] = "/" + integration["path"]
    integration["secret"] = credential["secret"]
    integration["key"] = credential["key"]
    return integration


def core_payload(tenant_id: str, **fields) -> dict:
    payload = {
        "tenantId": tenant_id,
        "transactionRef": "TRX-0001",
        "paymentRef": "INV-1001",
        "paymentMethod": "transfer",
        "amount": "15000.00",
        "currency": "NGN",
        "customer": {"id": "C-77", "name": "Ada Obi", "email": "ada@example.com", "phone": "+2348012345678"},
        "transactionDate": "2026-11-22T10:15:03+01:00",
        "accountNumber": "0123456789",
        "bankCode": "058",
        "bankName": "Guaranty Trust Bank",
        "accountName": "ADA OBI",
    }
    payload.update(fields)
    return {k: v for k, v in payload.items() if v is not None}


@pytest.fixture
def post_core(client, core_integration):
    """POST a core webhook, signed with the integration's secret unless told otherwise."""

    def post(payload, *, secret=None, signature=None, body=None, headers=None, environ=None, path=None):
        raw = body if body is not None else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json"}
        if signature is None:
            signature = core_signature(raw, secret or core_integration["secret"])
        if signature is not False:
            sent["Signature"] = signature
        sent.update(headers or {})
        return client.post(path or core_integration["path"], data=raw, headers=sent, environ_base=environ or {})

    return post


@pytest.fixture
def create_order(client, tenant):
    def create(reference="INV-1001", amount="15000.00", currency="NGN", headers=None, **fields):
        response = client.post(
            "/api/v1/orders",
            json={"reference": reference, "amount": amount, "currency": currency, **fields},
            headers=headers or tenant["headers"],
        )
        assert response.status_code == 201, response.json
        return response.json

    return create


# The console's real-browser fixtures, for every test module that asks for them.
from tests.browser import browser, new_page  # noqa: E402, F401
