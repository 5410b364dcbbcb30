"""Schemas of the subscriptions, event types and deliveries resources."""

import marshmallow as ma

from flux_recon.models import DELIVERY_STATUSES
from flux_recon.outbound.catalog import EVENT_TYPES
from flux_recon.web.resources.fields import UTCDateTime, id_field


def events_field(**kwargs) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(sorted(EVENT_TYPES))),
        validate=ma.validate.Length(min=1),
        metadata={
            "description": "one or more types from GET /event-types",
            "example": ["payment.matched", "order.paid"],
        },
        **kwargs,
    )


class AuthenticationSchema(ma.Schema):
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(("none", "basic")))
    username = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    password = ma.fields.String(
        load_only=True, validate=ma.validate.Length(min=1, max=200), metadata={"description": "write-only"}
    )

    @ma.validates_schema
    def basic_needs_both(self, data, **kwargs):
        if data.get("type") == "basic" and not (data.get("username") and data.get("password")):
            raise ma.ValidationError("basic authentication needs a username and a password")


class SignatureSchema(ma.Schema):
    type = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(("none", "signing_key")),
        metadata={"description": "signing_key: the service generates a key, shown once"},
    )


class SubscriptionCreateSchema(ma.Schema):
    label = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    url = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=2000),
        metadata={"example": "https://shop.example.com/hooks/flux-recon"},
    )
    events = events_field(required=True)
    authentication = ma.fields.Nested(AuthenticationSchema, required=True)
    signature = ma.fields.Nested(SignatureSchema, required=True)


class SubscriptionPatchSchema(ma.Schema):
    label = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    url = ma.fields.String(validate=ma.validate.Length(min=1, max=2000))
    events = events_field()
    authentication = ma.fields.Nested(
        AuthenticationSchema, metadata={"description": 'replaced only when sent; {"type": "none"} resets it'}
    )
    signature = ma.fields.Nested(SignatureSchema, metadata={"description": "switching to signing_key makes a new key"})
    enabled = ma.fields.Boolean(metadata={"description": "true re-enables a disabled subscription"})


class AuthenticationViewSchema(ma.Schema):
    type = ma.fields.String()
    username = ma.fields.String(allow_none=True)


class SubscriptionSchema(ma.Schema):
    id = ma.fields.Integer()
    label = ma.fields.String()
    url = ma.fields.String()
    events = ma.fields.List(ma.fields.String())
    authentication = ma.fields.Nested(AuthenticationViewSchema)
    signature = ma.fields.Nested(SignatureSchema)
    enabled = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True)
    failing_since = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class SubscriptionWithKeySchema(SubscriptionSchema):
    signing_key = ma.fields.String(allow_none=True, metadata={"description": "shown only in this answer (whsec_...)"})


class EventTypeSchema(ma.Schema):
    type = ma.fields.String(metadata={"example": "order.paid"})
    description = ma.fields.String()
    example = ma.fields.Dict(metadata={"description": "a delivery's whole body"})


class TestResultSchema(ma.Schema):
    ok = ma.fields.Boolean()
    status_code = ma.fields.Integer(allow_none=True)
    latency_ms = ma.fields.Integer()
    response_snippet = ma.fields.String(allow_none=True)
    error = ma.fields.String(allow_none=True)


class DeliverySchema(ma.Schema):
    id = ma.fields.Integer()
    event_id = ma.fields.Function(lambda d: d.event.event_id, metadata={"type": "string"})
    event_type = ma.fields.Function(lambda d: d.event.event_type, metadata={"type": "string"})
    status = ma.fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = ma.fields.Integer()
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    last_latency_ms = ma.fields.Integer(allow_none=True)
    response_snippet = ma.fields.String(allow_none=True)
    next_attempt_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    delivered_at = ma.fields.DateTime(allow_none=True)


class DeliveryQueryArgsSchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(DELIVERY_STATUSES))


class BulkRedeliverSchema(ma.Schema):
    since = UTCDateTime(required=True, metadata={"description": "failed deliveries created at or after this time"})
    subscription_id = id_field()


class BulkRedeliverResultSchema(ma.Schema):
    redelivered = ma.fields.Integer()
