"""Generated API credentials (primary and up to 5 scoped, regenerate with grace) and the
secrets a merchant supplies from a provider's dashboard."""

from __future__ import annotations

import datetime as dt
import secrets

from flask_smorest import abort

from flux_recon.models import Credential, Integration, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import locked, write_transaction

MAX_SCOPED_CREDENTIALS = 5
MAX_GRACE_SECONDS = 7 * 24 * 3600
# Old secrets of one credential verifying at once, each inside its own grace: every one
# is tried on every webhook, so their number is bounded.
MAX_PREVIOUS_SECRETS = 5


def new_key() -> str:
    return "fk_" + secrets.token_urlsafe(16)


def new_secret() -> str:
    return "fs_" + secrets.token_urlsafe(32)


def generated_field(provider):
    """The provider's generated credential field (core: "api"), or 409 if it has none."""
    for field in provider.credentials:
        if field.generated:
            return field
    abort(409, message=f"provider {provider.name} uses secrets from its own dashboard, not generated credentials")


def active_generated(integration: Integration):
    return (
        Credential.select()
        .where((Credential.integration == integration.id) & Credential.generated & Credential.revoked_at.is_null())
        .order_by(Credential.id)
    )


def get_credential(integration: Integration, credential_id: int) -> Credential:
    credential = active_generated(integration).where(Credential.id == credential_id).first()
    if credential is None:
        abort(404, message=f"credential {credential_id} not found")
    return credential


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


def add_scoped(integration: Integration, provider, label: str, secret_box, actor: str):
    field = generated_field(provider)
    with write_transaction():
        # The integration row is locked (PostgreSQL) before counting, so two concurrent
        # requests cannot both take the fifth place.
        locked(Integration.select().where(Integration.id == integration.id)).get()
        if active_generated(integration).where(Credential.scope == "scoped").count() >= MAX_SCOPED_CREDENTIALS:
            abort(
                409, message=f"an integration has at most {MAX_SCOPED_CREDENTIALS} scoped credentials; delete one first"
            )
        return create_generated(
            integration, field.name, scope="scoped", label=label, secret_box=secret_box, actor=actor
        )


def delete_scoped(integration: Integration, credential: Credential, actor: str) -> None:
    if credential.scope != "scoped":
        abort(409, message="the primary credential cannot be deleted; regenerate it, or disable the integration")
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


def regenerate(integration: Integration, credential: Credential, grace_seconds: int, secret_box, actor: str):
    """A new secret for the same key. With ``grace_seconds``, the replaced secret verifies
    that much longer and every earlier one still inside its grace keeps it; with 0 every old
    secret stops at once (what a leaked secret calls for). 409 when MAX_PREVIOUS_SECRETS old
    secrets are still inside their grace."""
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
                abort(
                    409,
                    message=f"{len(kept)} earlier secrets of this credential are still inside their grace period "
                    f"(the first ends at {first_end.isoformat()}); wait for it, or regenerate with "
                    "grace_seconds 0, which stops every old secret at once",
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
    return credential, secret


def supplied_field(provider, name: str):
    """The provider's credential field ``name`` that the merchant supplies, or 404."""
    for field in provider.credentials:
        if field.name == name and not field.generated:
            return field
    names = ", ".join(f.name for f in provider.credentials if not f.generated) or "none"
    abort(404, message=f"provider {provider.name} has no secret named {name!r} (its secrets: {names})")


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


def set_supplied_secret(integration: Integration, name: str, value: str, secret_box, actor: str) -> None:
    """Store (or replace) a secret the merchant copied from the provider's dashboard."""
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
            secret_encrypted=secret_box.encrypt(value),
        )


def clear_supplied_secret(integration: Integration, name: str, actor: str) -> bool:
    with write_transaction():
        record_audit(integration.tenant_id, actor, "secret.cleared", "integration", integration.id, {"name": name})
        deleted = (
            Credential.delete()
            .where((Credential.integration == integration.id) & (Credential.name == name) & ~Credential.generated)
            .execute()
        )
    return bool(deleted)
