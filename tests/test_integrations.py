"""/api/v1/integrations: enable, show (no secrets), disable, and the IP allow-list."""

import pytest

from flux_recon.models import Credential, db


def enable(client, tenant, provider="core"):
    return client.post("/api/v1/integrations", json={"provider": provider}, headers=tenant["headers"])


def test_enable_returns_url_secret_once_and_empty_allowlist(client, tenant):
    response = enable(client, tenant)
    assert response.status_code == 201
    body = response.json
    assert body["provider"] == "core"
    assert body["tenant_id"] == tenant["tenant_id"]
    assert body["webhook_url"].startswith("http://localhost/webhooks/core/")
    (credential,) = body["credentials"]
    assert credential["secret"].startswith("fs_") and credential["key"].startswith("fk_")
    assert body["allowlist"]["entries"] == []
    assert "admits" in body["allowlist"]["note"] or "no webhook" in body["allowlist"]["note"]

    shown = client.get(f"/api/v1/integrations/{body['id']}", headers=tenant["headers"])
    assert shown.status_code == 200
    assert "secret" not in shown.json["credentials"][0]
    assert credential["secret"] not in shown.get_data(as_text=True)
    listed = client.get("/api/v1/integrations", headers=tenant["headers"])
    assert credential["secret"] not in listed.get_data(as_text=True)


def test_secret_is_encrypted_at_rest(app, client, tenant):
    secret = enable(client, tenant).json["credentials"][0]["secret"]
    with app.app_context():
        stored = Credential.get().secret_encrypted
    db.close()
    assert secret not in stored
    assert app.extensions["secret_box"].decrypt(stored) == secret


def test_public_base_url_is_used_for_the_webhook_url(app, client, tenant):
    app.config["PUBLIC_BASE_URL"] = "https://recon.example.com/"
    assert enable(client, tenant).json["webhook_url"].startswith("https://recon.example.com/webhooks/core/")


def test_enabling_twice_is_a_conflict(client, tenant):
    assert enable(client, tenant).status_code == 201
    response = enable(client, tenant)
    assert response.status_code == 409
    assert "already enabled" in response.json["message"]


def test_unknown_provider_is_422_naming_the_loaded_ones(client, tenant):
    response = enable(client, tenant, "paypalz")
    assert response.status_code == 422
    assert "core" in str(response.json["errors"])


def test_disable_deletes_and_reenable_gives_new_url_and_secret(client, tenant):
    first = enable(client, tenant).json
    assert client.delete(f"/api/v1/integrations/{first['id']}", headers=tenant["headers"]).status_code == 204
    assert client.get(f"/api/v1/integrations/{first['id']}", headers=tenant["headers"]).status_code == 404
    assert client.get("/api/v1/integrations", headers=tenant["headers"]).json == []
    second = enable(client, tenant).json
    assert second["webhook_url"] != first["webhook_url"]
    assert second["credentials"][0]["secret"] != first["credentials"][0]["secret"]


def test_another_tenants_integration_is_404(client, tenant, other_tenant):
    mine = enable(client, tenant).json
    for method, path in [
        ("get", f"/api/v1/integrations/{mine['id']}"),
        ("delete", f"/api/v1/integrations/{mine['id']}"),
        ("get", f"/api/v1/integrations/{mine['id']}/allowlist"),
    ]:
        assert getattr(client, method)(path, headers=other_tenant["headers"]).status_code == 404
    response = client.post(
        f"/api/v1/integrations/{mine['id']}/allowlist", json={"cidr": "10.0.0.1"}, headers=other_tenant["headers"]
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("203.0.113.10", "203.0.113.10/32"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("2001:DB8::1", "2001:db8::1/128"),
    ],
)
def test_allowlist_accepts_addresses_and_networks(client, tenant, given, stored):
    integration = enable(client, tenant).json
    response = client.post(
        f"/api/v1/integrations/{integration['id']}/allowlist",
        json={"cidr": given, "label": "gateway"},
        headers=tenant["headers"],
    )
    assert response.status_code == 201, response.json
    assert response.json["cidr"] == stored
    listed = client.get(f"/api/v1/integrations/{integration['id']}/allowlist", headers=tenant["headers"]).json
    assert [e["cidr"] for e in listed["entries"]] == [stored]
    assert listed["note"] is None


@pytest.mark.parametrize("given", ["10.0.0.1/8", "999.1.1.1", "not-an-ip", "", "10.0.0.0/33"])
def test_allowlist_refuses_invalid_networks(client, tenant, given):
    integration = enable(client, tenant).json
    response = client.post(
        f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": given}, headers=tenant["headers"]
    )
    assert response.status_code == 422
    assert "cidr" in response.json["errors"]["json"]


def test_allowlist_refuses_duplicates_and_removes_entries(client, tenant):
    integration = enable(client, tenant).json
    path = f"/api/v1/integrations/{integration['id']}/allowlist"
    entry = client.post(path, json={"cidr": "10.0.0.1"}, headers=tenant["headers"]).json
    duplicate = client.post(path, json={"cidr": "10.0.0.1/32"}, headers=tenant["headers"])
    assert duplicate.status_code == 409
    assert client.delete(f"{path}/{entry['id']}", headers=tenant["headers"]).status_code == 204
    assert client.delete(f"{path}/{entry['id']}", headers=tenant["headers"]).status_code == 404
    assert client.get(path, headers=tenant["headers"]).json["entries"] == []


def test_providers_lists_core_with_its_auth(client, tenant):
    providers = client.get("/api/v1/providers", headers=tenant["headers"]).json
    core = next(p for p in providers if p["name"] == "core")
    assert [check["type"] for check in core["auth"]] == ["ip_allowlist", "header_hmac"]
    assert core["credentials"][0]["generated"] is True
