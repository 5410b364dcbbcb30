"""/api/v1/integrations/{id}/credentials and /secrets: API credentials and provider secrets."""

from flask import current_app, g
from flask.views import MethodView

from flux_recon.services import credentials
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.credentials.schemas import (
    CredentialCreateSchema,
    CredentialSchema,
    CredentialWithSecretSchema,
    RegeneratedSchema,
    RegenerateSchema,
    SuppliedSecretSchema,
    SuppliedSecretSetSchema,
)

URL_PREFIX = "/api/v1/integrations"

blp = Blueprint(
    "credentials",
    __name__,
    description="API credentials generated for an integration (the core webhook's signing keys), "
    "and the secrets you copy from a provider's dashboard. Secrets are shown once, never by a GET.",
)


@blp.route("/<int:integration_id>/credentials")
class Credentials(MethodView):
    @blp.response(200, CredentialSchema(many=True))
    @blp.errors(404)
    def get(self, integration_id):
        """List the integration's API credentials (keys, never secrets)"""
        return credentials.list_generated(g.tenant.id, integration_id)

    @blp.arguments(CredentialCreateSchema, example={"label": "POS fleet, Lagos"})
    @blp.response(201, CredentialWithSecretSchema)
    @blp.errors(404, 409)
    def post(self, data, integration_id):
        """Add a scoped credential (at most 5)

        A labelled API key and secret of its own, for one sender (a POS fleet, a branch).
        Any active credential verifies a webhook, and the inbox records which one did. The
        secret is in this answer only.
        """
        extensions = current_app.extensions
        return credentials.add_scoped(
            g.tenant.id, integration_id, data["label"], extensions["providers"], extensions["secret_box"], g.actor
        ), 201


@blp.route("/<int:integration_id>/credentials/<int:credential_id>")
class CredentialById(MethodView):
    @blp.response(204)
    @blp.errors(404, 409)
    def delete(self, integration_id, credential_id):
        """Delete a scoped credential (the primary one cannot be deleted)"""
        credentials.delete_scoped(g.tenant.id, integration_id, credential_id, g.actor)


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
        grace = data.get("grace_seconds", current_app.config["CREDENTIAL_ROTATION_GRACE_SECONDS"])
        return credentials.regenerate(
            g.tenant.id, integration_id, credential_id, grace, current_app.extensions["secret_box"], g.actor
        )


@blp.route("/<int:integration_id>/secrets")
class SuppliedSecrets(MethodView):
    @blp.response(200, SuppliedSecretSchema(many=True))
    @blp.errors(404)
    def get(self, integration_id):
        """List the secrets this provider needs from you, and whether each is set"""
        return credentials.list_supplied(g.tenant.id, integration_id, current_app.extensions["providers"])


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
        extensions = current_app.extensions
        return credentials.set_supplied_secret(
            g.tenant.id, integration_id, name, data["value"], extensions["providers"], extensions["secret_box"], g.actor
        )

    @blp.response(204)
    @blp.errors(404)
    def delete(self, integration_id, name):
        """Clear a secret (signature checks that depend on it stop being enforced or start failing)"""
        credentials.clear_supplied_secret(
            g.tenant.id, integration_id, name, current_app.extensions["providers"], g.actor
        )
