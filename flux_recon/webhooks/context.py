"""Loading what an integration's auth checks need: its allow-list and decrypted credentials."""

from __future__ import annotations

import ipaddress

from ..models import AllowedNetwork, Credential, Integration, utcnow
from ..providers import AuthContext, CredentialValue


def find_integration(provider: str, token: str) -> Integration | None:
    """The enabled integration a webhook URL names, or None (unknown and disabled look alike)."""
    return (
        Integration.select()
        .where((Integration.token == token) & (Integration.provider == provider) & Integration.disabled_at.is_null())
        .first()
    )


def auth_context(integration: Integration, client_ip, secret_box) -> AuthContext:
    networks = tuple(
        ipaddress.ip_network(row.cidr)
        for row in AllowedNetwork.select(AllowedNetwork.cidr).where(AllowedNetwork.integration == integration.id)
    )
    rows = Credential.select().where((Credential.integration == integration.id) & Credential.revoked_at.is_null())
    return AuthContext(client_ip=client_ip, allowlist=networks, credentials=tuple(_values(rows, secret_box)))


def _values(rows, secret_box):
    """Each credential's secret, and its previous secret while a rotation grace lasts."""
    now = utcnow()
    for row in rows:
        yield CredentialValue(id=row.id, name=row.name, key=row.key, secret=secret_box.decrypt(row.secret_encrypted))
        if row.previous_secret_encrypted and row.previous_valid_until and row.previous_valid_until > now:
            yield CredentialValue(
                id=row.id, name=row.name, key=row.key, secret=secret_box.decrypt(row.previous_secret_encrypted)
            )
