"""A flux-recon app for a plugin's tests, and a merchant's integration enabled on it over REST."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

#: The operator token of apps made by :func:`create_test_app` (it creates tenants).
ADMIN_TOKEN = "flux-recon-test-admin-token"  # noqa: S105 - a test app's token, published on purpose


def create_test_app(instance_path: str | Path, *, plugins: list | None = None, **settings):
    """A flux-recon app for tests: a fresh SQLite database under ``instance_path`` with the
    migrations applied, a new encryption key, the operator token :data:`ADMIN_TOKEN`, and
    exactly ``plugins`` registered (``None``: every installed plugin).

    ``settings`` override any setting, e.g. ``DATABASE_URL`` for another database.
    """
    from cryptography.fernet import Fernet

    from flux_recon import create_app
    from flux_recon.models.connections import upgrade

    config = {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'flux_recon.sqlite3'}",
        "SECRET_KEY": Fernet.generate_key().decode(),
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "RATE_LIMIT_ENABLED": False,
    }
    config.update(settings)
    app = create_app(config, plugins=plugins)
    with app.app_context():
        upgrade(app.extensions["database"])
    return app


@dataclass
class EnabledIntegration:
    """A merchant (tenant) with one enabled integration, as :func:`enable_integration` left it."""

    id: int
    provider: str
    tenant_id: str
    #: ``{"Authorization": "Bearer <api key>"}`` for the merchant's REST calls.
    api_headers: dict[str, str]
    #: The path to POST the provider's webhooks to: ``/webhooks/<provider>/<token>``.
    webhook_path: str
    #: Every secret the integration holds, by credential name: the supplied ones you gave
    #: and the generated ones flux-recon made (shown once, kept here). Sign with them:
    #: ``Provider.sign(payload, integration.secrets)``.
    secrets: dict[str, str] = field(default_factory=dict)
    #: The enable answer as the API returned it.
    details: dict = field(default_factory=dict)


def enable_integration(
    client,
    provider: str,
    *,
    secrets: Mapping[str, str] | None = None,
    allow: Iterable[str] = ("127.0.0.1/32",),
    tenant_name: str = "Plugin Test Merchant",
) -> EnabledIntegration:
    """Do over REST what a merchant does: create a tenant (with :data:`ADMIN_TOKEN`), enable
    ``provider``, set its supplied ``secrets`` and add ``allow`` to the allow-list (the
    test client sends from 127.0.0.1).

    :param client: ``app.test_client()`` of an app from :func:`create_test_app`.
    """
    tenant = _expect(
        client.post("/api/v1/tenants", json={"name": tenant_name}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}),
        201,
    )
    headers = {"Authorization": f"Bearer {tenant['api_key']}"}
    enabled = _expect(client.post("/api/v1/integrations", json={"provider": provider}, headers=headers), 201)
    base = f"/api/v1/integrations/{enabled['id']}"
    held = {credential["name"]: credential["secret"] for credential in enabled["credentials"] if "secret" in credential}
    for name, value in (secrets or {}).items():
        _expect(client.put(f"{base}/secrets/{name}", json={"value": value}, headers=headers), 200)
        held[name] = value
    for cidr in allow:
        _expect(client.post(f"{base}/allowlist", json={"cidr": cidr, "label": "tests"}, headers=headers), 201)
    return EnabledIntegration(
        id=enabled["id"],
        provider=provider,
        tenant_id=tenant["tenant_id"],
        api_headers=headers,
        webhook_path=urlsplit(enabled["webhook_url"]).path,
        secrets=held,
        details=enabled,
    )


def _expect(response, status: int) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.path}: {response.json}"
    return response.json
