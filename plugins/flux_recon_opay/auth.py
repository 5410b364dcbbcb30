"""Which Opay form a request is, and its two checkout signatures: v1 sha512 body field, v2 header."""

from __future__ import annotations

import hashlib
import hmac
import re
from decimal import Decimal

from flux_recon import AuthCheck, AuthFailure, BodyFieldSignature, WebhookRequest, encode_json, secret_of

CHECKOUT = "checkout"
ACQUIRING = "acquiring"
POS = "pos"
WALLET = "wallet"
SECRET_KEY = "secret_key"  # noqa: S105 - the credential field's name, not a secret
SIGNATURE_FIELD = "sha512"
MACQUIRING_CALLBACK = "MACQUIRING_CALLBACK"
# Any of these makes a body a checkout callback, whatever else it carries: a forged checkout
# callback cannot skip the signature by adding "data" or leaving out "type".
CHECKOUT_KEYS = ("payload", "type", SIGNATURE_FIELD)
# Callback signature v2: Opay names the header both ways (Signature in its prose, Authorization
# in its request example); the signed text starts with RequestTimestamp.
SIGNATURE_HEADERS = ("Signature", "Authorization")
TIMESTAMP_HEADER = "RequestTimestamp"
MERCHANT_HEADER = "MerchantId"
DIGITS = re.compile(r"[0-9]{1,20}", re.ASCII)
BEARER = re.compile(r"^bearer\s+", re.IGNORECASE)
# Used by sign() when a request has none: a fixed value keeps test sends reproducible.
SAMPLE_REQUEST_TIMESTAMP = "1795341906000"
SAMPLE_MERCHANT_ID = "256621051512345"


def form_of(body: object) -> str | None:
    """Which Opay notification a body is: ``"acquiring"`` (type MACQUIRING_CALLBACK),
    ``"checkout"`` (any other body with payload, type or sha512), ``"pos"`` (data),
    ``"wallet"`` (depositAmount); None for any other shape."""
    if not isinstance(body, dict):
        return None
    if body.get("type") == MACQUIRING_CALLBACK:
        return ACQUIRING
    if any(key in body for key in CHECKOUT_KEYS):
        return CHECKOUT
    if "data" in body:
        return POS
    if "depositAmount" in body:
        return WALLET
    return None


def header_signed(request: WebhookRequest) -> bool:
    """Whether the request carries (or claims) a callback signature v2 in its headers."""
    return bool(request.header(TIMESTAMP_HEADER) or request.header("Signature"))


def v2_message(timestamp: str, body: bytes) -> bytes:
    """What callback signature v2 signs: the RequestTimestamp header, then the raw body."""
    return timestamp.encode("ascii") + body


def sign_v2(timestamp: str, body: bytes, secret_key: str) -> str:
    """Callback signature v2 as Opay would send it: lower-case hex HMAC-SHA512."""
    return hmac.new(secret_key.encode(), v2_message(timestamp, body), hashlib.sha512).hexdigest()


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
    """Verifies Opay's checkout signatures once the merchant has set the secret key.

    A request carrying a v2 header signature (``RequestTimestamp`` or ``Signature``) is
    verified on its raw bytes, whatever its body. Otherwise the body's form decides: a
    checkout callback (payload, type or sha512) needs a valid ``sha512`` field; a
    MACQUIRING_CALLBACK without its headers is refused. POS/transfer and digital-wallet
    notifications carry no signature (Opay protects them by source address only), and
    neither does a body of a shape this plugin does not know (it is kept as unrecognized,
    never recorded as a payment).
    """

    sensitive_headers = SIGNATURE_HEADERS

    def __init__(self):
        self.keys = secret_of(SECRET_KEY)
        self.signature = BodyFieldSignature(
            SIGNATURE_FIELD,
            "sha3_512",
            message=signed_message,
            encoding="hex",
            keys=self.keys,
            required=False,
        )

    def verify(self, request, context):
        if header_signed(request):
            return self._verify_v2(request, list(self.keys(context.credentials)))
        form = form_of(request.payload)
        if form == CHECKOUT:
            return self.signature.verify(request, context)
        if form == ACQUIRING and list(self.keys(context.credentials)):
            raise AuthFailure(
                f"missing signature (header Authorization or Signature, with {TIMESTAMP_HEADER}): "
                "a MACQUIRING_CALLBACK is signed in its headers"
            )
        return None

    @staticmethod
    def _verify_v2(request, keys):
        if not keys:
            return None  # not enforced until the merchant sets the secret key
        timestamp = (request.header(TIMESTAMP_HEADER) or "").strip()
        provided = next((v for v in (request.header(h) for h in SIGNATURE_HEADERS) if v and v.strip()), None)
        if not provided:
            raise AuthFailure("missing signature (header Authorization or Signature)")
        if not DIGITS.fullmatch(timestamp):
            raise AuthFailure(f"header {TIMESTAMP_HEADER} must be the digits Opay signed (epoch time)")
        try:
            candidate = BEARER.sub("", provided.strip()).lower().encode("ascii")
        except UnicodeEncodeError:
            candidate = b""
        message = v2_message(timestamp, request.body)
        matched = None
        for credential, key in keys:
            # Every key is tried, so the time taken does not tell which one is configured.
            expected = hmac.new(key, message, hashlib.sha512).hexdigest().encode()
            if hmac.compare_digest(candidate, expected) and matched is None:
                matched = credential
        if matched is None:
            raise AuthFailure("signature (header Authorization or Signature, callback v2) does not match")
        return matched

    def sign(self, webhook, credentials):
        """Sign as Opay does: v2 in the headers for a MACQUIRING_CALLBACK (or a request that
        already carries RequestTimestamp), v1's sha512 field for a checkout callback; POS,
        transfer and digital-wallet notifications travel unsigned."""
        keys = self.keys(credentials)
        if not keys:
            return webhook
        secret = keys[0][0].secret
        try:
            form = form_of(webhook.payload)
        except ValueError:
            form = None
        if form == ACQUIRING or header_signed(webhook):
            headers = {k: v for k, v in webhook.headers.items() if k.lower() not in ("signature", "authorization")}
            timestamp = webhook.header(TIMESTAMP_HEADER) or SAMPLE_REQUEST_TIMESTAMP
            headers[TIMESTAMP_HEADER] = timestamp
            headers.setdefault(MERCHANT_HEADER, webhook.header(MERCHANT_HEADER) or SAMPLE_MERCHANT_ID)
            headers["Authorization"] = sign_v2(timestamp, webhook.body, secret)
            return WebhookRequest(body=webhook.body, headers=headers)
        if form != CHECKOUT:
            return webhook
        body = dict(webhook.payload)
        body[SIGNATURE_FIELD] = sign(body, secret)
        return WebhookRequest(body=encode_json(body), headers=dict(webhook.headers))

    def describe(self):
        return {
            **self.signature.describe(),
            "type": "opay_checkout_signature",
            "applies_to": "checkout callbacks: bodies with any of payload, type or sha512 carry the sha512 field "
            "(HMAC-SHA3-512 of a template of the payload's fields); a MACQUIRING_CALLBACK, or any request with "
            "a RequestTimestamp or Signature header, carries callback signature v2. POS/transfer ({data}) and "
            "digital-wallet ({depositAmount}) notifications are protected by the IP allow-list alone",
            "header_signature": {
                "headers": list(SIGNATURE_HEADERS),
                "timestamp_header": TIMESTAMP_HEADER,
                "digest": "sha512",
                "encoding": "hex",
                "message": "RequestTimestamp header followed by the raw body",
            },
        }
