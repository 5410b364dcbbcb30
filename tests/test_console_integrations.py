"""Console Integrations section: enable, webhook URL, allow-list, credentials, secrets, options, disable, roles."""

from __future__ import annotations

import html
import json
import re

import pytest

from flux_recon.models import AllowedNetwork, AuditEntry, Credential, Integration, db
from tests.conftest import core_signature
from tests.console_helpers import enrol_second_factor, make_user, sign_in, submit


def signed_in(app, tenant, email, role, *, second_factor=True):
    make_user(app, tenant["tenant_id"], email, role)
    client = app.test_client()
    sign_in(client, email)
    if second_factor:
        enrol_second_factor(app, client, email)
    return client


@pytest.fixture
def owner(app, tenant):
    return signed_in(app, tenant, "owner@example.com", "owner")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def flashes(client, path) -> str:
    page = text(client.get(path))
    found = re.search(r'<div class="flashes".*?</div>', page, re.S)
    return found.group(0) if found else ""


def enable(client, provider="core", **fields):
    return submit(client, "/console/integrations", {"provider": provider, **fields})


def enabled_id(app, tenant, provider="core") -> int:
    with app.app_context():
        row = Integration.get(
            (Integration.tenant == tenant["tenant_id"])
            & (Integration.provider == provider)
            & Integration.disabled_at.is_null()
        )
    db.close()
    return row.id


def test_enabling_core_shows_its_url_to_copy_and_its_secret_once(app, owner, tenant, client):
    page = enable(owner)
    body = text(page)
    assert page.status_code == 200
    url = re.search(r'id="webhook-url" readonly value="([^"]+)"', body).group(1)
    assert re.fullmatch(r"http://localhost/webhooks/core/[\w-]{20,}", url)
    assert 'data-copy="#webhook-url"' in body
    secret = re.search(r'id="secret-\d+" readonly value="(fs_[^"]+)"', body).group(1)
    assert "allow-list is empty" in body

    integration_id = enabled_id(app, tenant)
    detail = text(owner.get(f"/console/integrations/{integration_id}"))
    assert url in detail and secret not in detail  # the secret is never shown again

    # The URL works with that secret once an address is allowed.
    submit(
        owner,
        f"/console/integrations/{integration_id}/allowlist",
        {"cidr": "127.0.0.1", "label": "test"},
        form_at=f"/console/integrations/{integration_id}",
    )
    raw = json.dumps(
        {
            "tenantId": tenant["tenant_id"],
            "transactionRef": "T-1",
            "paymentRef": "INV-1",
            "amount": "100.00",
            "currency": "NGN",
            "paymentMethod": "transfer",
            "transactionDate": "2026-11-22T10:15:03+01:00",
        }
    ).encode()
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    answered = client.post(
        path, data=raw, headers={"Content-Type": "application/json", "Signature": core_signature(raw, secret)}
    )
    assert answered.status_code == 200, answered.json
    assert answered.json["status"] == "accepted"


def test_the_list_shows_enabled_integrations_and_offers_the_others(app, owner, tenant):
    enable(owner)
    page = text(owner.get("/console/integrations"))
    assert "/webhooks/core/" in page
    assert 'id="enable-core"' not in page  # enabled already
    assert 'id="enable-monnify"' in page and 'id="enable-opay"' in page
    # A provider's declared options are offered when enabling it.
    assert 'name="option.api_generation"' in page


def test_enabling_twice_or_an_unknown_provider_is_a_clear_error(app, owner, tenant):
    enable(owner)
    again = enable(owner)
    assert again.status_code == 302
    assert "already enabled" in flashes(owner, "/console/integrations")
    unknown = enable(owner, provider="nope")
    assert unknown.status_code == 302
    assert "unknown provider" in flashes(owner, "/console/integrations")


def test_a_bad_option_is_named_and_nothing_is_enabled(app, owner, tenant):
    response = enable(owner, provider="opay", **{"option.api_generation": "v99"})
    assert response.status_code == 302
    assert "api_generation" in flashes(owner, "/console/integrations")
    with app.app_context():
        assert not Integration.select().where(Integration.provider == "opay").exists()
    db.close()


