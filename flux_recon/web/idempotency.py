"""Idempotency-Key on merchant API writes: the same key and request get the first answer
again; the same key with another request is refused (422)."""

from __future__ import annotations

import datetime as dt
import hashlib

import peewee
from flask import current_app, g, request
from flask_smorest import abort

from flux_recon.models import IdempotencyRecord, db, utcnow

HEADER = "Idempotency-Key"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# A key is remembered this long; after that it may be used again.
KEY_LIFETIME = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 200


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.full_path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _claim(key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert the record for this key, or return the one already there."""
    try:
        with db.atomic():
            IdempotencyRecord.create(tenant=g.tenant.id, key=key, fingerprint=fingerprint)
        return None
    except peewee.IntegrityError:
        return IdempotencyRecord.get((IdempotencyRecord.tenant == g.tenant.id) & (IdempotencyRecord.key == key))


def before_write():
    """before_request of merchant blueprints (after authentication)."""
    key = request.headers.get(HEADER)
    if key is None or request.method not in WRITE_METHODS:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        abort(400, message=f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters")
    fingerprint = _fingerprint()
    existing = _claim(key, fingerprint)
    if existing is not None and existing.created_at < utcnow() - KEY_LIFETIME:
        existing.delete_instance()  # expired: the key starts afresh
        existing = _claim(key, fingerprint)
    if existing is None:
        g.idempotency_key = key
        return None
    if existing.fingerprint != fingerprint:
        abort(422, message=f"this {HEADER} was used with a different request")
    if existing.status_code is None:
        abort(409, message=f"a request with this {HEADER} is still being processed; retry shortly")
    return _replayed(existing)


def _replayed(record: IdempotencyRecord):
    body = current_app.extensions["secret_box"].decrypt(record.response_encrypted) if record.response_encrypted else ""
    response = current_app.response_class(body, status=record.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def after_write(response):
    """after_request: keep the answer for the key (or free the key after a server error)."""
    key = getattr(g, "idempotency_key", None)
    if key is None:
        return response
    query = IdempotencyRecord.tenant == g.tenant.id
    if response.status_code >= 500:
        # Nothing was done (the transaction rolled back): let the client retry with the key.
        IdempotencyRecord.delete().where(query & (IdempotencyRecord.key == key)).execute()
        return response
    body = response.get_data(as_text=True)
    stored = current_app.extensions["secret_box"].encrypt(body) if body else None
    IdempotencyRecord.update(status_code=response.status_code, response_encrypted=stored).where(
        query & (IdempotencyRecord.key == key)
    ).execute()
    return response
