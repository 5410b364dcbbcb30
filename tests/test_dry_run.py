"""POST /api/v1/integrations/{id}/dry-run: a webhook tried against an integration's configuration, nothing recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from flux_recon.models import AuditEntry, Payment, WebhookEvent, db
from flux_recon_core.provider import CoreProvider
from flux_recon_fuspay.provider import FuspayProvider
from flux_recon_generic.provider import GenericProvider
from flux_recon_monnify.provider import MonnifyProvider
from flux_recon_opay.provider import OpayProvider
from flux_recon_paystack.provider import PaystackProvider
from tests.conftest import core_payload, core_signature

SECRET = "whk_test_3b9c51"


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sample(name: str = "payment_success", **data) -> bytes:
    document = GenericProvider.sample_payloads()[name]
    document["data"].update(data)
    return json.dumps(document).encode()


@pytest.fixture
def generic(client, tenant):
    """A generic integration with the example platform's configuration and its secret set.
    Its allow-list stays empty: a dry run does not check it."""
    response = client.post(
        "/api/v1/integrations",
        json={"provider": "generic", "options": GenericProvider.sample_configuration()},
        headers=tenant["headers"],
    )
    assert response.status_code == 201, response.json
    integration = response.json
    put = client.put(
        f"/api/v1/integrations/{integration['id']}/secrets/secret", json={"value": SECRET}, headers=tenant["headers"]
    )
    assert put.status_code == 200, put.json
    return integration


def dry_run(client, tenant, integration, **body):
    return client.post(f"/api/v1/integrations/{integration['id']}/dry-run", json=body, headers=tenant["headers"])


def counts(app):
    with app.app_context():
        result = (WebhookEvent.select().count(), Payment.select().count(), AuditEntry.select().count())
    db.close()
    return result


def test_a_signed_payment_gives_its_notice_and_records_nothing(app, client, tenant, generic):
    before = counts(app)
    body = sample()
    response = dry_run(client, tenant, generic, body=body.decode(), headers={"X-Signature": signature(body)})
    assert response.status_code == 200, response.json
    result = response.json
    assert (result["outcome"], result["verdict"], result["http_status"]) == ("notices", "accepted", 200)
    assert result["skipped_checks"] == ["ip_allowlist"] and result["recorded"] is False
    [notice] = result["notices"]
    assert notice["amount"] == "15000.00" and notice["currency"] == "NGN"
    assert (notice["kind"], notice["status"], notice["external_id"]) == ("payment", "succeeded", "TXN-20261122-0001")
    assert notice["references"] == ["INV-1001"] and notice["payer"]["email"] == "ada@example.com"
    assert counts(app) == before


def test_a_wrong_signature_is_refused_as_the_webhook_would_be(app, client, tenant, generic):
    before = counts(app)
    body = sample()
    result = dry_run(client, tenant, generic, body=body.decode(), headers={"X-Signature": signature(body, "x")}).json
    assert (result["outcome"], result["verdict"], result["http_status"]) == ("refused", "rejected_signature", 401)
    assert "does not match" in result["message"] and result["notices"] == []
    missing = dry_run(client, tenant, generic, body=body.decode()).json
    assert missing["http_status"] == 401 and "missing signature" in missing["message"]
    assert counts(app) == before


def test_a_payload_that_does_not_fit_names_each_field(client, tenant, generic):
    body = sample(amount="15000.005", currency=None)
    result = dry_run(client, tenant, generic, body=body.decode(), headers={"X-Signature": signature(body)}).json
    assert (result["outcome"], result["verdict"], result["http_status"]) == ("refused", "invalid_payload", 422)
    assert set(result["errors"]) == {"data.currency"}
    body = sample(amount="15000.005")
    result = dry_run(client, tenant, generic, body=body.decode(), headers={"X-Signature": signature(body)}).json
    assert "data.amount" in result["errors"]


def test_ignored_unrecognized_and_malformed(client, tenant, generic):
    ignored = sample("transfer_success")
    result = dry_run(client, tenant, generic, body=ignored.decode(), headers={"X-Signature": signature(ignored)}).json
    assert (result["outcome"], result["verdict"], result["http_status"]) == ("ignored", "ignored", 200)
    renew = json.dumps({"event": "subscription.renew", "data": {"plan": "gold"}}).encode()
    result = dry_run(client, tenant, generic, body=renew.decode(), headers={"X-Signature": signature(renew)}).json
    assert (result["outcome"], result["verdict"]) == ("unrecognized", "unrecognized")
    assert "subscription.renew" in result["message"]
    broken = b'{"event": '
    result = dry_run(client, tenant, generic, body=broken.decode(), headers={"X-Signature": signature(broken)}).json
    assert (result["verdict"], result["http_status"]) == ("invalid_payload", 400)
    as_text = dry_run(
        client,
        tenant,
        generic,
        body=renew.decode(),
        headers={"X-Signature": signature(renew), "content-type": "text/plain"},
    ).json
    assert as_text["http_status"] == 415


def test_the_body_in_base64_and_exactly_one_body(client, tenant, generic):
    body = sample()
    encoded = base64.b64encode(body).decode()
    result = dry_run(client, tenant, generic, body_base64=encoded, headers={"X-Signature": signature(body)}).json
    assert result["outcome"] == "notices"
    both = dry_run(client, tenant, generic, body=body.decode(), body_base64=encoded)
    assert both.status_code == 422 and "body" in both.json["errors"]["json"]
    for bad_base64 in ("not base64!", "\u0018\u00a6"):
        bad = dry_run(client, tenant, generic, body_base64=bad_base64)
        assert bad.status_code == 422 and "body_base64" in bad.json["errors"]["json"]


def test_unsaved_options_are_tried_and_checked_but_never_saved(app, client, tenant, generic):
    options = GenericProvider.sample_configuration()
    options["mapping"]["amount_unit"] = "minor"
    body = sample(amount=1500050)
    tried = dry_run(
        client, tenant, generic, body=body.decode(), headers={"X-Signature": signature(body)}, options=options
    ).json
    assert tried["notices"][0]["amount"] == "15000.50"
    shown = client.get(f"/api/v1/integrations/{generic['id']}", headers=tenant["headers"]).json
    assert shown["options"]["mapping"]["amount_unit"] == "major"
    options["mapping"]["amount_unit"] = "kobo"
    refused = dry_run(client, tenant, generic, body=body.decode(), options=options)
    assert refused.status_code == 422
    assert "options.mapping.amount_unit" in refused.json["errors"]["json"]


def test_any_provider_can_be_dry_run(app, client, tenant, core_integration):
    before = counts(app)
    body = json.dumps(core_payload(tenant["tenant_id"])).encode()
    headers = {"Signature": core_signature(body, core_integration["secret"]), "Content-Type": "application/json"}
    result = dry_run(client, tenant, core_integration, body=body.decode(), headers=headers).json
    assert result["outcome"] == "notices" and result["notices"][0]["amount"] == "15000.00"
    other = json.dumps(core_payload("another-tenant")).encode()
    headers = {"Signature": core_signature(other, core_integration["secret"])}
    result = dry_run(client, tenant, core_integration, body=other.decode(), headers=headers).json
    assert (result["http_status"], result["errors"]) == (422, {"tenantId": ["does not match the integration's tenant"]})
    assert counts(app) == before


def test_another_tenants_integration_is_404(client, tenant, other_tenant, generic):
    response = dry_run(client, other_tenant, generic, body="{}")
    assert response.status_code == 404


def test_a_generic_integration_needs_a_valid_configuration(client, tenant):
    response = client.post("/api/v1/integrations", json={"provider": "generic"}, headers=tenant["headers"])
    assert response.status_code == 422
    assert {"options.verification", "options.mapping", "options.events"} <= set(response.json["errors"]["json"])
    options = GenericProvider.sample_configuration()
    options["verification"] = {"mode": "hmac", "header": "X-Signature", "algorithm": "md5"}
    response = client.post(
        "/api/v1/integrations", json={"provider": "generic", "options": options}, headers=tenant["headers"]
    )
    assert response.status_code == 422
    assert response.json["errors"]["json"]["options.verification.algorithm"] == ["must be one of: sha1, sha256, sha512"]


# -- every shipped sample of every installed provider -----------------------------------------

PROVIDERS = (CoreProvider, MonnifyProvider, OpayProvider, FuspayProvider, GenericProvider, PaystackProvider)
SAMPLES = [(provider, name) for provider in PROVIDERS for name in provider.sample_payloads()]


def _enabled(client, tenant, provider) -> tuple[dict, dict[str, str]]:
    """An integration of ``provider`` with every credential set: its id and the secrets to sign with."""
    options = GenericProvider.sample_configuration() if provider is GenericProvider else None
    body = {"provider": provider.name} | ({"options": options} if options else {})
    created = client.post("/api/v1/integrations", json=body, headers=tenant["headers"])
    assert created.status_code == 201, created.json
    integration = created.json
    secrets = {c["name"]: c["secret"] for c in integration["credentials"] if c.get("secret")}
    for field in provider.credentials:
        if field.name not in secrets:
            secrets[field.name] = f"dry-run-{field.name}-0123456789abcdef"
            put = client.put(
                f"/api/v1/integrations/{integration['id']}/secrets/{field.name}",
                json={"value": secrets[field.name]},
                headers=tenant["headers"],
            )
            assert put.status_code == 200, put.json
    client.post(
        f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": "127.0.0.1/32"}, headers=tenant["headers"]
    )
    return integration, secrets


@pytest.mark.parametrize(("provider", "name"), SAMPLES, ids=[f"{p.name}-{n}" for p, n in SAMPLES])
def test_a_dry_run_of_every_shipped_sample_says_what_its_webhook_then_answers(app, client, tenant, provider, name):
    """Each provider's signed samples (payments, refunds, settlements, events carrying no
    money): the dry run is never a 500, and its verdict and status are what the webhook URL
    then answers to the same request (a dry run's accepted stands for accepted or duplicate)."""
    integration, secrets = _enabled(client, tenant, provider)
    payload = provider.sample_payloads()[name]
    if isinstance(payload, dict) and "tenantId" in payload:
        payload["tenantId"] = tenant["tenant_id"]
    signed = provider.sign(payload, secrets)
    before = counts(app)
    tried = dry_run(
        client, tenant, integration, body_base64=base64.b64encode(signed.body).decode(), headers=dict(signed.headers)
    )
    assert tried.status_code == 200, tried.get_data(as_text=True)
    assert counts(app) == before
    result = tried.json
    assert not result["verdict"].startswith("rejected"), result
    path = "/" + integration["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    real = client.post(path, data=signed.body, headers=dict(signed.headers))
    answered = real.json["status"] if real.status_code == 200 else real.json.get("verdict", real.json.get("code"))
    assert real.status_code == result["http_status"], (result, real.json)
    if real.status_code == 200:
        assert result["verdict"] == ("accepted" if answered == "duplicate" else answered), (result, real.json)


@pytest.mark.parametrize("name", ["settlement", "settlement_header_only"])
def test_a_dry_run_of_a_settlement_webhook_summarises_its_payouts(client, tenant, name):
    integration, secrets = _enabled(client, tenant, MonnifyProvider)
    payload = MonnifyProvider.sample_payloads()[name]
    signed = MonnifyProvider.sign(payload, secrets)
    result = dry_run(client, tenant, integration, body=signed.body.decode(), headers=dict(signed.headers)).json
    assert (result["outcome"], result["verdict"], result["http_status"]) == ("settlement", "accepted", 200)
    assert result["notices"] == []
    [settlement] = result["settlements"]
    data = payload["eventData"]
    assert settlement["reference"] == data["settlementReference"]
    assert settlement["currency"] == "NGN"
    assert settlement["net"] == data["amount"]
    assert settlement["lines"] == len(data.get("transactions") or [])


@pytest.mark.parametrize("mode", [["hmac"], {"name": "hmac"}])
def test_a_generic_configuration_whose_mode_is_not_a_string_is_a_422(client, tenant, generic, mode):
    """Enabling, saving the options and trying them in a dry run each name verification.mode."""
    options = GenericProvider.sample_configuration()
    options["verification"] = {"mode": mode}
    field = "options.verification.mode"
    created = client.post(
        "/api/v1/integrations", json={"provider": "generic", "options": options}, headers=tenant["headers"]
    )
    assert created.status_code == 422 and field in created.json["errors"]["json"], created.get_data(as_text=True)
    saved = client.put(
        f"/api/v1/integrations/{generic['id']}/options", json={"options": options}, headers=tenant["headers"]
    )
    assert saved.status_code == 422 and field in saved.json["errors"]["json"], saved.get_data(as_text=True)
    tried = dry_run(client, tenant, generic, body=sample().decode(), options=options)
    assert tried.status_code == 422 and field in tried.json["errors"]["json"], tried.get_data(as_text=True)