def test_allow_list_add_remove_and_a_bad_cidr(app, owner, tenant):
    enable(owner)
    integration_id = enabled_id(app, tenant)
    detail = f"/console/integrations/{integration_id}"
    added = submit(owner, f"{detail}/allowlist", {"cidr": "203.0.113.0/24", "label": "office"}, form_at=detail)
    assert added.status_code == 302
    assert "203.0.113.0/24 may now send" in flashes(owner, detail)
    bad = submit(owner, f"{detail}/allowlist", {"cidr": "203.0.113.1/24", "label": ""}, form_at=detail)
    assert bad.status_code == 302
    assert "is not an IPv4/IPv6 address or CIDR network" in flashes(owner, detail)
    garbage = submit(owner, f"{detail}/allowlist", {"cidr": "not an address"}, form_at=detail)
    assert garbage.status_code == 302
    duplicate = submit(owner, f"{detail}/allowlist", {"cidr": "203.0.113.0/24"}, form_at=detail)
    assert duplicate.status_code == 302
    assert "already on this allow-list" in flashes(owner, detail)
    with app.app_context():
        entry = AllowedNetwork.get(AllowedNetwork.integration == integration_id)
        assert entry.cidr == "203.0.113.0/24" and entry.label == "office"
    db.close()
    removed = submit(owner, f"{detail}/allowlist/{entry.id}/remove", {}, form_at=detail)
    assert removed.status_code == 302
    with app.app_context():
        assert not AllowedNetwork.select().where(AllowedNetwork.integration == integration_id).exists()
        assert AuditEntry.select().where(AuditEntry.action == "allowlist.removed").count() == 1
    db.close()


def test_five_scoped_credentials_then_a_clear_refusal(app, owner, tenant):
    enable(owner)
    integration_id = enabled_id(app, tenant)
    detail = f"/console/integrations/{integration_id}"
    for n in range(5):
        made = submit(owner, f"{detail}/credentials", {"label": f"sender {n}"}, form_at=detail)
        assert made.status_code == 200
        assert re.search(r'id="credential-secret" readonly value="fs_', text(made))
    sixth = submit(owner, f"{detail}/credentials", {"label": "one too many"}, form_at=detail)
    assert sixth.status_code == 302
    assert "at most 5 scoped credentials" in flashes(owner, detail)
    blank = submit(owner, f"{detail}/credentials", {"label": "   "}, form_at=detail)
    assert blank.status_code == 302
    assert "needs a label" in flashes(owner, detail)
    with app.app_context():
        assert Credential.select().where(Credential.scope == "scoped").count() == 5
    db.close()


def test_regenerate_shows_the_new_secret_once_and_delete_removes_a_scoped_one(app, owner, tenant):
    enable(owner)
    integration_id = enabled_id(app, tenant)
    detail = f"/console/integrations/{integration_id}"
    with app.app_context():
        primary = Credential.get((Credential.integration == integration_id) & (Credential.scope == "primary"))
    db.close()
    page = submit(owner, f"{detail}/credentials/{primary.id}/regenerate", {"grace_seconds": "3600"}, form_at=detail)
    body = text(page)
    assert page.status_code == 200
    secret = re.search(r'id="credential-secret" readonly value="(fs_[^"]+)"', body).group(1)
    assert "Old secret verifies until" in body
    with app.app_context():
        stored = Credential.get_by_id(primary.id)
        assert app.extensions["secret_box"].decrypt(stored.secret_encrypted) == secret
    db.close()
    bad_grace = submit(
        owner, f"{detail}/credentials/{primary.id}/regenerate", {"grace_seconds": "soon"}, form_at=detail
    )
    assert bad_grace.status_code == 302
    assert "grace period" in flashes(owner, detail)

    # The primary one cannot be deleted; a scoped one can.
    refused = submit(owner, f"{detail}/credentials/{primary.id}/delete", {}, form_at=detail)
    assert refused.status_code == 302
    assert "primary credential cannot be deleted" in flashes(owner, detail)
    submit(owner, f"{detail}/credentials", {"label": "branch"}, form_at=detail)
    with app.app_context():
        scoped = Credential.get(Credential.scope == "scoped")
    db.close()
    submit(owner, f"{detail}/credentials/{scoped.id}/delete", {}, form_at=detail)
    with app.app_context():
        assert not Credential.select().where(Credential.scope == "scoped").exists()
    db.close()


def test_a_supplied_secret_is_write_only(app, owner, tenant):
    enable(owner, provider="monnify")
    integration_id = enabled_id(app, tenant, "monnify")
    detail = f"/console/integrations/{integration_id}"
    page = text(owner.get(detail))
    assert 'name="value" type="password"' in page
    saved = submit(owner, f"{detail}/secrets/client_secret", {"value": "MONNIFY-CLIENT-SECRET-123"}, form_at=detail)
    assert saved.status_code == 302
    page = text(owner.get(detail))
    assert "MONNIFY-CLIENT-SECRET-123" not in page
    assert "set</span> since" in page
    with app.app_context():
        row = Credential.get((Credential.integration == integration_id) & (Credential.name == "client_secret"))
        assert app.extensions["secret_box"].decrypt(row.secret_encrypted) == "MONNIFY-CLIENT-SECRET-123"
    db.close()
    unknown = submit(owner, f"{detail}/secrets/nope", {"value": "x"}, form_at=detail)
    assert unknown.status_code == 302
    assert "has no secret named" in flashes(owner, detail)
    empty = submit(owner, f"{detail}/secrets/client_secret", {"value": ""}, form_at=detail)
    assert empty.status_code == 302
    cleared = submit(owner, f"{detail}/secrets/client_secret/clear", {}, form_at=detail)
    assert cleared.status_code == 302
    with app.app_context():
        assert not Credential.select().where(Credential.name == "client_secret").exists()
    db.close()


