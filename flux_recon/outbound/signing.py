"""Signing outbound webhooks: X-Signature and the Standard Webhooks headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

KEY_PREFIX = "whsec_"


def new_signing_key() -> str:
    """A Standard Webhooks secret: "whsec_" + base64 of 32 random bytes."""
    return KEY_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def key_bytes(signing_key: str) -> bytes:
    return base64.b64decode(signing_key.removeprefix(KEY_PREFIX))


def signature_headers(body: bytes, event_id: str, timestamp: int, signing_key: str | None) -> dict[str, str]:
    """``webhook-id``/``webhook-timestamp`` always; with a key also ``webhook-signature``
    (v1, Base64 HMAC-SHA256 over "id.timestamp.body") and ``X-Signature`` (hex HMAC-SHA256
    over the body), both keyed with the key's decoded bytes."""
    headers = {"webhook-id": event_id, "webhook-timestamp": str(timestamp)}
    if signing_key:
        key = key_bytes(signing_key)
        signed = f"{event_id}.{timestamp}.".encode() + body
        headers["webhook-signature"] = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        headers["X-Signature"] = hmac.new(key, body, hashlib.sha256).hexdigest()
    return headers


def basic_authorization(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
