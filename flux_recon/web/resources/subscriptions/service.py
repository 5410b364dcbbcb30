"""Subscriptions: validation of destinations, secrets (basic password, signing key), test pings."""

from __future__ import annotations

from flask import current_app
from flask_smorest import abort

from flux_recon.models import Subscription, utcnow
from flux_recon.outbound.catalog import PING
from flux_recon.outbound.destinations import DestinationRefused, check_destination
from flux_recon.outbound.outbox import event_document
from flux_recon.outbound.sender import Sender
from flux_recon.outbound.signing import basic_authorization, new_signing_key, signature_headers

# Seconds a test ping may take in all (connect, send, the whole answer): it holds a web
# worker's thread meanwhile, and a slow receiver must not hold it for long.
TEST_DEADLINE = 5.0


def vetted_url(url: str) -> str:
    """422 for a destination the SSRF guard refuses (checked again at every delivery)."""
    try:
        check_destination(url, allow_private=current_app.config["ALLOW_PRIVATE_DESTINATIONS"])
    except DestinationRefused as refused:
        abort(422, message=str(refused), errors={"json": {"url": [str(refused)]}})
    return url


def apply_authentication(subscription: Subscription, authentication: dict) -> None:
    box = current_app.extensions["secret_box"]
    subscription.auth_type = authentication["type"]
    if authentication["type"] == "basic":
        subscription.basic_username = authentication["username"]
        subscription.basic_password_encrypted = box.encrypt(authentication["password"])
    else:
        subscription.basic_username = subscription.basic_password_encrypted = None


def apply_signature(subscription: Subscription, signature: dict) -> str | None:
    """Returns a new signing key (to show once) when one is made."""
    if signature["type"] == "none":
        subscription.signing_key_encrypted = None
        return None
    if subscription.signing_key_encrypted:
        return None  # already signing: keep the key (regenerate it explicitly)
    return regenerate_key(subscription)


def regenerate_key(subscription: Subscription) -> str:
    key = new_signing_key()
    subscription.signing_key_encrypted = current_app.extensions["secret_box"].encrypt(key)
    return key


def view(subscription: Subscription, signing_key: str | None = None) -> dict:
    result = {
        "id": subscription.id,
        "label": subscription.label,
        "url": subscription.url,
        "events": subscription.events,
        "authentication": {"type": subscription.auth_type, "username": subscription.basic_username},
        "signature": {"type": "signing_key" if subscription.signing_key_encrypted else "none"},
        "enabled": subscription.enabled,
        "disabled_reason": subscription.disabled_reason,
        "failing_since": subscription.failing_since,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }
    if signing_key:
        result["signing_key"] = signing_key
    return result


def send_ping(subscription: Subscription) -> dict:
    """POST a ``ping`` event now, signed and authenticated like any delivery; not stored.
    A receiver that has not answered in full within TEST_DEADLINE is cut off: the answer is
    then ``ok: false`` with the deadline in ``error``."""
    box = current_app.extensions["secret_box"]
    try:
        target = check_destination(subscription.url, allow_private=current_app.config["ALLOW_PRIVATE_DESTINATIONS"])
    except DestinationRefused as refused:
        abort(422, message=str(refused))
    document = event_document(PING, {"subscription_id": subscription.id, "message": "flux-recon test event"})
    body = Sender.encode(document)
    key = box.decrypt(subscription.signing_key_encrypted) if subscription.signing_key_encrypted else None
    headers = signature_headers(body, document["event_id"], int(utcnow().timestamp()), key)
    if subscription.auth_type == "basic":
        headers["Authorization"] = basic_authorization(
            subscription.basic_username, box.decrypt(subscription.basic_password_encrypted)
        )
    sender = Sender(pool_size=1)
    try:
        result = sender.post(target, body, headers, deadline=TEST_DEADLINE)
    finally:
        sender.close()
    return {
        "ok": result.ok and result.error is None,  # a 2xx answer read in full, in time
        "status_code": result.status_code,
        "latency_ms": result.latency_ms,
        "response_snippet": result.snippet,
        "error": result.error,
    }
