"""Monnify's two signatures: the monnify-signature header (v2) and the legacy body field transactionHash (v1)."""

from __future__ import annotations

import hashlib
import hmac

from flux_recon import AuthCheck, AuthFailure, HeaderHmac, MalformedBody, WebhookRequest, encode_json, secret_of

from .legacy import HASH_FIELD, hash_matches, is_legacy, transaction_hash

SIGNATURE_HEADER = "monnify-signature"
CLIENT_SECRET = "client_secret"  # noqa: S105 - the credential field's name, not a secret


class MonnifySignature(AuthCheck):
    """Enforced once the client secret is set, like Monnify's own advice to verify.

    - A ``monnify-signature`` header, when sent, must be the hex HMAC-SHA512 of the raw body
      (the whole body is then authenticated, whatever its form).
    - Without the header, a legacy (v1) body must carry ``transactionHash`` = hex
      SHA-512(``clientSecret|paymentReference|amountPaid|paidOn|transactionReference``).
    - Anything else without the header is refused: a v2 event cannot be vouched for by a v1 hash.
    """

    sensitive_headers = (SIGNATURE_HEADER,)

    def __init__(self):
        self.header = HeaderHmac(SIGNATURE_HEADER, "sha512", "hex", keys=secret_of(CLIENT_SECRET), required=False)
        self.keys = secret_of(CLIENT_SECRET)

    def verify(self, request, context):
        keys = self.keys(context.credentials)
        if not keys:
            return None  # no client secret yet: only the address check protects the URL
        if request.header(SIGNATURE_HEADER):
            return self.header.verify(request, context)
        try:
            legacy = is_legacy(request.payload)
        except MalformedBody:
            legacy = False  # no header and no readable body: nothing signs it
        if not legacy:
            raise AuthFailure(f"missing signature (header {SIGNATURE_HEADER})")
        provided = request.payload.get(HASH_FIELD)
        if not isinstance(provided, str) or not provided.strip():
            raise AuthFailure(f"missing signature (body field {HASH_FIELD} of a legacy notification)")
        for credential, key in keys:
            if hash_matches(provided, request.body, key.decode()):
                return credential
        raise AuthFailure(f"signature (body field {HASH_FIELD} of a legacy notification) does not match")

    def sign(self, webhook: WebhookRequest, credentials) -> WebhookRequest:
        """Sign as Monnify does: a legacy body gets its transactionHash, a v2 event the header."""
        keys = self.keys(credentials)
        if not keys:
            return webhook
        secret = keys[0][1]
        payload = webhook.payload
        if is_legacy(payload):
            signed = dict(payload)  # keeps the field where the sample had it
            signed[HASH_FIELD] = transaction_hash(encode_json(payload), secret.decode()) or ""
            return WebhookRequest(body=encode_json(signed), headers=dict(webhook.headers))
        headers = {k: v for k, v in webhook.headers.items() if k.lower() != SIGNATURE_HEADER}
        headers[SIGNATURE_HEADER] = hmac.new(secret, webhook.body, hashlib.sha512).hexdigest()
        return WebhookRequest(body=webhook.body, headers=headers)

    def describe(self):
        # Listed as the header check it always was (API clients read "header_hmac"), with the
        # legacy body field added.
        return {
            **self.header.describe(),
            "legacy_body_field": {
                "field": HASH_FIELD,
                "digest": "sha512",
                "encoding": "hex",
                "message": "clientSecret|paymentReference|amountPaid|paidOn|transactionReference (plain SHA-512)",
                "when": "no monnify-signature header and a body with transactionHash and no eventType",
            },
        }


__all__ = ["CLIENT_SECRET", "SIGNATURE_HEADER", "MonnifySignature"]
