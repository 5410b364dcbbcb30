"""Schemas of the webhook inbox resource."""

import marshmallow as ma
from webargs.fields import DelimitedList

from flux_recon.models import VERDICTS
from flux_recon.web.resources.fields import UTCDateTime, id_field

MAX_BULK_REPLAY = 500


def _body_text(event) -> str | None:
    return None if event.body is None else bytes(event.body).decode("utf-8", errors="replace")


class WebhookEventSchema(ma.Schema):
    id = ma.fields.Integer()
    integration_id = ma.fields.Integer(attribute="integration_id")
    provider = ma.fields.String()
    received_at = ma.fields.DateTime()
    source_ip = ma.fields.String(metadata={"description": "the client address, or 'replay'"})
    verdict = ma.fields.String(metadata={"enum": list(VERDICTS)})
    reason = ma.fields.String(allow_none=True)
    http_status = ma.fields.Integer(metadata={"description": "what the sender was answered"})
    authenticated = ma.fields.Boolean(metadata={"description": "passed the provider's auth checks (replayable)"})
    credential_id = ma.fields.Integer(allow_none=True, metadata={"description": "the credential that verified it"})
    headers = ma.fields.Dict(metadata={"description": "selected headers; signatures only in redacted form"})
    body = ma.fields.Function(
        _body_text, metadata={"type": "string", "nullable": True, "description": "as received (capped)"}
    )
    body_size = ma.fields.Integer(metadata={"description": "bytes received"})
    body_truncated = ma.fields.Boolean(metadata={"description": "the inbox kept only the first part"})
    payment_id = ma.fields.Integer(attribute="payment_id", allow_none=True)
    replay_of = ma.fields.Integer(allow_none=True, metadata={"description": "the event this record replayed"})


class WebhookEventQueryArgsSchema(ma.Schema):
    provider = ma.fields.String()
    verdict = DelimitedList(
        ma.fields.String(validate=ma.validate.OneOf(VERDICTS)), metadata={"description": "one or more, comma-separated"}
    )
    integration_id = id_field(strict=False)
    payment_id = id_field(strict=False)
    received_from = UTCDateTime(metadata={"description": "ISO 8601, inclusive"})
    received_to = UTCDateTime(metadata={"description": "ISO 8601, exclusive"})


class ReplayResultSchema(ma.Schema):
    status = ma.fields.String(
        metadata={"description": "accepted | duplicate | ignored | unrecognized | invalid_payload | ..."}
    )
    reason = ma.fields.String(allow_none=True)
    errors = ma.fields.Dict()
    payment_id = ma.fields.Integer(allow_none=True)
    reconciliation = ma.fields.String(allow_none=True)


class ReplaySchema(ma.Schema):
    event = ma.fields.Nested(WebhookEventSchema, metadata={"description": "the inbox record the replay wrote"})
    result = ma.fields.Nested(ReplayResultSchema)


class BulkReplaySchema(ma.Schema):
    provider = ma.fields.String()
    verdict = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(VERDICTS)), metadata={"example": ["invalid_payload"]}
    )
    received_from = UTCDateTime()
    received_to = UTCDateTime()
    limit = ma.fields.Integer(
        strict=True,
        load_default=100,
        validate=ma.validate.Range(min=1, max=MAX_BULK_REPLAY),
        metadata={"description": f"at most this many events, oldest first (max {MAX_BULK_REPLAY})"},
    )


class BulkReplayResultSchema(ma.Schema):
    replayed = ma.fields.Integer()
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    event_ids = ma.fields.List(ma.fields.Integer(), metadata={"description": "the events replayed"})
