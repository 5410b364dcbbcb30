"""Signing outbound webhooks: the Standard Webhooks headers and X-Signature."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from standardwebhooks.webhooks import Webhook

KEY_PREFIX = "whsec_"


def new_signing_key() -> str:
    """A Standard Webhooks secret: "whsec_" + base64 of 32 random bytes."""
    return KEY_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def key_bytes(signing_key: str) -> bytes:
    return base64.b64decode(signing_key.removeprefix(KEY_PREFIX))


def signature_headers(body: bytes, event_id: str, timestamp: int, signing_key: str | None) -> dict[str, str]:
    """``webhook-id``/``webhook-timestamp`` always; with a key also ``webhook-signature``
    (v1, Base64 HMAC-SHA256 over "id.timestamp.body", made by the standardwebhooks package)
    and ``X-Signature`` (hex HMAC-SHA256 over the body, which that package does not make),
    both keyed with the key's decoded bytes."""
    headers = {"webhook-id": event_id, "webhook-timestamp": str(timestamp)}
    if signing_key:
        # The body is JSON with every non-ASCII character escaped: as text it is the same bytes.
        at = dt.datetime.fromtimestamp(timestamp, dt.UTC)
        headers["webhook-signature"] = Webhook(signing_key).sign(event_id, at, body.decode())
        headers["X-Signature"] = hmac.new(key_bytes(signing_key), body, hashlib.sha256).hexdigest()
    return headers


def basic_authorization(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
