"""/api/v1/integrations/{id}/credentials and /secrets: API credentials and provider secrets."""

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import abort

from flux_recon.web.api import Blueprint
from flux_recon.web.resources.credentials import service
from flux_recon.web.resources.credentials.schemas import (
    CredentialCreateSchema,
    CredentialSchema,
    CredentialWithSecretSchema,
    RegeneratedSchema,
    RegenerateSchema,
    SuppliedSecretSchema,
    SuppliedSecretSetSchema,
)
from flux_recon.web.resources.integrations.routes import provider_of
from flux_recon.web.resources.integrations.service import get_integration

URL_PREFIX = "/api/v1/integrations"

blp = Blueprint(
    "credentials",
    __name__,
    description="API credentials generated for an integration (the core webhook's signing keys), "
    "and the secrets you copy from a provider's dashboard. Secrets are shown once, never by a GET.",
)


def _view(credential) -> dict:
    return {
        "id": credential.id,
        "name": credential.name,
        "scope": credential.scope,
        "label": credential.label,
        "key": credential.key,
        "created_at": credential.created_at,
    }


@blp.route("/<int:integration_id>/credentials")
class Credentials(MethodView):
    @blp.response(200, CredentialSchema(many=True))
    @blp.errors(404)
    def get(self, integration_id):
        """List the integration's API credentials (keys, never secrets)"""
        return [_view(c) for c in service.active_generated(get_integration(g.tenant.id, integration_id))]

    @blp.arguments(CredentialCreateSchema, example={"label": "POS fleet, Lagos"})
    @blp.response(201, CredentialWithSecretSchema)
    @blp.errors(404, 409)
    def post(self, data, integration_id):
        """Add a scoped credential (at most 5)

        A labelled API key and secret of its own, for one sender (a POS fleet, a branch).
        Any active credential verifies a webhook, and the inbox records which one did. The
        secret is in this answer only.
        """
        integration = get_integration(g.tenant.id, integration_id)
        credential, secret = service.add_scoped(
            integration, provider_of(integration), data["label"].strip(), current_app.extensions["secret_box"], g.actor
        )
        return {**_view(credential), "secret": secret}, 201


@blp.route("/<int:integration_id>/credentials/<int:credential_id>")
class CredentialById(MethodView):
    @blp.response(204)
    @blp.errors(404, 409)
    def delete(self, integration_id, credential_id):
        """Delete a scoped credential (the primary one cannot be deleted)"""
        integration = get_integration(g.tenant.id, integration_id)
        service.delete_scoped(integration, service.get_credential(integration, credential_id), g.actor)


@blp.route("/<int:integration_id>/credentials/<int:credential_id>/regenerate")
class CredentialRegenerate(MethodView):
    @blp.arguments(RegenerateSchema, example={"grace_seconds": 3600})
    @blp.response(200, RegeneratedSchema)
    @blp.errors(404, 409)
    def post(self, data, integration_id, credential_id):
        """Regenerate a credential's secret (shown once)

        The API key stays; the secret changes. With `grace_seconds`, the previous secret
        keeps verifying webhooks that long, so a sender can switch without dropped webhooks,
        and secrets replaced earlier keep verifying until their own grace ends (at most 5
        at once: one more is 409). With 0 (the default) every old secret stops at once.
        """
        integration = get_integration(g.tenant.id, integration_id)
        credential = service.get_credential(integration, credential_id)
        grace = data.get("grace_seconds", current_app.config["CREDENTIAL_ROTATION_GRACE_SECONDS"])
        credential, secret = service.regenerate(
            integration, credential, grace, current_app.extensions["secret_box"], g.actor
        )
        return {**_view(credential), "secret": secret, "previous_valid_until": credential.previous_valid_until}


@blp.route("/<int:integration_id>/secrets")
class SuppliedSecrets(MethodView):
    @blp.response(200, SuppliedSecretSchema(many=True))
    @blp.errors(404)
    def get(self, integration_id):
        """List the secrets this provider needs from you, and whether each is set"""
        integration = get_integration(g.tenant.id, integration_id)
        return service.supplied_secrets(integration, provider_of(integration))


@blp.route("/<int:integration_id>/secrets/<string:name>")
class SuppliedSecret(MethodView):
    @blp.arguments(SuppliedSecretSetSchema, example={"value": "the secret from the provider's dashboard"})
    @blp.response(200, SuppliedSecretSchema)
    @blp.errors(404)
    def put(self, data, integration_id, name):
        """Set (or replace) a secret from the provider's dashboard

        For example Monnify's client secret: once it is set, Monnify's signature header is
        required. The value is encrypted at rest and never shown again; a GET only says
        that it is set, and since when.
        """
        integration = get_integration(g.tenant.id, integration_id)
        provider = provider_of(integration)
        service.supplied_field(provider, name)
        service.set_supplied_secret(
            integration, name, data["value"].strip(), current_app.extensions["secret_box"], g.actor
        )
        return next(s for s in service.supplied_secrets(integration, provider) if s["name"] == name)

    @blp.response(204)
    @blp.errors(404)
    def delete(self, integration_id, name):
        """Clear a secret (signature checks that depend on it stop being enforced or start failing)"""
        integration = get_integration(g.tenant.id, integration_id)
        service.supplied_field(provider_of(integration), name)
        if not service.clear_supplied_secret(integration, name, g.actor):
            abort(404, message=f"{name} is not set")
