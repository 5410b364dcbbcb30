"""The inbound pipeline on plain values (body bytes, a dict of headers, an address), with no
Flask app or request anywhere: what a replay worker or another front-end would do."""

import ipaddress
import json

import flask
import pytest

from flux_recon.core.secret_box import SecretBox
from flux_recon.inbound.pipeline import Rejection, WebhookPipeline
from flux_recon.models import SalesOrder, WebhookEvent, db
from flux_recon.plugins import get_plugin_manager
from flux_recon.providers import ProviderRegistry
from flux_recon.reconciliation import Engine
from tests.conftest import TEST_SECRET_KEY, core_payload, core_signature

LOOPBACK = ipaddress.ip_address("127.0.0.1")
STRANGER = ipaddress.ip_address("10.9.9.9")


@pytest.fixture
def pipeline(app, core_integration, create_order):
    """A pipeline built from its parts (not from the app), and what its policies were asked."""
    create_order()
    plugin_manager = get_plugin_manager()
    providers = ProviderRegistry()
    plugin_manager.hook.flux_recon_register_providers(register=providers.register)
    matchers = []
    plugin_manager.hook.flux_recon_register_matchers(register=matchers.append)
    asked = {"admit": [], "keep_refusal": []}

    def keep_refusal(integration_id, address):
        asked["keep_refusal"].append((integration_id, address))
        return False  # keep none of the strangers' refusals, only count them

    built = WebhookPipeline(
        providers=providers,
        engine=Engine(matchers),
        plugin_manager=plugin_manager,
        secret_box=SecretBox(TEST_SECRET_KEY),
        settings={"WEBHOOK_INBOX_BODY_LIMIT": 65536},
        admit=asked["admit"].append,
        keep_refusal=keep_refusal,
    )
    built.asked = asked
    built.token = core_integration["path"].rsplit("/", 1)[1]
    assert not flask.has_app_context() and not flask.has_request_context()
    yield built
    db.close()


def send(pipeline, tenant_id, *, secret, address=LOOPBACK, transaction_ref="TRX-0001"):
    body = json.dumps(core_payload(tenant_id, transactionRef=transaction_ref)).encode()
    # Lower-case names, as an HTTP/2 front-end or a queue would hand them over.
    headers = {"content-type": "application/json", "signature": core_signature(body, secret)}
    return pipeline.handle("core", pipeline.token, body=body, headers=headers, client_ip=address)


def test_a_webhook_given_as_plain_values_is_reconciled_and_recorded(pipeline, tenant, core_integration):
    result = send(pipeline, tenant["tenant_id"], secret=core_integration["secret"])
    assert (result["status"], result["reconciliation"]) == ("accepted", "matched")
    assert pipeline.asked["admit"] == [pipeline.token]  # spent once, after the auth checks
    event = WebhookEvent.get()
    assert (event.verdict, event.http_status, event.source_ip, event.authenticated) == (
        "accepted",
        200,
        "127.0.0.1",
        True,
    )
    assert event.payment_id == result["payment_id"]
    # Headers found regardless of case; the signature kept only in redacted form.
    assert event.headers["Content-Type"] == "application/json" and event.headers["Signature"].endswith("…")
    assert SalesOrder.get().status == "paid"


def test_refusals_are_raised_as_rejections_and_follow_the_callers_policies(pipeline, tenant, core_integration):
    with pytest.raises(Rejection) as forged:
        send(pipeline, tenant["tenant_id"], secret="wrong")
    assert (forged.value.status, forged.value.verdict) == (401, "rejected_signature")
    with pytest.raises(Rejection) as stranger:
        send(pipeline, tenant["tenant_id"], secret=core_integration["secret"], address=STRANGER)
    assert (stranger.value.status, stranger.value.verdict) == (403, "rejected_address")
    with pytest.raises(Rejection) as unknown:
        pipeline.handle("core", "no-such-token", body=b"{}", headers={}, client_ip=LOOPBACK)
    assert unknown.value.status == 404
    with pytest.raises(Rejection) as too_large:
        pipeline.handle(
            "core", pipeline.token, body=b"", headers={}, client_ip=LOOPBACK, body_refusal="body larger than 10 bytes"
        )
    assert (too_large.value.status, too_large.value.message) == (413, "body larger than 10 bytes")

    # Refused requests never spend the rate limit; the stranger's refusal was not kept
    # (the policy said no), the others were.
    assert pipeline.asked["admit"] == []
    assert pipeline.asked["keep_refusal"] == [(core_integration["id"], STRANGER)]
    kept = [(e.verdict, e.http_status) for e in WebhookEvent.select().order_by(WebhookEvent.id)]
    assert kept == [("rejected_signature", 401), ("invalid_payload", 413)]
    assert SalesOrder.get().status == "open"
