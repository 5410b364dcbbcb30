"""An integration's credentials: scoped ones (at most 5), regenerating a secret with a grace
period, and the secrets a merchant supplies from a provider's dashboard."""

from __future__ import annotations

import datetime as dt

from flux_recon.models import Credential, Integration, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import locked, write_transaction
from flux_recon.services.errors import Conflict, NotFound
from flux_recon.services.integrations import (
    active_generated,
    create_generated,
    credential_view,
    get_integration,
    new_secret,
    provider_of,
    supplied_secrets,
)

MAX_SCOPED_CREDENTIALS = 5
MAX_GRACE_SECONDS = 7 * 24 * 3600
# Old secrets of one credential verifying at once, each inside its own grace: every one
# is tried on every webhook, so their number is bounded.
MAX_PREVIOUS_SECRETS = 5


def generated_field(provider):
    """The provider's generated credential field (core: "api"), or Conflict if it has none."""
    for field in provider.credentials:
        if field.generated:
            return field
    raise Conflict(f"provider {provider.name} uses secrets from its own dashboard, not generated credentials")


def get_credential(integration: Integration, credential_id: int) -> Credential:
    credential = active_generated(integration).where(Credential.id == credential_id).first()
    if credential is None:
        raise NotFound(f"credential {credential_id} not found")
    return credential


def list_generated(tenant_id: str, integration_id: int) -> list[dict]:
    """The integration's API credentials (keys, never secrets)."""
    return [credential_view(c) for c in active_generated(get_integration(tenant_id, integration_id))]


def add_scoped(tenant_id: str, integration_id: int, label: str, providers, secret_box, actor: str) -> dict:
    """A labelled API key and secret of its own for one sender; the answer holds the secret
    (shown once). Conflict past MAX_SCOPED_CREDENTIALS or for a provider without generated ones."""
    integration = get_integration(tenant_id, integration_id)
    field = generated_field(provider_of(integration, providers))
    with write_transaction():
        # The integration row is locked (PostgreSQL) before counting, so two concurrent
        # requests cannot both take the fifth place.
        locked(Integration.select().where(Integration.id == integration.id)).get()
        if active_generated(integration).where(Credential.scope == "scoped").count() >= MAX_SCOPED_CREDENTIALS:
            raise Conflict(f"an integration has at most {MAX_SCOPED_CREDENTIALS} scoped credentials; delete one first")
        credential, secret = create_generated(
            integration, field.name, scope="scoped", label=label.strip(), secret_box=secret_box, actor=actor
        )
    return {**credential_view(credential), "secret": secret}


def delete_scoped(tenant_id: str, integration_id: int, credential_id: int, actor: str) -> None:
    integration = get_integration(tenant_id, integration_id)
    credential = get_credential(integration, credential_id)
    if credential.scope != "scoped":
        raise Conflict("the primary credential cannot be deleted; regenerate it, or disable the integration")
    with write_transaction():
        credential.delete_instance()
        record_audit(
            integration.tenant_id,
            actor,
            "credential.deleted",
            "integration",
            integration.id,
            {"credential_id": credential.id, "key": credential.key, "label": credential.label},
        )


def regenerate(
    tenant_id: str, integration_id: int, credential_id: int, grace_seconds: int, secret_box, actor: str
) -> dict:
    """A new secret for the same key (in the answer, shown once). With ``grace_seconds``, the
    replaced secret verifies that much longer and every earlier one still inside its grace
    keeps it; with 0 every old secret stops at once (what a leaked secret calls for).
    Conflict when MAX_PREVIOUS_SECRETS old secrets are still inside their grace."""
    integration = get_integration(tenant_id, integration_id)
    credential = get_credential(integration, credential_id)
    secret = new_secret()
    with write_transaction():
        # Locked (PostgreSQL): two regenerations at once cannot drop each other's old secret.
        credential = locked(Credential.select().where(Credential.id == credential.id)).get()
        now = utcnow()
        kept = []
        if grace_seconds:
            kept = [(old, until) for old, until in credential.previous_secrets(secret_box) if until > now]
            if len(kept) >= MAX_PREVIOUS_SECRETS:
                first_end = min(until for _, until in kept)
                raise Conflict(
                    f"{len(kept)} earlier secrets of this credential are still inside their grace period "
                    f"(the first ends at {first_end.isoformat()}); wait for it, or regenerate with "
                    "grace_seconds 0, which stops every old secret at once"
                )
            kept.append((secret_box.decrypt(credential.secret_encrypted), now + dt.timedelta(seconds=grace_seconds)))
        credential.set_previous_secrets(secret_box, kept)
        credential.secret_encrypted = secret_box.encrypt(secret)
        credential.save()
        record_audit(
            integration.tenant_id,
            actor,
            "credential.regenerated",
            "integration",
            integration.id,
            {"credential_id": credential.id, "key": credential.key, "grace_seconds": grace_seconds},
        )
    return {**credential_view(credential), "secret": secret, "previous_valid_until": credential.previous_valid_until}


def supplied_field(provider, name: str):
    """The provider's credential field ``name`` that the merchant supplies, or NotFound."""
    for field in provider.credentials:
        if field.name == name and not field.generated:
            return field
    names = ", ".join(f.name for f in provider.credentials if not f.generated) or "none"
    raise NotFound(f"provider {provider.name} has no secret named {name!r} (its secrets: {names})")


def list_supplied(tenant_id: str, integration_id: int, providers) -> list[dict]:
    """The secrets this provider needs from the merchant, and whether each is set."""
    integration = get_integration(tenant_id, integration_id)
    return supplied_secrets(integration, provider_of(integration, providers))


def set_supplied_secret(
    tenant_id: str, integration_id: int, name: str, value: str, providers, secret_box, actor: str
) -> dict:
    """Store (or replace) a secret the merchant copied from the provider's dashboard;
    returns its status (never its value)."""
    integration = get_integration(tenant_id, integration_id)
    provider = provider_of(integration, providers)
    supplied_field(provider, name)
    with write_transaction():
        record_audit(integration.tenant_id, actor, "secret.set", "integration", integration.id, {"name": name})
        Credential.delete().where(
            (Credential.integration == integration.id) & (Credential.name == name) & ~Credential.generated
        ).execute()
        Credential.create(
            integration=integration,
            name=name,
            generated=False,
            scope="primary",
            label=name,
            secret_encrypted=secret_box.encrypt(value.strip()),
        )
    return next(s for s in supplied_secrets(integration, provider) if s["name"] == name)


def clear_supplied_secret(tenant_id: str, integration_id: int, name: str, providers, actor: str) -> None:
    """Forget a supplied secret; NotFound if it is not set."""
    integration = get_integration(tenant_id, integration_id)
    supplied_field(provider_of(integration, providers), name)
    with write_transaction():
        record_audit(integration.tenant_id, actor, "secret.cleared", "integration", integration.id, {"name": name})
        deleted = (
            Credential.delete()
            .where((Credential.integration == integration.id) & (Credential.name == name) & ~Credential.generated)
            .execute()
        )
    if not deleted:
        raise NotFound(f"{name} is not set")
