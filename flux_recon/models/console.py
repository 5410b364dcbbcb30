"""People who use the merchant console: users with a role, their sessions, second factors and invitations."""

from __future__ import annotations

import peewee

from flux_recon.models.base import BaseModel, EncryptedTextField, UTCDateTimeField, utcnow
from flux_recon.models.tenant import Tenant


class ConsoleUser(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="console_users", on_delete="CASCADE")
    # Lower-cased; unique across tenants since the sign-in form asks only for the address.
    email = peewee.CharField(max_length=320, unique=True)
    # An argon2id hash (argon2-cffi's PasswordHasher), parameters included.
    password_hash = peewee.CharField(max_length=255)
    role = peewee.CharField(max_length=16)
    # The TOTP secret; totp_confirmed_at is set once a code from it was entered.
    totp_secret_encrypted = EncryptedTextField(null=True)
    totp_confirmed_at = UTCDateTimeField(null=True)
    # The TOTP time-step (30 s) of the last code accepted: a code is good once, so one seen
    # over a shoulder or in a log cannot be used again within its window.
    totp_last_step = peewee.BigIntegerField(null=True)
    failed_sign_ins = peewee.IntegerField(default=0)
    # Wrong second-factor codes in a row: the fifth locks the account, as wrong passwords do
    # (counted apart, since a right password alone must not clear it).
    second_factor_failures = peewee.IntegerField(default=0)
    locked_until = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)


class ConsoleSession(BaseModel):
    user = peewee.ForeignKeyField(ConsoleUser, backref="sessions", on_delete="CASCADE")
    # SHA-256 of the cookie's token: a stolen database holds no usable session.
    token_hash = peewee.CharField(max_length=64, unique=True)
    created_at = UTCDateTimeField(default=utcnow)
    last_seen_at = UTCDateTimeField(default=utcnow)
    # When this session last passed the second factor (sections that need it check its age).
    second_factor_at = UTCDateTimeField(null=True)
    revoked_at = UTCDateTimeField(null=True)
    client_ip = peewee.CharField(max_length=64, default="")
    user_agent = peewee.CharField(max_length=300, default="")


class RecoveryCode(BaseModel):
    user = peewee.ForeignKeyField(ConsoleUser, backref="recovery_codes", on_delete="CASCADE")
    code_hash = peewee.CharField(max_length=64)
    used_at = UTCDateTimeField(null=True)


class Invitation(BaseModel):
    tenant = peewee.ForeignKeyField(Tenant, backref="invitations", on_delete="CASCADE")
    token_hash = peewee.CharField(max_length=64, unique=True)
    role = peewee.CharField(max_length=16)
    created_by = peewee.CharField(max_length=200)
    created_at = UTCDateTimeField(default=utcnow)
    expires_at = UTCDateTimeField()
    used_at = UTCDateTimeField(null=True)
