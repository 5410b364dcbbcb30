"""The integrations, credentials and subscriptions services called directly, with no Flask context
(as the CLI or a console would): the same operations and refusals the REST API answers with."""

from __future__ import annotations

import json

import flask
import pytest
from standardwebhooks.webhooks import Webhook

from flux_recon.models import AuditEntry, Credential, db
from flux_recon.services import credentials, integrations, subscriptions
from flux_recon.services.errors import Conflict, Invalid, NotFound
from flux_recon.services.tenants import create_tenant
from tests.conftest import core_payload, core_signature
from tests.receiver import start_receiver


@pytest.fixture
def parts(app):
    """What a front-end other than REST holds: the provider registry and the secret box. No app
    context is pushed, so a service that reached for Flask would fail."""
    assert not flask.has_app_context()
    tenant, _ = create_tenant("Console Merchant")
    other, _ = create_tenant("Other Merchant")
    yield {
        "tenant": tenant.id,
        "other": other.id,
        "providers": app.extensions["providers"],
        "box": app.extensions["secret_box"],
    }
    db.close()


@pytest.fixture
def receiver():
    running = start_receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


def test_enable_add_network_and_the_secret_verifies_a_real_webhook(app, parts):
    tenant, providers, box = parts["tenant"], parts["providers"], parts["box"]
    integration, shown = integrations.enable(tenant, "core", providers, box, actor="cli")
    integrations.add_network(tenant, integration.id, " ::ffff:127.0.0.1 ", "loopback", actor="cli")

    described = integrations.describe(integration, providers, "https://recon.example.com/hook", shown)
    (credential,) = described["credentials"]
    assert credential["secret"] == shown[credential["id"]] and credential["key"].startswith("fk_")
    assert [entry.cidr for entry in described["allowlist"]["entries"]] == ["127.0.0.1/32"]
    assert described["allowlist"]["note"] is None
    assert [row.action for row in AuditEntry.select().order_by(AuditEntry.id)] == [
        "integration.enabled",
        "credential.created",
        "allowlist.added",
    ]
    assert {row.actor for row in AuditEntry.select()} == {"cli"}
    db.close()

    # The secret the service returned is the one the webhook endpoint checks.
    body = json.dumps(core_payload(tenant)).encode()
    answer = app.test_client().post(
        f"/webhooks/core/{integration.token}",
        data=body,
        headers={"Content-Type": "application/json", "Signature": core_signature(body, credential["secret"])},
    )
    assert answer.status_code == 200, answer.json


def test_integration_refusals_are_domain_errors(parts):
    tenant, other, providers, box = parts["tenant"], parts["other"], parts["providers"], parts["box"]
    with pytest.raises(Invalid) as unknown:
        integrations.enable(tenant, "paypalz", providers, box, actor="cli")
    assert unknown.value.message == "unknown provider 'paypalz'"
    assert list(unknown.value.fields) == ["provider"] and "core" in unknown.value.fields["provider"][0]

    integration, _ = integrations.enable(tenant, "core", providers, box, actor="cli")
    with pytest.raises(Conflict, match="the core integration is already enabled"):
        integrations.enable(tenant, "core", providers, box, actor="cli")

    # Another tenant's integration is not found, exactly like a missing one.
    with pytest.raises(NotFound, match=f"^integration {integration.id} not found$"):
        integrations.get_integration(other, integration.id)
    with pytest.raises(NotFound, match=f"^integration {integration.id} not found$"):
        integrations.disable(other, integration.id, actor="cli")

    with pytest.raises(Invalid) as bad_cidr:
        integrations.add_network(tenant, integration.id, "10.0.0.1/8", "", actor="cli")
    assert list(bad_cidr.value.fields) == ["cidr"]
    integrations.add_network(tenant, integration.id, "10.0.0.0/8", "", actor="cli")
    with pytest.raises(Conflict, match="10.0.0.0/8 is already on this allow-list"):
        integrations.add_network(tenant, integration.id, "10.0.0.0/8", "", actor="cli")
    with pytest.raises(NotFound, match="allow-list entry 999 not found"):
        integrations.remove_network(tenant, integration.id, 999, actor="cli")

    integrations.disable(tenant, integration.id, actor="cli")
    assert Credential.select().count() == 0
    with pytest.raises(NotFound):
        integrations.allowlist(tenant, integration.id)


