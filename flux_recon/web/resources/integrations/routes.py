"""/api/v1/integrations: enable, list, show and disable provider integrations; allow-lists."""

from flask import current_app, g, request, url_for
from flask.views import MethodView

from flux_recon.models import Integration
from flux_recon.services import integrations
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.integrations.schemas import (
    AllowlistEntryCreateSchema,
    AllowlistEntrySchema,
    AllowlistSchema,
    DryRunResultSchema,
    DryRunSchema,
    IntegrationCreatedSchema,
    IntegrationCreateSchema,
    IntegrationOptionsSchema,
    IntegrationSchema,
)

blp = Blueprint(
    "integrations", __name__, description="A webhook URL per provider, its credentials and its IP allow-list."
)


def webhook_url(integration: Integration) -> str:
    path = url_for("webhooks.Webhook", provider=integration.provider, token=integration.token)
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    return base.rstrip("/") + path


def describe(integration: Integration, secrets: dict[int, str] | None = None) -> dict:
    return integrations.describe(integration, current_app.extensions["providers"], webhook_url(integration), secrets)


@blp.route("")
class Integrations(MethodView):
    @blp.response(200, IntegrationSchema(many=True))
    @blp.errors()
    def get(self):
        """List enabled integrations"""
        return [describe(row) for row in integrations.list_enabled(g.tenant.id)]

    @blp.arguments(IntegrationCreateSchema, example={"provider": "core"})
    @blp.response(201, IntegrationCreatedSchema)
    @blp.errors(409, 422)
    def post(self, data):
        """Enable a provider integration

        Returns the webhook URL to give the provider, the generated credentials with their
        secrets (shown this once) and the allow-list pre-filled with the provider's
        published addresses. An empty allow-list admits nobody.
        """
        integration, secrets = integrations.enable(
            g.tenant.id,
            data["provider"],
            current_app.extensions["providers"],
            current_app.extensions["secret_box"],
            g.actor,
            options=data["options"],
        )
        return describe(integration, secrets), 201


@blp.route("/<int:integration_id>")
class IntegrationById(MethodView):
    @blp.response(200, IntegrationSchema)
    @blp.errors(404)
    def get(self, integration_id):
        """Show an integration (its secrets are never shown again)"""
        return describe(integrations.get_integration(g.tenant.id, integration_id))

    @blp.response(204)
    @blp.errors(404)
    def delete(self, integration_id):
        """Disable an integration

        As Fluxvend documents: disabling deletes the webhook URL, credentials and
        allow-list. Enabling again gives a new URL and new secrets to configure.
        """
        integrations.disable(g.tenant.id, integration_id, g.actor)


@blp.route("/<int:integration_id>/options")
class IntegrationOptions(MethodView):
    @blp.arguments(IntegrationOptionsSchema, example={"options": {}})
    @blp.response(200, IntegrationSchema)
    @blp.errors(404, 422)
    def put(self, data, integration_id):
        """Set an integration's provider options

        The options a provider declares (GET /providers), such as the API generation whose
        wire format its webhooks use. Each bad option is named in the 422's errors.
        """
        integration = integrations.set_options(
            g.tenant.id, integration_id, data["options"], current_app.extensions["providers"], g.actor
        )
        return describe(integration)


@blp.route("/<int:integration_id>/dry-run")
class IntegrationDryRun(MethodView):
    @blp.arguments(
        DryRunSchema,
        example={
            "body": '{"event": "payment.success", "data": {"transaction_id": "TXN-20261122-0001", '
            '"amount": "15000.00", "currency": "NGN", "status": "success"}}',
            "headers": {"Content-Type": "application/json", "X-Signature": "<hex HMAC-SHA256 of the body>"},
        },
    )
    @blp.response(200, DryRunResultSchema)
    @blp.errors(404, 422)
    def post(self, data, integration_id):
        """Try a webhook against the integration, recording nothing

        Runs what the webhook URL runs on a request: the provider's auth checks with the
        integration's secrets, except the IP allow-list (the request comes from you, not the
        provider), then the provider's parse against the integration's options (or the
        `options` given here, unsaved), then the checks the engine makes before recording.
        The answer is the notices that would be recorded (amounts as decimal strings), or the
        verdict, status and messages the webhook would get. Nothing is written: no inbox
        record, no payment, no audit entry, no event. Works for every provider.
        """
        return integrations.dry_run(
            g.tenant.id,
            integration_id,
            body=data["raw"],
            headers=data["headers"],
            providers=current_app.extensions["providers"],
            secret_box=current_app.extensions["secret_box"],
            options=data["options"],
        )


@blp.route("/<int:integration_id>/allowlist")
class Allowlist(MethodView):
    @blp.response(200, AllowlistSchema)
    @blp.errors(404)
    def get(self, integration_id):
        """List the IP allow-list (empty admits nobody)"""
        return integrations.allowlist(g.tenant.id, integration_id)

    @blp.arguments(AllowlistEntryCreateSchema, example={"cidr": "203.0.113.10/32", "label": "office gateway"})
    @blp.response(201, AllowlistEntrySchema)
    @blp.errors(404, 409)
    def post(self, data, integration_id):
        """Add an address or CIDR network (IPv4 or IPv6) to the allow-list"""
        return integrations.add_network(g.tenant.id, integration_id, data["cidr"], data["label"], g.actor), 201


@blp.route("/<int:integration_id>/allowlist/<int:entry_id>")
class AllowlistEntry(MethodView):
    @blp.response(204)
    @blp.errors(404)
    def delete(self, integration_id, entry_id):
        """Remove an allow-list entry"""
        integrations.remove_network(g.tenant.id, integration_id, entry_id, g.actor)
