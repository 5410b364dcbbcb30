"""Provider options per integration, the ``unrecognized`` verdict and a verifier that cannot
be reached: the plugin API's contract, exercised with a provider defined here."""

import datetime as dt
import json

import pytest

from flux_recon import (
    AuthCheck,
    AuthUnavailable,
    Ignored,
    IpAllowlist,
    OptionField,
    PaymentNotice,
    Provider,
    Unrecognized,
)
from flux_recon.models import AuditEntry, WebhookEvent, db
from flux_recon.money import parse_decimal


class _Unreachable(AuthCheck):
    """Verifies against a remote signer that is down whenever the header asks for it."""

    sensitive_headers = ()

    def verify(self, request, context):
        if request.header("X-Signer") == "down":
            raise AuthUnavailable("the signing endpoint did not answer in time")
        return None

    def describe(self):
        return {"type": "test_signer"}


class Ledgerly(Provider):
    name = "ledgerly"
    title = "Ledgerly (test)"
    auth = (IpAllowlist(), _Unreachable())
    option_fields = (
        OptionField("unit", "Amount unit", default="minor", choices=("minor", "major")),
        OptionField("label", "A free-text label"),
    )

    def parse(self, webhook):
        payload = webhook.payload
        kind = payload.get("type")
        if kind == "heartbeat":
            return Ignored("heartbeats carry no money")
        if kind == "batch":
            return []  # an adapter that found nothing and did not say why
        if kind != "payment":
            return Unrecognized(f"unknown event type {kind!r}")
        amount = parse_decimal(payload["amount"])
        if webhook.options["unit"] == "minor":
            amount = amount / 100
        return [
            PaymentNotice(
                external_id=payload["id"],
                amount=amount,
                currency="NGN",
                occurred_at=dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC),
            )
        ]


class Stubborn(Ledgerly):
    name = "stubborn"
    unrecognized_status = 422


@pytest.fixture
def ledgerly(app, client, tenant):
    for provider in (Ledgerly, Stubborn):
        if provider.name not in app.extensions["providers"]:
            app.extensions["providers"].register(provider)

    def enable(name="ledgerly", **body):
        response = client.post("/api/v1/integrations", json={"provider": name, **body}, headers=tenant["headers"])
        if response.status_code != 201:
            return response
        integration = response.json
        client.post(
            f"/api/v1/integrations/{integration['id']}/allowlist",
            json={"cidr": "127.0.0.1/32"},
            headers=tenant["headers"],
        )
        integration["path"] = "/" + integration["webhook_url"].split("://", 1)[1].split("/", 1)[1]
        return integration

    return enable


def post(client, integration, document, **headers):
    return client.post(
        integration["path"], data=json.dumps(document), headers={"Content-Type": "application/json", **headers}
    )


def test_options_are_listed_per_provider_with_their_defaults(client, tenant, ledgerly):
    ledgerly()
    described = {p["name"]: p for p in client.get("/api/v1/providers", headers=tenant["headers"]).json}
    assert described["ledgerly"]["options"][0] == {
        "name": "unit",
        "title": "Amount unit",
        "default": "minor",
        "choices": ["minor", "major"],
        "description": "",
    }
    assert described["core"]["options"] == []


def test_an_integration_starts_with_defaults_and_its_webhooks_see_the_saved_options(client, tenant, ledgerly):
    integration = ledgerly()
    assert integration["options"] == {"unit": "minor", "label": None}
    first = post(client, integration, {"type": "payment", "id": "T-1", "amount": "1500"})
    assert first.status_code == 200, first.json

    changed = client.put(
        f"/api/v1/integrations/{integration['id']}/options",
        json={"options": {"unit": "major"}},
        headers=tenant["headers"],
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["options"] == {"unit": "major", "label": None}
    second = post(client, integration, {"type": "payment", "id": "T-2", "amount": "1500"})
    assert second.status_code == 200, second.json

    amounts = {p["external_id"]: p["amount"] for p in client.get("/api/v1/payments", headers=tenant["headers"]).json}
    assert amounts == {"T-1": "15.00", "T-2": "1500.00"}
    with db.connection_context():
        audit = AuditEntry.get(AuditEntry.action == "integration.options_changed")
    assert audit.details == {"before": {"unit": "minor", "label": None}, "after": {"unit": "major", "label": None}}


@pytest.mark.parametrize(
    "options, errors",
    [
        ({"unit": "cents"}, {"options.unit": ["must be one of: minor, major"]}),
        ({"unit": 100}, {"options.unit": ["must be a string"]}),
        ({"colour": "red"}, {"options.colour": ["unknown option; this provider's options: unit, label"]}),
    ],
)
def test_options_a_provider_refuses_are_a_422_naming_each(client, tenant, ledgerly, options, errors):
    refused = ledgerly(options=options)
    assert refused.status_code == 422
    assert refused.json["errors"] == {"json": errors}
    integration = ledgerly()
    put = client.put(
        f"/api/v1/integrations/{integration['id']}/options", json={"options": options}, headers=tenant["headers"]
    )
    assert (put.status_code, put.json["errors"]) == (422, {"json": errors})


def test_a_core_integration_accepts_no_options(client, tenant):
    refused = client.post(
        "/api/v1/integrations", json={"provider": "core", "options": {"unit": "major"}}, headers=tenant["headers"]
    )
    assert refused.status_code == 422


def test_an_unknown_event_is_unrecognized_kept_and_replayable_never_ignored(client, tenant, ledgerly):
    integration = ledgerly()
    ignored = post(client, integration, {"type": "heartbeat"})
    assert (ignored.status_code, ignored.json["status"]) == (200, "ignored")
    unknown = post(client, integration, {"type": "payout", "id": "P-1"})
    assert unknown.status_code == 200
    assert unknown.json["status"] == "unrecognized"
    assert unknown.json["reason"] == "unknown event type 'payout'"
    with db.connection_context():
        verdicts = [e.verdict for e in WebhookEvent.select().order_by(WebhookEvent.id)]
    assert verdicts == ["ignored", "unrecognized"]


def test_a_provider_may_answer_an_unrecognized_webhook_with_422(client, tenant, ledgerly):
    integration = ledgerly("stubborn")
    unknown = post(client, integration, {"type": "payout", "id": "P-1"})
    assert unknown.status_code == 422
    with db.connection_context():
        (event,) = WebhookEvent.select()
    assert (event.verdict, event.http_status) == ("unrecognized", 422)


def test_a_verifier_that_cannot_be_reached_answers_503_so_the_provider_retries(client, tenant, ledgerly):
    integration = ledgerly()
    down = post(client, integration, {"type": "payment", "id": "T-9", "amount": "100"}, **{"X-Signer": "down"})
    assert down.status_code == 503
    assert "did not answer" in down.json["message"]
    with db.connection_context():
        (event,) = WebhookEvent.select()
    assert (event.verdict, event.http_status) == ("verification_unavailable", 503)
    assert client.get("/api/v1/payments", headers=tenant["headers"]).json == []


def test_an_empty_answer_from_an_adapter_is_kept_as_unrecognized_not_ignored(client, tenant, ledgerly):
    integration = ledgerly()
    answer = post(client, integration, {"type": "batch"})
    assert (answer.status_code, answer.json["status"]) == (200, "unrecognized")
    with db.connection_context():
        (event,) = WebhookEvent.select()
    assert event.verdict == "unrecognized" and "did not say why" in event.reason
