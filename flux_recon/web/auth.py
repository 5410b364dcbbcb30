"""Merchant authentication: Bearer API keys (stored as SHA-256) and the admin token."""

from __future__ import annotations

import hmac

from flask import current_app, g, request
from flask_smorest import abort

from flux_recon.core.api_keys import hash_api_key
from flux_recon.models import ApiKey, Tenant
from flux_recon.services.api_keys import allows

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "A tenant API key: `Authorization: Bearer frk_...`.",
    },
    "adminToken": {"type": "http", "scheme": "bearer", "description": "The operator's FLUX_RECON_ADMIN_TOKEN."},
}


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401, message="send an API key as 'Authorization: Bearer <key>'", headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


def require_tenant() -> None:
    """before_request of every merchant blueprint: sets ``g.tenant`` and ``g.actor``."""
    token = _bearer_token()
    # A lookup by hash: the index does the comparison, and no key is stored to compare.
    row = (
        ApiKey.select(ApiKey, Tenant)
        .join(Tenant)
        .where((ApiKey.key_hash == hash_api_key(token)) & ApiKey.revoked_at.is_null())
        .first()
    )
    if row is None:
        abort(401, message="unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    if not allows(row.scope, request.method):
        abort(403, message="this API key is read-only (scope read): use a key with scope write")
    g.tenant = row.tenant
    g.actor = f"api_key:{row.prefix}"


def require_admin() -> None:
    """before_request of admin-only operations: the FLUX_RECON_ADMIN_TOKEN bearer token."""
    configured = current_app.config.get("ADMIN_TOKEN")
    token = _bearer_token()
    if not configured or not hmac.compare_digest(token.encode(), str(configured).encode()):
        abort(
            401,
            message="this operation needs the admin token (FLUX_RECON_ADMIN_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    g.actor = "admin"
