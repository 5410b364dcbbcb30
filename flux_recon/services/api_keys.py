"""A tenant's REST API keys: made with a scope (read or write), listed without their secret, revoked."""

from __future__ import annotations

import enum

from flux_recon.core.api_keys import hash_api_key, new_api_key
from flux_recon.models import ApiKey, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import write_transaction
from flux_recon.services.errors import Invalid, NotFound


class Scope(enum.StrEnum):
    # GET, HEAD and OPTIONS only: a write with it is refused (403).
    READ = "read"
    WRITE = "write"


# A key made before scopes existed has none, and keeps full access.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allows(scope: str | None, method: str) -> bool:
    return scope != Scope.READ or method.upper() in READ_METHODS


def create_key(tenant_id: str, label: str, scope: str, actor: str) -> tuple[ApiKey, str]:
    """A new key; returns it and its secret value, shown this once (only its hash is kept)."""
    errors = {}
    if scope not in set(Scope):
        errors["scope"] = [f"must be one of: {', '.join(Scope)}"]
    if not (label or "").strip() or len(label) > 200:
        errors["label"] = ["must be 1 to 200 characters"]
    if errors:
        raise Invalid("the API key cannot be created", errors)
    value = new_api_key()
    with write_transaction():
        key = ApiKey.create(
            tenant=tenant_id, key_hash=hash_api_key(value), prefix=value[:10], label=label.strip(), scope=scope
        )
        record_audit(tenant_id, actor, "api_key.created", "api_key", key.id, {"scope": scope, "label": key.label})
    return key, value


def list_keys(tenant_id: str):
    """The tenant's keys as a query to page through: active ones first, newest first."""
    return (
        ApiKey.select().where(ApiKey.tenant == tenant_id).order_by(ApiKey.revoked_at.is_null(False), ApiKey.id.desc())
    )


def revoke_key(tenant_id: str, key_id: int, actor: str) -> None:
    with write_transaction():
        key = ApiKey.get_or_none((ApiKey.id == key_id) & (ApiKey.tenant == tenant_id))
        if key is None or key.revoked_at is not None:
            raise NotFound(f"no active API key {key_id}")
        ApiKey.update(revoked_at=utcnow()).where(ApiKey.id == key.id).execute()
        record_audit(tenant_id, actor, "api_key.revoked", "api_key", key.id, {"prefix": key.prefix})
