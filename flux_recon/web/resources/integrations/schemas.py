"""Schemas of the integrations resource (and its allow-list)."""

import marshmallow as ma

from flux_recon.services.integrations import EMPTY_ALLOWLIST_NOTE, normalize_network
from flux_recon.web.resources.credentials.schemas import (
    CredentialSchema,
    CredentialWithSecretSchema,
    SuppliedSecretSchema,
)


class IntegrationCreateSchema(ma.Schema):
    provider = ma.fields.String(
        required=True, metadata={"example": "core", "description": "a provider name from GET /providers"}
    )
    options = ma.fields.Dict(
        keys=ma.fields.String(),
        load_default=None,
        metadata={"description": "the provider's options (GET /providers lists them); omitted ones take defaults"},
    )


class IntegrationOptionsSchema(ma.Schema):
    options = ma.fields.Dict(
        keys=ma.fields.String(),
        required=True,
        metadata={"description": "every option to keep (one left out returns to its default)"},
    )


class AllowlistEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    cidr = ma.fields.String(metadata={"example": "35.242.133.146/32"})
    label = ma.fields.String()
    created_at = ma.fields.DateTime()


class AllowlistEntryCreateSchema(ma.Schema):
    cidr = ma.fields.String(
        required=True, metadata={"example": "203.0.113.10/32", "description": "an IPv4/IPv6 address or CIDR network"}
    )
    label = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))

    @ma.validates("cidr")
    def check_cidr(self, value, **kwargs):
        try:
            normalize_network(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None

    @ma.post_load
    def normalize(self, data, **kwargs):
        data["cidr"] = normalize_network(data["cidr"])
        return data


class AllowlistSchema(ma.Schema):
    entries = ma.fields.List(ma.fields.Nested(AllowlistEntrySchema))
    note = ma.fields.String(allow_none=True, metadata={"example": EMPTY_ALLOWLIST_NOTE})


class IntegrationSchema(ma.Schema):
    id = ma.fields.Integer()
    provider = ma.fields.String()
    tenant_id = ma.fields.String(metadata={"description": "your tenant id (the core payload's tenantId)"})
    webhook_url = ma.fields.String(metadata={"description": "give this URL to the provider"})
    enabled = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    credentials = ma.fields.List(ma.fields.Nested(CredentialSchema))
    secrets = ma.fields.List(
        ma.fields.Nested(SuppliedSecretSchema),
        metadata={
            "description": "secrets you copy from the provider's dashboard (set them with PUT .../secrets/{name})"
        },
    )
    allowlist = ma.fields.Nested(AllowlistSchema)
    options = ma.fields.Dict(
        keys=ma.fields.String(), metadata={"description": "the provider's options, defaults filled in"}
    )


class IntegrationCreatedSchema(IntegrationSchema):
    credentials = ma.fields.List(ma.fields.Nested(CredentialWithSecretSchema))
