"""One test per hook (the meta-tests require a test_hook_<name>): a plugin implements it and the
service calls it, on SQLite and PostgreSQL."""

from __future__ import annotations

import click
from click.testing import CliRunner
from flask import current_app
from flask.cli import FlaskGroup

import flux_recon_core
from flux_recon import Matcher, hookimpl
from flux_recon.models import SalesOrder
from flux_recon.plugins import get_plugin_manager
from flux_recon.testing import ADMIN_TOKEN, enable_integration
from flux_recon_core.provider import CoreProvider
from flux_recon_paystack.provider import PaystackProvider
from tests.conftest import close_app, core_payload, make_app


def post_signed(client, integration, provider, payload):
    signed = provider.sign(payload, integration.secrets)
    return client.post(integration.webhook_path, data=signed.body, headers=signed.headers)


def order(client, integration, **fields):
    created = client.post("/api/v1/orders", json=fields, headers=integration.api_headers)
    assert created.status_code == 201, created.json
    return created.json


def shown(client, integration, created):
    return client.get(f"/api/v1/orders/{created['id']}", headers=integration.api_headers).json


def test_hook_flux_recon_register_providers_serves_the_provider_at_its_webhook_url(database_url):
    class OnlyPaystack:
        @hookimpl
        def flux_recon_register_providers(self, register):
            register(PaystackProvider)

    app = make_app(database_url, plugins=[OnlyPaystack()], ADMIN_TOKEN=ADMIN_TOKEN)
    try:
        client = app.test_client()
        assert [p["name"] for p in client.get("/api/v1/providers", headers=_any_key(client)).json] == ["paystack"]
        paystack = enable_integration(client, "paystack", secrets={"secret_key": "sk_test_hook"})
        created = order(client, paystack, reference="INV-1001", amount="15000.00", currency="NGN")
        answer = post_signed(client, paystack, PaystackProvider, PaystackProvider.sample_payloads()["charge_success"])
        assert (answer.status_code, answer.json["reconciliation"]) == (200, "matched"), answer.json
        assert shown(client, paystack, created)["status"] == "paid"
        # A provider no plugin registered has no webhook URL here.
        assert client.post("/webhooks/core/anything", json={}).status_code == 404
    finally:
        close_app(app)


def _any_key(client) -> dict:
    tenant = client.post("/api/v1/tenants", json={"name": "Lister"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    return {"Authorization": f"Bearer {tenant.json['api_key']}"}


class InvoiceNumberInNarration(Matcher):
    """The guide's example: an invoice number written in the payment's narration."""

    name = "narration"
    priority = 400

    def candidates(self, tenant_id, notice, settings):
        words = str((notice.raw or {}).get("narration", "")).split()
        keys = [w.lower() for w in words if w.upper().startswith("INV-")]
        if not keys:
            return []
        return list(SalesOrder.select().where((SalesOrder.tenant == tenant_id) & SalesOrder.reference_key.in_(keys)))


class NarrationPlugin:
    @hookimpl
    def flux_recon_register_matchers(self, register):
        register(InvoiceNumberInNarration())


def pay_by_narration(database_url, plugins) -> tuple[str, str]:
    """A core payment naming its order only in a narration: (reconciliation, order status)."""
    app = make_app(database_url, plugins=plugins, ADMIN_TOKEN=ADMIN_TOKEN)
    try:
        client = app.test_client()
        core = enable_integration(client, "core")
        created = order(client, core, reference="INV-2002", amount="15000.00", currency="NGN")
        payload = core_payload(
            core.tenant_id, paymentRef=None, customer=None, accountNumber=None, narration="Payment for INV-2002"
        )
        answer = post_signed(client, core, CoreProvider, payload)
        assert answer.status_code == 200, answer.json
        return answer.json["reconciliation"], shown(client, core, created)["status"]
    finally:
        close_app(app)


def test_hook_flux_recon_register_matchers_decides_what_the_built_in_strategies_cannot(database_url):
    assert pay_by_narration(database_url, [flux_recon_core]) == ("unmatched", "open")
    assert pay_by_narration(database_url, [flux_recon_core, NarrationPlugin()]) == ("matched", "paid")


def test_hook_flux_recon_event_sees_each_event_after_it_is_committed(database_url):
    seen = []

    class Recorder:
        @hookimpl
        def flux_recon_event(self, event):
            seen.append((event["event_type"], event["tenant_id"], event["payload"]))

    app = make_app(database_url, plugins=[flux_recon_core, Recorder()], ADMIN_TOKEN=ADMIN_TOKEN)
    try:
        client = app.test_client()
        core = enable_integration(client, "core")
        order(client, core, reference="INV-1001", amount="15000.00", currency="NGN")
        answer = post_signed(client, core, CoreProvider, core_payload(core.tenant_id))
        assert answer.json["status"] == "accepted", answer.json
        assert [name for name, _, _ in seen] == ["payment.received", "payment.matched", "order.paid"]
        assert {tenant for _, tenant, _ in seen} == {core.tenant_id}
        # A duplicate commits nothing new, so it announces nothing.
        post_signed(client, core, CoreProvider, core_payload(core.tenant_id))
        assert len(seen) == 3
    finally:
        close_app(app)


def test_hook_flux_recon_register_commands_adds_a_command_that_runs_in_the_app(database_url):
    class CommandPlugin:
        @hookimpl
        def flux_recon_register_commands(self, cli):
            @cli.command("count-providers")
            def count_providers():
                """How many providers this app serves."""
                click.echo(f"{len(list(current_app.extensions['providers']))} providers")

    app = make_app(database_url, plugins=[flux_recon_core])
    try:
        group = FlaskGroup(create_app=lambda: app, add_default_commands=False, load_dotenv=False)
        get_plugin_manager([CommandPlugin()]).hook.flux_recon_register_commands(cli=group)
        result = CliRunner().invoke(group, ["count-providers"])
        assert (result.exit_code, result.output) == (0, "1 providers\n"), result.output
    finally:
        close_app(app)
