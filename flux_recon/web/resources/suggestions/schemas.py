"""Schemas of the suggestions resource."""

import marshmallow as ma

from flux_recon.money import format_minor
from flux_recon.services import suggestions
from flux_recon.web.resources.fields import minor_amount
from flux_recon.web.resources.payments.schemas import PaymentSchema


class EvidenceSchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": list(suggestions.POINTS)})
    points = ma.fields.Integer()
    detail = ma.fields.String(metadata={"example": "reference INV1001 ≈ order INV-1001"})


class SuggestedOrderSchema(ma.Schema):
    id = ma.fields.Integer()
    reference = ma.fields.String()
    payment_reference = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    amount = minor_amount("amount_minor")
    outstanding = ma.fields.Function(
        lambda order: format_minor(order.outstanding_minor, order.currency), metadata={"type": "string"}
    )
    currency = ma.fields.String()
    customer_name = ma.fields.String(allow_none=True)
    customer_email = ma.fields.String(allow_none=True)
    customer_phone = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class SuggestionSchema(ma.Schema):
    order = ma.fields.Nested(SuggestedOrderSchema)
    score = ma.fields.Integer(metadata={"description": "0-100: the sum of the evidence's points"})
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema))


class SuggestionsSchema(ma.Schema):
    payment_id = ma.fields.Integer()
    suggestions = ma.fields.List(ma.fields.Nested(SuggestionSchema), metadata={"description": "best first"})
    declined_order_ids = ma.fields.List(ma.fields.Integer(), metadata={"description": "never suggested again"})


class SuggestionsQueryArgsSchema(ma.Schema):
    limit = ma.fields.Integer(load_default=suggestions.DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=20))


class NoteSchema(ma.Schema):
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


class AcceptedSchema(ma.Schema):
    payment = ma.fields.Nested(PaymentSchema, metadata={"description": "the payment, now matched"})
    suggestion = ma.fields.Nested(SuggestionSchema, metadata={"description": "what was accepted"})


class DeclinedSchema(ma.Schema):
    payment_id = ma.fields.Integer(attribute="payment_id")
    order_id = ma.fields.Integer(attribute="order_id")
    note = ma.fields.String()
    actor = ma.fields.String()
    declined_at = ma.fields.DateTime()
