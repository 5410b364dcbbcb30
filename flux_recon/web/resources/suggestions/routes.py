"""/api/v1/payments/{id}/suggestions: ranked candidate orders for an unmatched payment, with evidence."""

from flask import current_app, g
from flask.views import MethodView

from flux_recon.services import suggestions
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.suggestions.schemas import (
    AcceptedSchema,
    DeclinedSchema,
    NoteSchema,
    SuggestionsQueryArgsSchema,
    SuggestionsSchema,
)

blp = Blueprint(
    "suggestions",
    __name__,
    description="Orders an unmatched or ambiguous payment may be for, scored with the evidence; "
    "never applied on their own.",
)
URL_PREFIX = "/api/v1/payments"


@blp.route("/<int:payment_id>/suggestions")
class Suggestions(MethodView):
    @blp.arguments(SuggestionsQueryArgsSchema, location="query")
    @blp.response(200, SuggestionsSchema)
    @blp.errors(404, 409)
    def get(self, args, payment_id):
        """Suggest orders for an unmatched or ambiguous payment, best first

        Each suggestion has a score (0-100) that is the sum of its evidence: a near-identical
        reference (`INV1001` vs `INV-1001`), the same amount, the same customer id, email,
        phone or name, closeness in time. Declined orders are never suggested again.
        409 for a payment that is not unmatched or ambiguous.
        """
        payment, ranked = suggestions.suggest(g.tenant.id, payment_id, limit=args["limit"])
        return {
            "payment_id": payment.id,
            "suggestions": ranked,
            "declined_order_ids": suggestions.declined_orders(payment.id),
        }


@blp.route("/<int:payment_id>/suggestions/<int:order_id>/accept")
class SuggestionAccept(MethodView):
    @blp.arguments(NoteSchema, example={"note": "confirmed with the customer"})
    @blp.response(200, AcceptedSchema)
    @blp.errors(404, 409)
    def post(self, data, payment_id, order_id):
        """Accept a suggestion: match the payment to this order by hand

        The same operation as `POST /payments/{id}/match` (its rules, audit entries and
        events), with the score and evidence in the reason. 409 if the order is not a
        suggestion for this payment now.
        """
        payment, suggestion = suggestions.accept(
            g.tenant.id, g.actor, payment_id, order_id, current_app.extensions["plugin_manager"], note=data["note"]
        )
        return {"payment": payment, "suggestion": suggestion}


@blp.route("/<int:payment_id>/suggestions/<int:order_id>/decline")
class SuggestionDecline(MethodView):
    @blp.arguments(NoteSchema, example={"note": "a different customer with the same amount"})
    @blp.response(200, DeclinedSchema)
    @blp.errors(404)
    def post(self, data, payment_id, order_id):
        """Decline a suggestion: this order is never suggested for this payment again (audited)"""
        return suggestions.decline(g.tenant.id, g.actor, payment_id, order_id, note=data["note"])
