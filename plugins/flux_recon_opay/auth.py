"""Which Opay form a body is, and the checkout callback's sha512 field (HMAC-SHA3-512) that signs it."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal

from flux_recon import AuthCheck, BodyFieldSignature, WebhookRequest, encode_json, secret_of

CHECKOUT = "checkout"
POS = "pos"
SECRET_KEY = "secret_key"  # noqa: S105 - the credential field's name, not a secret
SIGNATURE_FIELD = "sha512"
# Any of these makes a body a checkout callback, whatever else it carries: a forged checkout
# callback cannot skip the signature by adding "data" or leaving out "type".
CHECKOUT_KEYS = ("payload", "type", SIGNATURE_FIELD)


def form_of(body: object) -> str | None:
    """``"checkout"`` for a body with payload, type or sha512; ``"pos"`` for one with only data."""
    if not isinstance(body, dict):
        return None
    if any(key in body for key in CHECKOUT_KEYS):
        return CHECKOUT
    if "data" in body:
        return POS
    return None


def _as_sent(value: object) -> str:
    # The signed string holds each field's text exactly as sent; a JSON integer or a
    # number read as Decimal prints back to its own digits. Anything else cannot be signed.
    if isinstance(value, str):
        return value
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{value!r} is not a signable value")


def signed_message(body: dict) -> bytes:
    """The exact bytes Opay signs, built from the callback's payload fields."""
    fields = body["payload"]
    refunded = fields["refunded"]
    if not isinstance(refunded, bool):
        raise TypeError("refunded must be true or false")
    text = (
        f'{{Amount:"{_as_sent(fields["amount"])}",'
        f'Currency:"{_as_sent(fields["currency"])}",'
        f'Reference:"{_as_sent(fields["reference"])}",'
        f"Refunded:{'t' if refunded else 'f'},"
        f'Status:"{_as_sent(fields["status"])}",'
        f'Timestamp:"{_as_sent(fields["timestamp"])}",'
        f'Token:"{_as_sent(fields["token"])}",'
        f'TransactionID:"{_as_sent(fields["transactionId"])}"}}'
    )
    return text.encode()


def sign(body: dict, secret_key: str) -> str:
    """The sha512 field Opay would send for ``body``: lower-case hex HMAC-SHA3-512."""
    return hmac.new(secret_key.encode(), signed_message(body), hashlib.sha3_512).hexdigest()


class CheckoutSignature(AuthCheck):
    """Verifies the sha512 field of checkout callbacks once the merchant has set the secret key.

    POS/transfer notifications carry no signature (Opay protects them by source address
    only), so this check applies to the checkout form alone; see ``form_of`` for the rule.
    """

    def __init__(self):
        self.signature = BodyFieldSignature(
            SIGNATURE_FIELD,
            "sha3_512",
            message=signed_message,
            encoding="hex",
            keys=secret_of(SECRET_KEY),
            required=False,
        )

    def verify(self, request, context):
        if form_of(request.payload) != CHECKOUT:
            return None
        return self.signature.verify(request, context)

    def sign(self, webhook, credentials):
        """Sign a checkout callback as Opay does; POS/transfer notifications travel unsigned."""
        keys = secret_of(SECRET_KEY)(credentials)
        if form_of(webhook.payload) != CHECKOUT or not keys:
            return webhook
        body = dict(webhook.payload)
        body[SIGNATURE_FIELD] = sign(body, keys[0][0].secret)
        return WebhookRequest(body=encode_json(body), headers=dict(webhook.headers))

    def describe(self):
        return {
            **self.signature.describe(),
            "type": "opay_checkout_signature",
            "applies_to": "bodies with any of payload, type or sha512 (the checkout callback); "
            "POS/transfer notifications ({data} only) are protected by the IP allow-list alone",
        }
