"""Creating tenants and their API keys (used by the CLI and the admin endpoint)."""

from __future__ import annotations

import secrets

from flux_recon.core.api_keys import hash_api_key, new_api_key
from flux_recon.models import ApiKey, Tenant
from flux_recon.models.transactions import write_transaction


def create_tenant(name: str) -> tuple[Tenant, str]:
    """Create a tenant with one API key; returns the tenant and the key (shown once)."""
    api_key = new_api_key()
    with write_transaction():
        tenant = Tenant.create(id="tn_" + secrets.token_hex(12), name=name)
        ApiKey.create(tenant=tenant, key_hash=hash_api_key(api_key), prefix=api_key[:10], label="initial")
    return tenant, api_key
