"""Schemas of the providers resource."""

import marshmallow as ma


class CredentialFieldSchema(ma.Schema):
    name = ma.fields.String()
    title = ma.fields.String()
    generated = ma.fields.Boolean(metadata={"description": "made by this service (true) or supplied by you"})
    required = ma.fields.Boolean()
    description = ma.fields.String()


class OptionFieldSchema(ma.Schema):
    name = ma.fields.String(metadata={"example": "api_generation"})
    title = ma.fields.String()
    default = ma.fields.Raw(allow_none=True)
    choices = ma.fields.List(ma.fields.String(), metadata={"description": "the values allowed (empty: any text)"})
    description = ma.fields.String()


class ProviderSchema(ma.Schema):
    name = ma.fields.String(metadata={"example": "core"})
    title = ma.fields.String()
    description = ma.fields.String()
    auth = ma.fields.List(ma.fields.Dict(), metadata={"description": "auth checks, in the order they run"})
    credentials = ma.fields.List(ma.fields.Nested(CredentialFieldSchema))
    default_allowlist = ma.fields.List(ma.fields.String())
    event_types = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "each event type the adapter knows and what it carries (no_money: ignored)"},
    )
    options = ma.fields.List(
        ma.fields.Nested(OptionFieldSchema), metadata={"description": "options set per integration"}
    )
