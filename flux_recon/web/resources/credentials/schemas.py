"""Schemas of the credentials resource: generated API credentials and supplied secrets."""

import marshmallow as ma

from flux_recon.services.credentials import MAX_GRACE_SECONDS


class CredentialSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String(metadata={"description": "the provider's credential field, e.g. api"})
    scope = ma.fields.String(metadata={"example": "primary"})
    label = ma.fields.String()
    key = ma.fields.String(allow_none=True, metadata={"description": "public API key (generated credentials)"})
    created_at = ma.fields.DateTime()


class CredentialWithSecretSchema(CredentialSchema):
    secret = ma.fields.String(metadata={"description": "shown once, when generated; never again"})


class SuppliedSecretSchema(ma.Schema):
    name = ma.fields.String(metadata={"example": "client_secret"})
    title = ma.fields.String()
    required = ma.fields.Boolean(metadata={"description": "needed before webhooks verify"})
    description = ma.fields.String()
    set = ma.fields.Boolean(metadata={"description": "a value is stored (it is never shown)"})
    set_at = ma.fields.DateTime(allow_none=True)


class SuppliedSecretSetSchema(ma.Schema):
    value = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=500),
        metadata={"description": "the secret from the provider's dashboard; write-only"},
    )


class CredentialCreateSchema(ma.Schema):
    label = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(min=1, max=200), ma.validate.Regexp(r".*\S", error="must not be blank")],
        metadata={"example": "POS fleet, Lagos"},
    )


class RegenerateSchema(ma.Schema):
    grace_seconds = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(min=0, max=MAX_GRACE_SECONDS),
        metadata={
            "description": "how long the previous secret keeps verifying webhooks "
            "(default: the server's CREDENTIAL_ROTATION_GRACE_SECONDS, normally 0 = at once). "
            "0 also stops every secret replaced earlier that is still inside its grace",
            "example": 3600,
        },
    )


class RegeneratedSchema(CredentialWithSecretSchema):
    previous_valid_until = ma.fields.DateTime(
        allow_none=True,
        metadata={
            "description": "until when the last of the old secrets still verifies (each one earlier "
            "regenerated with a grace keeps its own)"
        },
    )
