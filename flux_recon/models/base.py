"""The database proxy every model binds to, the base model, and the shared field types."""

from __future__ import annotations

import datetime as dt
import json

import peewee

# Bound to a real database by create_app (or the CLI); models never name a backend.
db = peewee.DatabaseProxy()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTimeField(peewee.DateTimeField):
    """Stored as naive UTC (portable across SQLite and PostgreSQL), read back tz-aware."""

    def db_value(self, value):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return super().db_value(value)

    def python_value(self, value):
        value = super().python_value(value)
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class JSONField(peewee.TextField):
    """JSON kept as text, so both backends store it the same way."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"), default=str)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class EncryptedTextField(peewee.TextField):
    """A secret's Fernet token (see SecretBox). Every column of this type, and only those,
    is re-encrypted by ``flux-recon secrets rotate-key``: declare a stored secret with it."""


def encrypted_columns(models) -> list[tuple[type[peewee.Model], EncryptedTextField]]:
    """Every encrypted column of ``models``, for key rotation."""
    return [
        (model, field)
        for model in models
        for field in model._meta.sorted_fields
        if isinstance(field, EncryptedTextField)
    ]


class BaseModel(peewee.Model):
    class Meta:
        database = db
        legacy_table_names = False
