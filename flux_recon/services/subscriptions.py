"""Outbound event subscriptions: create, change and delete them, their secrets (basic password,
signing key), the SSRF check of their destination, and test pings."""

from __future__ import annotations

from flux_recon.models import Subscription, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import write_transaction
from flux_recon.outbound.catalog import PING
from flux_recon.outbound.destinations import DestinationRefused, check_destination
from flux_recon.outbound.outbox import event_document
from flux_recon.outbound.sender import Sender
from flux_recon.outbound.signing import basic_authorization, new_signing_key, signature_headers
from flux_recon.services.errors import Invalid
from flux_recon.services.owned import get_owned

# Seconds a test ping may take in all (connect, send, the whole answer): it holds a web
# worker's thread meanwhile, and a slow receiver must not hold it for long.
TEST_DEADLINE = 5.0


def get_subscription(tenant_id: str, subscription_id: int) -> Subscription:
    return get_owned(Subscription, subscription_id, "subscription", tenant_id)


def vetted_url(url: str, allow_private: bool) -> str:
    """Invalid (naming ``url``) for a destination the SSRF guard refuses (checked again at every delivery)."""
    try:
        check_destination(url, allow_private=allow_private)
    except DestinationRefused as refused:
        raise Invalid(str(refused), {"url": [str(refused)]}) from None
    return url


def apply_authentication(subscription: Subscription, authentication: dict, secret_box) -> None:
    subscription.auth_type = authentication["type"]
    if authentication["type"] == "basic":
        subscription.basic_username = authentication["username"]
        subscription.basic_password_encrypted = secret_box.encrypt(authentication["password"])
    else:
        subscription.basic_username = subscription.basic_password_encrypted = None


def apply_signature(subscription: Subscription, signature: dict, secret_box) -> str | None:
    """Returns a new signing key (to show once) when one is made."""
    if signature["type"] == "none":
        subscription.signing_key_encrypted = None
        return None
    if subscription.signing_key_encrypted:
        return None  # already signing: keep the key (regenerate it explicitly)
    return new_key(subscription, secret_box)


def new_key(subscription: Subscription, secret_box) -> str:
    key = new_signing_key()
    subscription.signing_key_encrypted = secret_box.encrypt(key)
    return key


def view(subscription: Subscription, signing_key: str | None = None) -> dict:
    """What is shown of a subscription: never its password, its signing key only when just made."""
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


def list_subscriptions(tenant_id: str) -> list[dict]:
    rows = Subscription.select().where(Subscription.tenant == tenant_id).order_by(Subscription.id)
    return [view(row) for row in rows]


def show(tenant_id: str, subscription_id: int) -> dict:
    return view(get_subscription(tenant_id, subscription_id))


def create(tenant_id: str, actor: str, data: dict, secret_box, allow_private: bool) -> dict:
    """Subscribe ``data["url"]`` to ``data["events"]`` with ``data["authentication"]`` and
    ``data["signature"]`` (as the REST schema loads them). The answer holds a new signing key,
    once. Invalid for a destination the SSRF guard refuses."""
    subscription = Subscription(
        tenant=tenant_id,
        label=data["label"].strip(),
        url=vetted_url(data["url"].strip(), allow_private),
        events=sorted(set(data["events"])),
    )
    apply_authentication(subscription, data["authentication"], secret_box)
    key = apply_signature(subscription, data["signature"], secret_box)
    with write_transaction():
        subscription.save()
        record_audit(
            tenant_id,
            actor,
            "subscription.created",
            "subscription",
            subscription.id,
            {"url": subscription.url, "events": subscription.events},
        )
    return view(subscription, key)


def update(tenant_id: str, subscription_id: int, actor: str, data: dict, secret_box, allow_private: bool) -> dict:
    """Change the fields in ``data``; authentication changes only when it is there, and
    ``enabled: true`` re-enables a subscription the worker disabled."""
    subscription = get_subscription(tenant_id, subscription_id)
    key = None
    if "label" in data:
        subscription.label = data["label"].strip()
    if "url" in data:
        subscription.url = vetted_url(data["url"].strip(), allow_private)
    if "events" in data:
        subscription.events = sorted(set(data["events"]))
    if "authentication" in data:
        apply_authentication(subscription, data["authentication"], secret_box)
    if "signature" in data:
        key = apply_signature(subscription, data["signature"], secret_box)
    if data.get("enabled") is True:
        subscription.enabled, subscription.disabled_reason, subscription.failing_since = True, None, None
    elif data.get("enabled") is False:
        subscription.enabled, subscription.disabled_reason = False, "disabled by you"
    subscription.updated_at = utcnow()
    with write_transaction():
        subscription.save()
        changed = sorted(k for k in data if k != "authentication") + (
            ["authentication"] if "authentication" in data else []
        )
        record_audit(tenant_id, actor, "subscription.changed", "subscription", subscription.id, {"fields": changed})
    return view(subscription, key)


def delete(tenant_id: str, subscription_id: int, actor: str) -> None:
    """Delete a subscription and its pending deliveries."""
    subscription = get_subscription(tenant_id, subscription_id)
    with write_transaction():
        subscription.delete_instance(recursive=True)
        record_audit(
            tenant_id, actor, "subscription.deleted", "subscription", subscription_id, {"url": subscription.url}
        )


def regenerate_signing_key(tenant_id: str, subscription_id: int, actor: str, secret_box) -> dict:
    """A new signing key, in the answer once; the old one stops signing at once."""
    subscription = get_subscription(tenant_id, subscription_id)
    key = new_key(subscription, secret_box)
    subscription.updated_at = utcnow()
    with write_transaction():
        subscription.save()
        record_audit(tenant_id, actor, "subscription.signing_key_regenerated", "subscription", subscription.id)
    return view(subscription, key)


def send_ping(tenant_id: str, subscription_id: int, secret_box, allow_private: bool) -> dict:
    """POST a ``ping`` event now, signed and authenticated like any delivery; not stored.
    A receiver that has not answered in full within TEST_DEADLINE is cut off: the answer is
    then ``ok: false`` with the deadline in ``error``. Invalid for a refused destination."""
    subscription = get_subscription(tenant_id, subscription_id)
    try:
        target = check_destination(subscription.url, allow_private=allow_private)
    except DestinationRefused as refused:
        raise Invalid(str(refused)) from None
    document = event_document(PING, {"subscription_id": subscription.id, "message": "flux-recon test event"})
    body = Sender.encode(document)
    key = secret_box.decrypt(subscription.signing_key_encrypted) if subscription.signing_key_encrypted else None
    headers = signature_headers(body, document["event_id"], int(utcnow().timestamp()), key)
    if subscription.auth_type == "basic":
        headers["Authorization"] = basic_authorization(
            subscription.basic_username, secret_box.decrypt(subscription.basic_password_encrypted)
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
