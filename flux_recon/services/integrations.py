"""Provider integrations: enable, show and disable them, their generated credentials, and their IP allow-lists."""

from __future__ import annotations

import ipaddress
import secrets

import peewee

from flux_recon.inbound.dry_run import dry_run as dry_run_webhook
from flux_recon.models import AllowedNetwork, Credential, Integration, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import write_transaction
from flux_recon.providers import OptionsError
from flux_recon.services.errors import Conflict, Invalid, NotFound
from flux_recon.services.owned import get_owned

EMPTY_ALLOWLIST_NOTE = "The allow-list is empty: no webhook will be accepted until you add an address."


def get_integration(tenant_id: str, integration_id: int) -> Integration:
    """The tenant's enabled integration, or NotFound (another tenant's looks the same as none)."""
    enabled = Integration.select().where(Integration.disabled_at.is_null())
    return get_owned(Integration, integration_id, "integration", tenant_id, query=enabled)


def provider_of(integration: Integration, providers):
    """The loaded provider of ``integration`` from the registry ``providers``, or NotFound."""
    provider = providers.get(integration.provider)
    if provider is None:
        raise NotFound(f"provider {integration.provider!r} is not loaded on this server")
    return provider


def list_enabled(tenant_id: str) -> list[Integration]:
    return list(
        Integration.select()
        .where((Integration.tenant == tenant_id) & Integration.disabled_at.is_null())
        .order_by(Integration.id)
    )


def enable(
    tenant_id: str, provider_name: str, providers, secret_box, actor: str, options=None
) -> tuple[Integration, dict[int, str]]:
    """Create an integration with a fresh token, generated credentials, the provider's
    default allow-list and ``options`` (checked by the provider). Returns it and the
    generated secrets by credential id (shown once). Invalid for a provider that is not
    loaded or options it refuses, Conflict when it is enabled already."""
    provider = providers.get(provider_name)
    if provider is None:
        loaded = ", ".join(p.name for p in providers)
        raise Invalid(f"unknown provider {provider_name!r}", {"provider": [f"must be one of: {loaded}"]})
    checked = _checked_options(provider, {} if options is None else options)
    shown: dict[int, str] = {}
    try:
        with write_transaction():
            integration = Integration.create(
                tenant=tenant_id, provider=provider.name, token=secrets.token_urlsafe(24), options=checked
            )
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
        raise Conflict(
            f"the {provider.name} integration is already enabled; disable it first to re-create it"
        ) from None
    return integration, shown


def disable(tenant_id: str, integration_id: int, actor: str) -> None:
    """Disable = delete, as Fluxvend documents: credentials and allow-list go; the row
    stays so the inbox and payments keep pointing at it. Re-enabling starts afresh."""
    integration = get_integration(tenant_id, integration_id)
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


def set_options(tenant_id: str, integration_id: int, options, providers, actor: str) -> Integration:
    """Replace an integration's provider options with ``options``, checked by its provider
    (Invalid naming each bad option); audited with the options before and after."""
    integration = get_integration(tenant_id, integration_id)
    provider = provider_of(integration, providers)
    checked = _checked_options(provider, options)
    with write_transaction():
        before = provider.resolve_options(integration.options)
        Integration.update(options=checked).where(Integration.id == integration.id).execute()
        record_audit(
            tenant_id,
            actor,
            "integration.options_changed",
            "integration",
            integration.id,
            {"before": before, "after": provider.resolve_options(checked)},
        )
    integration.options = checked
    return integration


def _checked_options(provider, options) -> dict:
    try:
        return provider.validate_options(options)
    except OptionsError as exc:
        raise Invalid(exc.message, {f"options.{name}": messages for name, messages in exc.errors.items()}) from None


def describe(integration: Integration, providers, webhook_url: str, secrets: dict[int, str] | None = None) -> dict:
    """What is shown of an integration: the URL to give the provider (``webhook_url``, made
    by the front-end that serves it), its generated credentials (with their ``secrets`` by
    credential id when just made), the supplied secrets it needs and its allow-list."""
    provider = provider_of(integration, providers)
    credentials = []
    for credential in active_generated(integration):
        view = credential_view(credential)
        if secrets and credential.id in secrets:
            view["secret"] = secrets[credential.id]
        credentials.append(view)
    return {
        "id": integration.id,
        "provider": integration.provider,
        "tenant_id": integration.tenant_id,
        "webhook_url": webhook_url,
        "enabled": integration.enabled,
        "created_at": integration.created_at,
        "credentials": credentials,
        "secrets": supplied_secrets(integration, provider),
        "allowlist": allowlist_view(integration),
        "options": provider.resolve_options(integration.options),
    }


