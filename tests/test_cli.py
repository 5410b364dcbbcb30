"""The flux-recon command line: tenants, migrations, plugins, keys; and the admin endpoint."""

import json

from cryptography.fernet import Fernet

from flux_recon.cli import cli
from flux_recon.core.api_keys import hash_api_key
from flux_recon.models import ApiKey, db


def test_tenants_create_json_prints_a_working_key(app, runner, client):
    result = runner.invoke(cli, ["tenants", "create", "--name", "Ada's Pharmacy", "--json"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["tenant_id"].startswith("tn_")
    response = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {created['api_key']}"})
    assert response.status_code == 200
    with app.app_context():
        stored = ApiKey.get()
    db.close()
    # Stored as a hash, never as the key itself.
    assert stored.key_hash == hash_api_key(created["api_key"])
    assert created["api_key"] not in (stored.key_hash, stored.prefix)


def test_revoked_api_key_is_refused(app, runner, client):
    key = json.loads(runner.invoke(cli, ["tenants", "create", "--name", "X", "--json"]).output)["api_key"]
    with app.app_context():
        ApiKey.update(revoked_at=ApiKey.created_at).execute()
    db.close()
    assert client.get("/api/v1/orders", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_db_upgrade_and_status(runner):
    assert "up to date" in runner.invoke(cli, ["db", "upgrade"]).output
    status = runner.invoke(cli, ["db", "status"])
    assert status.exit_code == 0
    assert "[x] 0001_initial" in status.output


def test_plugins_lists_core_with_hooks_and_version(runner):
    plugins = json.loads(runner.invoke(cli, ["plugins"]).output)
    core = next(p for p in plugins if p["name"] == "core")
    assert core["hooks"] == ["flux_recon_register_providers"]
    assert core["version"]
    assert all(not p["name"].startswith("flux_recon.") for p in plugins)
    everything = json.loads(runner.invoke(cli, ["plugins", "--all"]).output)
    assert "flux_recon.reconciliation.matchers" in [p["name"] for p in everything]


def test_secrets_generate_key_prints_a_fernet_key(runner):
    key = runner.invoke(cli, ["secrets", "generate-key"]).output.strip()
    Fernet(key)  # raises if it is not one


def test_admin_token_creates_tenants(client):
    response = client.post(
        "/api/v1/tenants", json={"name": "Via API"}, headers={"Authorization": "Bearer admin-test-token"}
    )
    assert response.status_code == 201
    key = response.json["api_key"]
    assert client.get("/api/v1/orders", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_tenants_endpoint_refuses_without_the_admin_token(client, tenant):
    for headers in ({}, {"Authorization": "Bearer wrong"}, tenant["headers"]):
        response = client.post("/api/v1/tenants", json={"name": "Nope"}, headers=headers)
        assert response.status_code == 401


def test_tenants_endpoint_is_closed_when_no_admin_token_is_configured(app, client):
    app.config["ADMIN_TOKEN"] = None
    response = client.post("/api/v1/tenants", json={"name": "Nope"}, headers={"Authorization": "Bearer None"})
    assert response.status_code == 401