def test_credentials_scoped_regenerate_and_supplied_secrets(parts):
    tenant, other, providers, box = parts["tenant"], parts["other"], parts["providers"], parts["box"]
    integration, shown = integrations.enable(tenant, "core", providers, box, actor="cli")
    primary_id = next(iter(shown))

    scoped = [
        credentials.add_scoped(tenant, integration.id, f"  till {n} ", providers, box, actor="cli") for n in range(5)
    ]
    assert scoped[0]["label"] == "till 0" and scoped[0]["secret"].startswith("fs_")
    with pytest.raises(Conflict, match="at most 5 scoped credentials"):
        credentials.add_scoped(tenant, integration.id, "one too many", providers, box, actor="cli")
    with pytest.raises(NotFound):
        credentials.add_scoped(other, integration.id, "not mine", providers, box, actor="cli")
    assert [c["label"] for c in credentials.list_generated(tenant, integration.id)] == [
        "primary",
        *(f"till {n}" for n in range(5)),
    ]

    with pytest.raises(Conflict, match="the primary credential cannot be deleted"):
        credentials.delete_scoped(tenant, integration.id, primary_id, actor="cli")
    credentials.delete_scoped(tenant, integration.id, scoped[0]["id"], actor="cli")
    with pytest.raises(NotFound, match=f"credential {scoped[0]['id']} not found"):
        credentials.regenerate(tenant, integration.id, scoped[0]["id"], 0, box, actor="cli")

    regenerated = credentials.regenerate(tenant, integration.id, primary_id, 3600, box, actor="cli")
    assert regenerated["secret"] != shown[primary_id] and regenerated["previous_valid_until"] is not None
    row = Credential.get_by_id(primary_id)
    assert box.decrypt(row.secret_encrypted) == regenerated["secret"]
    assert [old for old, _ in row.previous_secrets(box)] == [shown[primary_id]]

    # core has no supplied secrets: every name is unknown, and the answer says which exist.
    assert credentials.list_supplied(tenant, integration.id, providers) == []
    with pytest.raises(NotFound, match="provider core has no secret named 'client_secret' \\(its secrets: none\\)"):
        credentials.set_supplied_secret(tenant, integration.id, "client_secret", "x", providers, box, actor="cli")


def test_supplied_secret_set_and_cleared(parts):
    tenant, providers, box = parts["tenant"], parts["providers"], parts["box"]
    integration, _ = integrations.enable(tenant, "monnify", providers, box, actor="cli")
    with pytest.raises(Conflict, match="uses secrets from its own dashboard"):
        credentials.add_scoped(tenant, integration.id, "till", providers, box, actor="cli")
    with pytest.raises(NotFound, match="^client_secret is not set$"):
        credentials.clear_supplied_secret(tenant, integration.id, "client_secret", providers, actor="cli")

    status = credentials.set_supplied_secret(
        tenant, integration.id, "client_secret", "  from-the-dashboard ", providers, box, actor="cli"
    )
    assert status["name"] == "client_secret" and status["set"] is True and "from-the" not in str(status)
    stored = Credential.get((Credential.integration == integration.id) & (Credential.name == "client_secret"))
    assert box.decrypt(stored.secret_encrypted) == "from-the-dashboard"
    credentials.clear_supplied_secret(tenant, integration.id, "client_secret", providers, actor="cli")
    assert not any(s["set"] for s in credentials.list_supplied(tenant, integration.id, providers))


def test_subscription_create_ping_and_refusals(parts, receiver):
    tenant, other, box = parts["tenant"], parts["other"], parts["box"]
    data = {
        "label": " Till ",
        "url": receiver.url,
        "events": ["order.paid", "payment.matched", "order.paid"],
        "authentication": {"type": "basic", "username": "flux", "password": "pw-123"},
        "signature": {"type": "signing_key"},
    }
    # The SSRF guard refuses a loopback destination unless the operator allows private ones,
    # and names the field as the REST answer does.
    with pytest.raises(Invalid) as refused:
        subscriptions.create(tenant, "cli", data, box, allow_private=False)
    assert list(refused.value.fields) == ["url"] and refused.value.fields["url"] == [refused.value.message]

    created = subscriptions.create(tenant, "cli", data, box, allow_private=True)
    assert (created["label"], created["events"]) == ("Till", ["order.paid", "payment.matched"])
    assert created["signing_key"].startswith("whsec_") and "pw-123" not in str(created)
    assert "signing_key" not in subscriptions.show(tenant, created["id"])

    result = subscriptions.send_ping(tenant, created["id"], box, allow_private=True)
    assert result["ok"] is True and result["status_code"] == 200
    (ping,) = receiver.requests
    assert ping.headers["authorization"] == "Basic Zmx1eDpwdy0xMjM="  # flux:pw-123
    Webhook(created["signing_key"]).verify(ping.body, ping.headers)
    with pytest.raises(Invalid, match="private"):
        subscriptions.send_ping(tenant, created["id"], box, allow_private=False)

    changed = subscriptions.update(tenant, created["id"], "cli", {"enabled": False}, box, allow_private=True)
    assert (changed["enabled"], changed["disabled_reason"]) == (False, "disabled by you")
    new_key = subscriptions.regenerate_signing_key(tenant, created["id"], "cli", box)["signing_key"]
    assert new_key != created["signing_key"]

    for operation in (
        lambda: subscriptions.show(other, created["id"]),
        lambda: subscriptions.send_ping(other, created["id"], box, allow_private=True),
        lambda: subscriptions.delete(other, created["id"], "cli"),
    ):
        with pytest.raises(NotFound, match=f"^subscription {created['id']} not found$"):
            operation()
    subscriptions.delete(tenant, created["id"], "cli")
    assert subscriptions.list_subscriptions(tenant) == []
    assert len(receiver.requests) == 1  # nothing but the one ping went out