# Generated credentials: made when an integration is enabled, and by the credentials service.


def new_key() -> str:
    return "fk_" + secrets.token_urlsafe(16)


def new_secret() -> str:
    return "fs_" + secrets.token_urlsafe(32)


def active_generated(integration: Integration):
    """The integration's generated credentials still in use, oldest first (a query)."""
    return (
        Credential.select()
        .where((Credential.integration == integration.id) & Credential.generated & Credential.revoked_at.is_null())
        .order_by(Credential.id)
    )


def credential_view(credential: Credential) -> dict:
    """What is shown of a generated credential: its key, never its secret."""
    return {
        "id": credential.id,
        "name": credential.name,
        "scope": credential.scope,
        "label": credential.label,
        "key": credential.key,
        "created_at": credential.created_at,
    }


def create_generated(integration: Integration, field_name: str, *, scope: str, label: str, secret_box, actor: str):
    """A new API key and secret; returns the row and the secret (shown once)."""
    secret = new_secret()
    credential = Credential.create(
        integration=integration,
        name=field_name,
        generated=True,
        scope=scope,
        label=label,
        key=new_key(),
        secret_encrypted=secret_box.encrypt(secret),
    )
    record_audit(
        integration.tenant_id,
        actor,
        "credential.created",
        "integration",
        integration.id,
        {"credential_id": credential.id, "scope": scope, "label": label, "key": credential.key},
    )
    return credential, secret


def supplied_secrets(integration: Integration, provider) -> list[dict]:
    """Each secret the provider needs from the merchant: whether it is set, and since when."""
    rows = {
        row.name: row
        for row in Credential.select().where(
            (Credential.integration == integration.id) & ~Credential.generated & Credential.revoked_at.is_null()
        )
    }
    return [
        {
            "name": f.name,
            "title": f.title,
            "required": f.required,
            "description": f.description,
            "set": f.name in rows,
            "set_at": rows[f.name].created_at if f.name in rows else None,
        }
        for f in provider.credentials
        if not f.generated
    ]


# The IP allow-list.


def normalize_network(value: str) -> str:
    """``"10.0.0.1"`` -> ``"10.0.0.1/32"``; a network with host bits set is refused (ValueError).

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


def allowlist_view(integration: Integration) -> dict:
    entries = list(
        AllowedNetwork.select().where(AllowedNetwork.integration == integration.id).order_by(AllowedNetwork.id)
    )
    return {"entries": entries, "note": None if entries else EMPTY_ALLOWLIST_NOTE}


def allowlist(tenant_id: str, integration_id: int) -> dict:
    """The integration's allow-list entries (an empty one admits nobody, and says so in ``note``)."""
    return allowlist_view(get_integration(tenant_id, integration_id))


def add_network(tenant_id: str, integration_id: int, cidr: str, label: str, actor: str) -> AllowedNetwork:
    """Admit an address or network; Invalid if ``cidr`` is not one, Conflict if it is listed already."""
    integration = get_integration(tenant_id, integration_id)
    try:
        cidr = normalize_network(cidr)
    except ValueError as exc:
        raise Invalid(str(exc), {"cidr": [str(exc)]}) from None
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
        raise Conflict(f"{cidr} is already on this allow-list") from None


def remove_network(tenant_id: str, integration_id: int, entry_id: int, actor: str) -> None:
    integration = get_integration(tenant_id, integration_id)
    entry = (
        AllowedNetwork.select()
        .where((AllowedNetwork.id == entry_id) & (AllowedNetwork.integration == integration.id))
        .first()
    )
    if entry is None:
        raise NotFound(f"allow-list entry {entry_id} not found")
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


# Trying a webhook against the configuration, recording nothing.


def dry_run(
    tenant_id: str, integration_id: int, *, body: bytes, headers: dict, providers, secret_box, options=None
) -> dict:
    """What the integration's webhook URL would answer to ``body`` and ``headers`` (its auth
    checks except the IP allow-list, then parse): the notices, or the verdict with its
    message and field errors. ``options``, when given, are tried instead of the saved ones
    (checked first: Invalid naming each bad option). Writes nothing."""
    integration = get_integration(tenant_id, integration_id)
    provider = provider_of(integration, providers)
    checked = None if options is None else _checked_options(provider, options)
    return dry_run_webhook(provider, integration, body=body, headers=headers, secret_box=secret_box, options=checked)
