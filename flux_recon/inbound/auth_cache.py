"""Loading what an integration's auth checks need: its allow-list and decrypted credentials.

Both are cached per process, keyed by integration and checked against the integration's
``auth_version`` on every request. Database triggers bump that number in the transaction
that changes a credential or an allow-list entry (migration 0005), and the integration row
is read afresh for every webhook, so a change takes effect on the next request in every
worker; nothing is ever served from a copy that might be stale.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
from collections import OrderedDict
from dataclasses import dataclass

from flux_recon.models import AllowedNetwork, Credential, Integration, Tenant, utcnow
from flux_recon.models.prepared import Param, Prepared
from flux_recon.providers import AuthContext, CredentialValue
from flux_recon.providers.auth import IPNetwork

_by_url = Prepared(
    lambda: (
        Integration.select(Integration, Tenant.id, Tenant.settings)
        .join(Tenant)
        .where(
            (Integration.token == Param("token"))
            & (Integration.provider == Param("provider"))
            & Integration.disabled_at.is_null()
        )
        .limit(1)
    )
)


def find_integration(provider: str, token: str) -> Integration | None:
    """The enabled integration a webhook URL names, or None (unknown and disabled look alike).

    Its tenant's reconciliation settings come in the same query (``integration.tenant.settings``).
    """
    return _by_url.first(token=token, provider=provider)


@dataclass(frozen=True)
class _Credential:
    """A credential row with its secrets decrypted; whether each previous one still
    verifies is decided per request (a rotation grace runs out with time, not a write)."""

    value: CredentialValue
    previous: tuple[tuple[CredentialValue, dt.datetime], ...]


@dataclass(frozen=True)
class _AuthMaterial:
    version: int
    allowlist: tuple[IPNetwork, ...]
    credentials: tuple[_Credential, ...]

    def credential_values(self, now: dt.datetime) -> tuple[CredentialValue, ...]:
        values = []
        for credential in self.credentials:
            values.append(credential.value)
            values.extend(previous for previous, until in credential.previous if until > now)
        return tuple(values)


class AuthCache:
    """Per-process cache of each integration's allow-list and decrypted credentials,
    valid while the integration's ``auth_version`` is the one it was loaded at."""

    def __init__(self, secret_box, max_entries: int = 4096):
        self.secret_box = secret_box
        self.max_entries = max_entries
        self._entries: OrderedDict[int, _AuthMaterial] = OrderedDict()
        self._lock = threading.Lock()

    def context(self, integration: Integration, client_ip, options=None) -> AuthContext:
        material = self._material(integration)
        return AuthContext(
            client_ip=client_ip,
            allowlist=material.allowlist,
            credentials=material.credential_values(utcnow()),
            options=options or {},
        )

    def _material(self, integration: Integration) -> _AuthMaterial:
        with self._lock:
            material = self._entries.get(integration.id)
            if material is not None and material.version == integration.auth_version:
                self._entries.move_to_end(integration.id)
                return material
        # Loaded outside the lock: a decryption error (wrong SECRET_KEY) propagates, uncached.
        material = _load(integration, self.secret_box)
        with self._lock:
            self._entries[integration.id] = material
            self._entries.move_to_end(integration.id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return material

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _load(integration: Integration, secret_box) -> _AuthMaterial:
    networks = tuple(
        ipaddress.ip_network(row.cidr)
        for row in AllowedNetwork.select(AllowedNetwork.cidr).where(AllowedNetwork.integration == integration.id)
    )
    rows = Credential.select().where((Credential.integration == integration.id) & Credential.revoked_at.is_null())
    return _AuthMaterial(integration.auth_version, networks, tuple(_decrypted(row, secret_box) for row in rows))


def _decrypted(row: Credential, secret_box) -> _Credential:
    value = CredentialValue(id=row.id, name=row.name, key=row.key, secret=secret_box.decrypt(row.secret_encrypted))
    now = utcnow()
    previous = tuple(
        (CredentialValue(id=row.id, name=row.name, key=row.key, secret=secret), until)
        for secret, until in row.previous_secrets(secret_box)
        if until > now
    )
    return _Credential(value, previous)
