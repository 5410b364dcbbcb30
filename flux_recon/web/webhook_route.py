"""POST /webhooks/<provider>/<token>: where payment providers send their notifications."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView

from flux_recon.web.api import Blueprint

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/webhooks",
    auth=None,
    description="Inbound provider webhooks. Authenticated by the integration's "
    "IP allow-list and the provider's signature, not by an API key.",
)


class PaymentResultSchema(ma.Schema):
    payment_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "accepted or duplicate"})
    reconciliation = ma.fields.String()


class WebhookResultSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "accepted | duplicate | ignored"})
    payment_id = ma.fields.Integer(allow_none=True)
    reconciliation = ma.fields.String(
        allow_none=True, metadata={"description": "matched | unmatched | ambiguous | exception | not_applicable"}
    )
    reason = ma.fields.String(metadata={"description": "why an event was ignored"})
    payments = ma.fields.List(
        ma.fields.Nested(PaymentResultSchema), metadata={"description": "one entry per payment in the webhook"}
    )


@blp.route("/<string:provider>/<string:token>")
class Webhook(MethodView):
    @blp.response(
        200,
        WebhookResultSchema,
        example={
            "status": "accepted",
            "payment_id": 42,
            "reconciliation": "matched",
            "payments": [{"payment_id": 42, "status": "accepted", "reconciliation": "matched"}],
        },
    )
    @blp.errors(400, 401, 403, 404, 413, 415, 422, 503)
    def post(self, provider, token):
        """Receive a provider's payment notification

        The body is the provider's own JSON, verified on its raw bytes. A 2xx is sent only
        after the payment, its reconciliation and the inbox record have committed; a
        repeated notification answers `duplicate` and changes nothing.
        """
        return current_app.extensions["webhook_handler"].handle(provider, token)
