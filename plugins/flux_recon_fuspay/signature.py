"""Fuspay's body signature: the canonical JSON it covers, payout recognition and the auth check."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from flux_recon import AuthCheck, AuthFailure, WebhookRequest, encode_json, secret_of

from . import remote

SIGNATURE_FIELD = "signature"
MERCHANT_CREDENTIAL = "merchant_secret"
PARTNER_CREDENTIAL = "partner_secret"
# Fuspay's payouts are identified by the merchant's withdrawal reference (Payout / GetPayout API);
# no collection notification carries it.
PAYOUT_FIELD = "withdrawal_reference"
# Integration options (FuspayProvider.option_fields): how the signature is checked.
VERIFICATION_OPTION = "verification"
BASE_URL_OPTION = "signing_base_url"
LOCAL, REMOTE = "local", "remote"


class _NumberText(str):
    """A JSON number kept as the exact characters it was sent as."""


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def canonical_json(body: bytes) -> bytes:
    """The bytes a Fuspay signature covers, built from the raw request body.

    The body without its top-level ``signature`` field, written as compact JSON (separators
    ``,`` and ``:``, no whitespace), object keys sorted at every level (by code point),
    strings as ``json.dumps(..., ensure_ascii=False)`` writes them (non-ASCII characters as
    themselves), every number exactly as it appears in the body (``15000.50`` stays
    ``15000.50``, never ``15000.5``), and the result encoded as UTF-8.

    Fuspay does not publish its canonical form: this function is the one place to change it.
    """
    document = json.loads(
        body.decode("utf-8"), parse_int=_NumberText, parse_float=_NumberText, parse_constant=_refuse_constant
    )
    if isinstance(document, dict):
        document = {key: value for key, value in document.items() if key != SIGNATURE_FIELD}
    return _write(document).encode("utf-8")


def _write(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{_write(key)}:{_write(value[key])}" for key in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_write(item) for item in value) + "]"
    if isinstance(value, _NumberText):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value)  # true, false, null


def is_payout(payload: Any) -> bool:
    """A payout notification (money leaving the merchant) names a ``withdrawal_reference``,
    at the top level or in ``data``.

    The auth check and ``parse`` both decide with this one function: what is verified with
    the merchant secret alone is always ignored, so it can never record a payment.
    """
    if not isinstance(payload, dict):
        return False
    data = payload.get("data")
    return PAYOUT_FIELD in payload or (isinstance(data, dict) and PAYOUT_FIELD in data)


def collection_keys(credentials):
    """Collection notifications: the merchant secret followed by the partner secret, no separator."""
    merchants = [c for c in credentials if c.name == MERCHANT_CREDENTIAL]
    partners = [c for c in credentials if c.name == PARTNER_CREDENTIAL]
    return [(m, (m.secret + p.secret).encode()) for m in merchants for p in partners]


payout_keys = secret_of(MERCHANT_CREDENTIAL)


class FuspaySignature(AuthCheck):
    """The body field ``signature`` = lowercase hex HMAC-SHA512(key, canonical_json(body)).

    The key depends on the notification: merchant secret + partner secret for a collection,
    the merchant secret alone for a payout (see :func:`is_payout`). Always required.
    """

    def verify(self, request, context):
        payload = request.payload  # malformed JSON raises MalformedBody: a 400, not a 401
        payout = is_payout(payload)
        keys = (payout_keys if payout else collection_keys)(context.credentials)
        if not keys:
            needed = MERCHANT_CREDENTIAL if payout else f"{MERCHANT_CREDENTIAL} and {PARTNER_CREDENTIAL}"
            raise AuthFailure(f"set {needed} on this integration to verify Fuspay's signature")
        provided = payload.get(SIGNATURE_FIELD) if isinstance(payload, dict) else None
        if provided is None or provided == "":
            raise AuthFailure(f"missing signature (body field {SIGNATURE_FIELD})")
        if not isinstance(provided, str):
            raise AuthFailure(f"body field {SIGNATURE_FIELD} must be a string")
        kind = "payout" if payout else "collection"
        if context.options.get(VERIFICATION_OPTION) == REMOTE:
            return _verify_remotely(request.body, provided, keys, context.options, kind)
        message = _signed_bytes(request.body)
        candidate = provided.strip().lower().encode("utf-8")
        for credential, key in keys:
            if hmac.compare_digest(candidate, hmac.new(key, message, hashlib.sha512).hexdigest().encode()):
                return credential
        raise AuthFailure(f"signature (body field {SIGNATURE_FIELD}) does not match this {kind} notification")

    def sign(self, webhook, credentials):
        """Sign a notification as Fuspay does, with the key its kind (collection or payout) uses."""
        payload = webhook.payload
        keys = (payout_keys if is_payout(payload) else collection_keys)(credentials)
        if not keys or not isinstance(payload, dict):
            return webhook
        unsigned = encode_json({name: value for name, value in payload.items() if name != SIGNATURE_FIELD})
        signed = dict(payload)
        signed[SIGNATURE_FIELD] = hmac.new(keys[0][1], canonical_json(unsigned), hashlib.sha512).hexdigest()
        return WebhookRequest(body=encode_json(signed), headers=dict(webhook.headers))

    def describe(self):
        return {
            "type": "body_field_signature",
            "field": SIGNATURE_FIELD,
            "digest": "sha512",
            "encoding": "hex",
            "required": True,
            "message": "canonical JSON of the body without the signature field (keys sorted, compact, UTF-8)",
            "keys": {
                "collection": f"{MERCHANT_CREDENTIAL} + {PARTNER_CREDENTIAL}",
                "payout": f"{MERCHANT_CREDENTIAL} (a body naming {PAYOUT_FIELD}; always ignored)",
            },
            "modes": {
                LOCAL: "computed here (the default)",
                REMOTE: f"Fuspay's signing endpoint, <{BASE_URL_OPTION}>{remote.SIGNING_PATH}, signs the body "
                "without the signature field, given the key in the body field secret; a timeout or outage "
                "answers 503",
            },
        }


def _verify_remotely(body: bytes, provided: str, keys, options, kind: str):
    """Fuspay's documented check: its signing endpoint signs the body without ``signature``,
    given the key in the body field ``secret``, and the answer must equal what was sent."""
    base_url = options.get(BASE_URL_OPTION) or remote.DEFAULT_BASE_URL
    for credential, key in keys:
        try:
            request_body = remote.signing_request(body, key.decode("utf-8"))
        except (ValueError, UnicodeError, RecursionError):
            raise AuthFailure("the body cannot be sent to Fuspay's signing endpoint as it was received") from None
        if remote.same_signature(provided, remote.fetch_signature(base_url, request_body)):
            return credential
    raise AuthFailure(
        f"signature (body field {SIGNATURE_FIELD}) does not match the one Fuspay's signing endpoint "
        f"computed for this {kind} notification"
    )


def _signed_bytes(body: bytes) -> bytes:
    try:
        return canonical_json(body)
    except (ValueError, UnicodeError, RecursionError):
        # The pipeline has already parsed this body; anything left (an unpaired surrogate
        # that has no UTF-8 form, nesting too deep to rewrite) cannot have been signed.
        raise AuthFailure("the body cannot be put in the canonical form its signature covers") from None
