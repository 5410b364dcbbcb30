"""A merchant's integration with one provider: webhook token, credentials, IP allow-list."""

from __future__ import annotations

import datetime as dt
import json

import peewee

from flux_recon.models.base import BaseModel, EncryptedTextField, JSONField, UTCDateTimeField, utcnow
from flux_recon.models.tenant import Tenant


class Integration(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="integrations", on_delete="CASCADE")
    provider = peewee.CharField(max_length=40)
    # The unguessable path segment of the webhook URL.
    token = peewee.CharField(max_length=64, unique=True)
    created_at = UTCDateTimeField(default=utcnow)
    # Disabling keeps the row (the inbox and payments point at it) but removes its
    # credentials and allow-list; re-enabling makes a new integration with a new token.
    disabled_at = UTCDateTimeField(null=True)
    # Bumped by database triggers whenever this integration's credentials or allow-list
    # change (migration 0005): webhook workers reuse their cached copy only while it holds.
    auth_version = peewee.IntegerField(default=0)
    # The provider's options for this integration, as its validate_options() returned them
    # (never secrets: those are credentials). None for an integration saved before options.
    options = JSONField(null=True)

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


class Credential(BaseModel):
    integration = peewee.ForeignKeyField(Integration, backref="credentials", on_delete="CASCADE")
    # The provider's credential field this fills (core: "api"; monnify: "client_secret").
    name = peewee.CharField(max_length=40)
    generated = peewee.BooleanField(default=False)
    # "primary", or "scoped" for the extra labelled credentials a core integration may add.
    scope = peewee.CharField(max_length=16, default="primary")
    label = peewee.CharField(max_length=200, default="")
    # Public half of a generated credential (the API key); shown in lists.
    key = peewee.CharField(max_length=80, null=True)
    # Fernet token of the secret half.
    secret_encrypted = EncryptedTextField()
    # After regenerations with a grace period, the old secrets that keep verifying, each
    # until its own time: a Fernet token of [{"secret", "valid_until"}, ...] (a row written
    # before several were kept holds one bare secret). previous_valid_until is the last of
    # those times: past it none verifies, whatever the list says.
    previous_secret_encrypted = EncryptedTextField(null=True)
    previous_valid_until = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    revoked_at = UTCDateTimeField(null=True)

    def previous_secrets(self, secret_box) -> list[tuple[str, dt.datetime]]:
        """The old secrets and until when each verifies (some may have run out already)."""
        if not self.previous_secret_encrypted or self.previous_valid_until is None:
            return []
        text = secret_box.decrypt(self.previous_secret_encrypted)
        if not text.startswith("["):  # generated secrets start "fs_": never a JSON list
            return [(text, self.previous_valid_until)]
        return [
            (entry["secret"], min(dt.datetime.fromisoformat(entry["valid_until"]), self.previous_valid_until))
            for entry in json.loads(text)
        ]

    def set_previous_secrets(self, secret_box, secrets: list[tuple[str, dt.datetime]]) -> None:
        if not secrets:
            self.previous_secret_encrypted = self.previous_valid_until = None
            return
        entries = [{"secret": secret, "valid_until": until.isoformat()} for secret, until in secrets]
        self.previous_secret_encrypted = secret_box.encrypt(json.dumps(entries))
        self.previous_valid_until = max(until for _, until in secrets)


class AllowedNetwork(BaseModel):
    integration = peewee.ForeignKeyField(Integration, backref="allowed_networks", on_delete="CASCADE")
    cidr = peewee.CharField(max_length=64)
    label = peewee.CharField(max_length=200, default="")
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("integration", "cidr"), True),)


# One enabled integration per provider and tenant; disabled ones stay for history.
Integration.add_index(
    Integration.index(Integration.tenant, Integration.provider, unique=True, name="integration_one_enabled").where(
        Integration.disabled_at.is_null()
    )
)
