"""POST /webhooks/<provider>/<token>: where payment providers send their notifications."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import abort
from werkzeug.exceptions import RequestEntityTooLarge

from flux_recon.inbound.pipeline import Rejection, WebhookPipeline
from flux_recon.services.settlement_webhooks import WebhookSettlements
from flux_recon.web.api import Blueprint
from flux_recon.web.client_ip import client_ip
from flux_recon.web.rate_limit import RefusalSample, admit_webhook

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


class SettlementResultSchema(ma.Schema):
    settlements = ma.fields.List(ma.fields.Integer())
    lines_read = ma.fields.Integer()
    lines_added = ma.fields.Integer()
    lines_known = ma.fields.Integer()
    payments_settled = ma.fields.Integer()
    payments_recovered = ma.fields.Integer(metadata={"description": "payments recorded from lines (missing webhooks)"})
    breaks_found = ma.fields.Integer()


class WebhookResultSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "accepted | duplicate | ignored | unrecognized"})
    payment_id = ma.fields.Integer(allow_none=True)
    reconciliation = ma.fields.String(
        allow_none=True, metadata={"description": "matched | unmatched | ambiguous | exception | not_applicable"}
    )
    reason = ma.fields.String(metadata={"description": "why an event was ignored or not recognized"})
    payments = ma.fields.List(
        ma.fields.Nested(PaymentResultSchema), metadata={"description": "one entry per payment in the webhook"}
    )
    settlement_ids = ma.fields.List(
        ma.fields.Integer(), metadata={"description": "a settlement webhook: the settlements it recorded"}
    )
    settlement = ma.fields.Nested(
        SettlementResultSchema, metadata={"description": "a settlement webhook: what recording it did"}
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


class WebhookHandler:
    """The HTTP side of one app's webhooks: reads the request, works out the client address
    (``trusted_proxies``), and hands plain values to its own pipeline (with its own auth
    cache, as each gunicorn worker has); a Rejection becomes the HTTP answer. The rate limit
    and the sample of strangers' refusals kept in the inbox are counted here, for the pipeline."""

    def __init__(self, app):
        self.trusted_proxies = app.extensions["trusted_proxies"]
        self.refusal_sample = RefusalSample(app.config)
        self.pipeline = WebhookPipeline(
            providers=app.extensions["providers"],
            engine=app.extensions["engine"],
            plugin_manager=app.extensions["plugin_manager"],
            secret_box=app.extensions["secret_box"],
            settings=app.config,
            admit=admit_webhook,
            keep_refusal=self._keep_refusal,
            record_settlements=WebhookSettlements(app.extensions["engine"]),
        )

    def _keep_refusal(self, integration_id: int, address) -> bool:
        return self.refusal_sample.keep(integration_id, address)

    def handle(self, provider_name: str, token: str) -> dict:
        # No peer address (a unix socket) maps to 0.0.0.0, which no allow-list admits by accident.
        peer = request.remote_addr or "0.0.0.0"  # noqa: S104 - an address to compare, not to bind
        address = client_ip(peer, request.headers.get("X-Forwarded-For"), self.trusted_proxies)
        body, too_large = b"", None
        try:
            body = request.get_data(cache=True)
        except RequestEntityTooLarge:
            # Refused by the pipeline once it knows the integration, so the inbox records it.
            too_large = f"body larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes"
        try:
            return self.pipeline.handle(
                provider_name, token, body=body, headers=request.headers, client_ip=address, body_refusal=too_large
            )
        except Rejection as rejection:
            abort(rejection.status, message=rejection.message, errors=rejection.errors)
