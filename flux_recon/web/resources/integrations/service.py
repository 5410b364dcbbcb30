"""Enabling and disabling integrations, and editing their IP allow-lists."""

from __future__ import annotations

import ipaddress
import secrets

import peewee
from flask_smorest import abort

from flux_recon.models import AllowedNetwork, Credential, Integration, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import write_transaction
from flux_recon.web.resources.credentials.service import create_generated
from flux_recon.web.resources.owned import get_owned


def get_integration(tenant_id: str, integration_id: int) -> Integration:
    """The tenant's enabled integration, or 404 (another tenant's looks the same as none)."""
    enabled = Integration.select().where(Integration.disabled_at.is_null())
    return get_owned(Integration, integration_id, "integration", query=enabled, tenant_id=tenant_id)


def enable(tenant_id: str, provider, secret_box, actor: str) -> tuple[Integration, dict[int, str]]:
    """Create an integration with a fresh token, generated credentials and the provider's
    default allow-list. Returns it and the generated secrets by credential id (shown once)."""
    shown: dict[int, str] = {}
    try:
        with write_transaction():
            integration = Integration.create(tenant=tenant_id, provider=provider.name, token=secrets.token_urlsafe(24))
            record_audit(
                tenant_id, actor, "integration.enabled", "integration", integration.id, {"provider": provider.name}
            )
            for field in provider.credentials:
                if field.generated:
                    credential, secret = create_generated(
                        integration, field.name, scope="primary", label="primary", secret_box=secret_box, actor=actor
                    )
                    shown[credential.id] = secret
            for cidr in provider.default_allowlist:
                AllowedNetwork.create(
                    integration=integration,
                    cidr=normalize_network(cidr),
                    label=f"{provider.title or provider.name} published address",
                )
    except peewee.IntegrityError:
        abort(409, message=f"the {provider.name} integration is already enabled; disable it first to re-create it")
    return integration, shown


def disable(integration: Integration, actor: str) -> None:
    """Disable = delete, as Fluxvend documents: credentials and allow-list go; the row
    stays so the inbox and payments keep pointing at it. Re-enabling starts afresh."""
    with write_transaction():
        Credential.delete().where(Credential.integration == integration.id).execute()
        AllowedNetwork.delete().where(AllowedNetwork.integration == integration.id).execute()
        Integration.update(disabled_at=utcnow()).where(Integration.id == integration.id).execute()
        record_audit(
            integration.tenant_id,
            actor,
            "integration.disabled",
            "integration",
            integration.id,
            {"provider": integration.provider},
        )


def normalize_network(value: str) -> str:
    """``"10.0.0.1"`` -> ``"10.0.0.1/32"``; a network with host bits set is refused.

    An IPv4-mapped IPv6 network (``::ffff:10.0.0.1``) is stored as the IPv4 network it
    is, because client addresses are compared in that form.
    """
    text = value.strip()
    if "%" in text:
        raise ValueError(f"{value[:64]!r}: zone ids (%...) have no place on an allow-list")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value[:64]!r} is not an IPv4/IPv6 address or CIDR network: {exc}") from None
    mapped = network.network_address.ipv4_mapped if network.version == 6 else None
    if mapped is not None and network.prefixlen >= 96:
        network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return str(network)


def add_network(integration: Integration, cidr: str, label: str, actor: str) -> AllowedNetwork:
    try:
        with write_transaction():
            entry = AllowedNetwork.create(integration=integration, cidr=cidr, label=label)
            record_audit(
                integration.tenant_id,
                actor,
                "allowlist.added",
                "integration",
                integration.id,
                {"entry_id": entry.id, "cidr": cidr, "label": label},
            )
            return entry
    except peewee.IntegrityError:
        abort(409, message=f"{cidr} is already on this allow-list")


def remove_network(integration: Integration, entry: AllowedNetwork, actor: str) -> None:
    with write_transaction():
        entry.delete_instance()
        record_audit(
            integration.tenant_id,
            actor,
            "allowlist.removed",
            "integration",
            integration.id,
            {"entry_id": entry.id, "cidr": entry.cidr},
        )


def get_network(integration: Integration, entry_id: int) -> AllowedNetwork:
    entry = (
        AllowedNetwork.select()
        .where((AllowedNetwork.id == entry_id) & (AllowedNetwork.integration == integration.id))
        .first()
    )
    if entry is None:
        abort(404, message=f"allow-list entry {entry_id} not found")
    return entry
