"""/api/v1/integrations: enable, list, show and disable provider integrations; allow-lists."""

from flask import current_app, g, request, url_for
from flask.views import MethodView
from flask_smorest import abort

from flux_recon.models import AllowedNetwork, Credential, Integration
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.credentials.service import supplied_secrets
from flux_recon.web.resources.integrations import service
from flux_recon.web.resources.integrations.schemas import (
    EMPTY_ALLOWLIST_NOTE,
    AllowlistEntryCreateSchema,
    AllowlistEntrySchema,
    AllowlistSchema,
    IntegrationCreatedSchema,
    IntegrationCreateSchema,
    IntegrationSchema,
)

blp = Blueprint(
    "integrations", __name__, description="A webhook URL per provider, its credentials and its IP allow-list."
)


def webhook_url(integration: Integration) -> str:
    path = url_for("webhooks.Webhook", provider=integration.provider, token=integration.token)
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    return base.rstrip("/") + path


def allowlist_view(integration: Integration) -> dict:
    entries = list(
        AllowedNetwork.select().where(AllowedNetwork.integration == integration.id).order_by(AllowedNetwork.id)
    )
    return {"entries": entries, "note": None if entries else EMPTY_ALLOWLIST_NOTE}


def integration_view(integration: Integration, secrets: dict[int, str] | None = None) -> dict:
    credentials = []
    for credential in (
        Credential.select()
        .where((Credential.integration == integration.id) & Credential.generated & Credential.revoked_at.is_null())
        .order_by(Credential.id)
    ):
        view = {
            "id": credential.id,
            "name": credential.name,
            "scope": credential.scope,
            "label": credential.label,
            "key": credential.key,
            "created_at": credential.created_at,
        }
        if secrets and credential.id in secrets:
            view["secret"] = secrets[credential.id]
        credentials.append(view)
    return {
        "id": integration.id,
        "provider": integration.provider,
        "tenant_id": integration.tenant_id,
        "webhook_url": webhook_url(integration),
        "enabled": integration.enabled,
        "created_at": integration.created_at,
        "credentials": credentials,
        "secrets": supplied_secrets(integration, provider_of(integration)),
        "allowlist": allowlist_view(integration),
    }


def provider_of(integration: Integration):
    provider = current_app.extensions["providers"].get(integration.provider)
    if provider is None:
        abort(404, message=f"provider {integration.provider!r} is not loaded on this server")
    return provider


@blp.route("")
class Integrations(MethodView):
    @blp.response(200, IntegrationSchema(many=True))
    @blp.errors()
    def get(self):
        """List enabled integrations"""
        rows = (
            Integration.select()
            .where((Integration.tenant == g.tenant.id) & Integration.disabled_at.is_null())
            .order_by(Integration.id)
        )
        return [integration_view(row) for row in rows]

    @blp.arguments(IntegrationCreateSchema, example={"provider": "core"})
    @blp.response(201, IntegrationCreatedSchema)
    @blp.errors(409, 422)
    def post(self, data):
        """Enable a provider integration

        Returns the webhook URL to give the provider, the generated credentials with their
        secrets (shown this once) and the allow-list pre-filled with the provider's
        published addresses. An empty allow-list admits nobody.
        """
        provider = current_app.extensions["providers"].get(data["provider"])
        if provider is None:
            loaded = ", ".join(p.name for p in current_app.extensions["providers"])
            abort(
                422,
                message=f"unknown provider {data['provider']!r}",
                errors={"json": {"provider": [f"must be one of: {loaded}"]}},
            )
        integration, secrets = service.enable(g.tenant.id, provider, current_app.extensions["secret_box"], g.actor)
        return integration_view(integration, secrets), 201


@blp.route("/<int:integration_id>")
class IntegrationById(MethodView):
    @blp.response(200, IntegrationSchema)
    @blp.errors(404)
    def get(self, integration_id):
        """Show an integration (its secrets are never shown again)"""
        return integration_view(service.get_integration(g.tenant.id, integration_id))

    @blp.response(204)
    @blp.errors(404)
    def delete(self, integration_id):
        """Disable an integration

        As Fluxvend documents: disabling deletes the webhook URL, credentials and
        allow-list. Enabling again gives a new URL and new secrets to configure.
        """
        service.disable(service.get_integration(g.tenant.id, integration_id), g.actor)


@blp.route("/<int:integration_id>/allowlist")
class Allowlist(MethodView):
    @blp.response(200, AllowlistSchema)
    @blp.errors(404)
    def get(self, integration_id):
        """List the IP allow-list (empty admits nobody)"""
        return allowlist_view(service.get_integration(g.tenant.id, integration_id))

    @blp.arguments(AllowlistEntryCreateSchema, example={"cidr": "203.0.113.10/32", "label": "office gateway"})
    @blp.response(201, AllowlistEntrySchema)
    @blp.errors(404, 409)
    def post(self, data, integration_id):
        """Add an address or CIDR network (IPv4 or IPv6) to the allow-list"""
        integration = service.get_integration(g.tenant.id, integration_id)
        return service.add_network(integration, data["cidr"], data["label"], g.actor), 201


@blp.route("/<int:integration_id>/allowlist/<int:entry_id>")
class AllowlistEntry(MethodView):
    @blp.response(204)
    @blp.errors(404)
    def delete(self, integration_id, entry_id):
        """Remove an allow-list entry"""
        integration = service.get_integration(g.tenant.id, integration_id)
        service.remove_network(integration, service.get_network(integration, entry_id), g.actor)
