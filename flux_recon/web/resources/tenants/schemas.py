"""Schemas of the tenants resource."""

import marshmallow as ma


class TenantCreateSchema(ma.Schema):
    name = ma.fields.String(
        required=True, validate=ma.validate.Length(min=1, max=200), metadata={"example": "Ada's Pharmacy"}
    )


class TenantCreatedSchema(ma.Schema):
    tenant_id = ma.fields.String(metadata={"example": "tn_5f2b8c0e4d1a9b7c3e6f0a12"})
    name = ma.fields.String()
    api_key = ma.fields.String(metadata={"description": "Shown this once; stored only as a hash."})
