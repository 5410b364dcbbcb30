"""Schemas of the audit log resource."""

import marshmallow as ma


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    actor = ma.fields.String(metadata={"description": "engine, admin, or api_key:<key prefix>"})
    action = ma.fields.String(metadata={"example": "allocation.created"})
    object_type = ma.fields.String(metadata={"example": "payment"})
    object_id = ma.fields.String()
    details = ma.fields.Dict(allow_none=True)


class AuditQueryArgsSchema(ma.Schema):
    object_type = ma.fields.String(metadata={"description": "payment, order or tenant"})
    object_id = ma.fields.String()
    action = ma.fields.String()
    actor = ma.fields.String()
