"""Schemas of /api/v1/integrations/{id}/settlement-pulls."""

import marshmallow as ma


class SettlementPullStateSchema(ma.Schema):
    integration_id = ma.fields.Integer()
    provider = ma.fields.String()
    supported = ma.fields.Boolean(metadata={"description": "the provider's plugin has a settlement API"})
    credentials_set = ma.fields.Boolean(metadata={"description": "every API credential it needs is set"})
    status = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "ok | failing (retried with backoff) | credentials_refused (401/403: not retried "
            "until the credentials change); null: never pulled"
        },
    )
    last_attempt_at = ma.fields.DateTime(allow_none=True)
    last_success_at = ma.fields.DateTime(allow_none=True)
    covered_until = ma.fields.DateTime(allow_none=True, metadata={"description": "end of the last window pulled"})
    last_error = ma.fields.String(allow_none=True)
    failing_since = ma.fields.DateTime(allow_none=True)
    failures = ma.fields.Integer()
    next_attempt_at = ma.fields.DateTime(allow_none=True, metadata={"description": "backoff: not before"})


class SettlementPullArgsSchema(ma.Schema):
    since = ma.fields.AwareDateTime(load_default=None, metadata={"description": "default: the last pull, less a day"})
    until = ma.fields.AwareDateTime(load_default=None, metadata={"description": "default: now"})


class SettlementPullResultSchema(ma.Schema):
    integration_id = ma.fields.Integer()
    status = ma.fields.String()
    since = ma.fields.String(allow_none=True)
    until = ma.fields.String(allow_none=True)
    summary = ma.fields.Dict(allow_none=True)
    error = ma.fields.String(allow_none=True)