def test_options_are_saved_and_bad_ones_named(app, owner, tenant):
    enable(owner, provider="opay")
    integration_id = enabled_id(app, tenant, "opay")
    detail = f"/console/integrations/{integration_id}"
    page = text(owner.get(detail))
    select = page.split('name="option.api_generation"', 1)[1].split("</select>")[0]
    choices = re.findall(r'<option value="([^"]+)"', select)
    other = next(c for c in choices if c != re.search(r'<option value="([^"]+)" selected', page).group(1))
    saved = submit(owner, f"{detail}/options", {"option.api_generation": other}, form_at=detail)
    assert saved.status_code == 302
    with app.app_context():
        assert Integration.get_by_id(integration_id).options["api_generation"] == other
    db.close()
    bad = submit(owner, f"{detail}/options", {"option.api_generation": "v99"}, form_at=detail)
    assert bad.status_code == 302
    assert "api_generation" in flashes(owner, detail)


def test_the_generic_provider_takes_its_configuration_as_json(app, owner, tenant):
    page = text(owner.get("/console/integrations"))
    assert 'id="options-generic"' in page
    broken = enable(owner, provider="generic", options_json="{not json")
    assert broken.status_code == 302
    assert "not valid JSON" in flashes(owner, "/console/integrations")


def test_disable_says_it_deletes_and_does(app, owner, tenant):
    enable(owner)
    integration_id = enabled_id(app, tenant)
    detail = f"/console/integrations/{integration_id}"
    page = text(owner.get(detail))
    assert re.search(r'data-confirm="[^"]*deletes its webhook URL, credentials and allow-list', page)
    done = submit(owner, f"{detail}/disable", {}, form_at=detail)
    assert done.status_code == 302 and done.headers["Location"].endswith("/console/integrations")
    with app.app_context():
        assert Integration.get_by_id(integration_id).disabled_at is not None
        assert not Credential.select().where(Credential.integration == integration_id).exists()
    db.close()
    assert owner.get(detail).status_code == 404


def test_another_tenants_integration_is_a_404(app, owner, tenant, other_tenant):
    outsider = signed_in(app, other_tenant, "other@example.com", "owner")
    enable(owner)
    integration_id = enabled_id(app, tenant)
    assert outsider.get(f"/console/integrations/{integration_id}").status_code == 404
    refused = submit(outsider, f"/console/integrations/{integration_id}/disable", {}, form_at="/console/integrations")
    assert refused.status_code == 302  # the domain's NotFound, shown as a flash
    assert "not found" in flashes(outsider, "/console/integrations")
    with app.app_context():
        assert Integration.get_by_id(integration_id).disabled_at is None
    db.close()


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_viewer_and_finance_may_look_but_every_change_is_a_403(app, owner, tenant, role):
    enable(owner)
    integration_id = enabled_id(app, tenant)
    other = signed_in(app, tenant, f"{role}@example.com", role)
    detail = f"/console/integrations/{integration_id}"
    page = other.get(detail)
    assert page.status_code == 200
    assert "Allow address" not in text(page) and "Disable and delete" not in text(page)
    with app.app_context():
        credential_id = Credential.get(Credential.integration == integration_id).id
    db.close()
    for path in (
        "/console/integrations",
        f"{detail}/allowlist",
        f"{detail}/allowlist/1/remove",
        f"{detail}/credentials",
        f"{detail}/credentials/{credential_id}/regenerate",
        f"{detail}/credentials/{credential_id}/delete",
        f"{detail}/secrets/client_secret",
        f"{detail}/secrets/client_secret/clear",
        f"{detail}/options",
        f"{detail}/disable",
    ):
        refused = submit(
            other,
            path,
            {"provider": "monnify", "cidr": "10.0.0.1", "label": "x", "value": "v", "grace_seconds": "0"},
            form_at=detail,
        )
        assert refused.status_code == 403, path
    with app.app_context():
        assert Integration.get_by_id(integration_id).disabled_at is None
        assert AllowedNetwork.select().count() == 0
    db.close()


def test_a_developer_may_change_things(app, tenant):
    developer = signed_in(app, tenant, "dev@example.com", "developer")
    assert enable(developer).status_code == 200


def test_without_two_factor_the_section_asks_to_set_it_up(app, tenant):
    client = signed_in(app, tenant, "new@example.com", "developer", second_factor=False)
    response = client.get("/console/integrations")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/account/2fa?next=/console/integrations")
