"""Console users: roles and what each may do, passwords, sign-in with lock-out, invitations."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import secrets

import peewee
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from flux_recon.models import ConsoleSession, ConsoleUser, Invitation, Tenant, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import lock_for_transaction, write_transaction
from flux_recon.services.errors import Conflict, Invalid, NotFound


class Role(enum.StrEnum):
    OWNER = "owner"
    FINANCE = "finance"
    DEVELOPER = "developer"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    # Every role reads every section it can open.
    READ = "read"
    # Orders, payments, the review queue, settlements, reports and exports.
    MONEY = "money"
    # Integrations, credentials, allow-lists, outbound webhooks, inbox replays, API keys.
    DEVELOP = "develop"
    USERS = "users"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.FINANCE: frozenset({Permission.READ, Permission.MONEY}),
    Role.DEVELOPER: frozenset({Permission.READ, Permission.DEVELOP}),
    Role.VIEWER: frozenset({Permission.READ}),
}

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# Consecutive failures before an account is locked, and for how long.
LOCK_AFTER_FAILURES = 5
LOCK_DURATION = dt.timedelta(minutes=15)
INVITATION_VALIDITY = dt.timedelta(hours=72)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher()
# Verified against when the address is unknown, so a stranger cannot tell by the time taken.
_DECOY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(Exception):
    """Wrong address or password, or a locked account: one message for all, on purpose."""

    message = "wrong email or password, or the account is locked for a while after repeated failures"


def can(role: str, permission: Permission) -> bool:
    try:
        return permission in GRANTS[Role(role)]
    except ValueError:
        return False


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_new(email: str, role: str, password: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not EMAIL.match(email) or len(email) > 320:
        errors["email"] = ["must be an email address"]
    if role not in set(Role):
        errors["role"] = [f"must be one of: {', '.join(Role)}"]
    if not MIN_PASSWORD_LENGTH <= len(password or "") <= MAX_PASSWORD_LENGTH:
        errors["password"] = [f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"]
    return errors


def create_user(tenant_id: str, email: str, role: str, password: str, actor: str) -> ConsoleUser:
    """A console user of ``tenant_id``; Invalid naming each bad input, Conflict when the
    address is taken (addresses are unique across tenants: the sign-in form asks no tenant)."""
    email = normalize_email(email)
    errors = _check_new(email, role, password)
    if errors:
        raise Invalid("the user cannot be created", errors)
    if Tenant.get_or_none(Tenant.id == tenant_id) is None:
        raise NotFound(f"no tenant {tenant_id!r}")
    try:
        with write_transaction():
            user = ConsoleUser.create(tenant=tenant_id, email=email, role=role, password_hash=_hasher.hash(password))
            record_audit(tenant_id, actor, "user.created", "user", user.id, {"email": email, "role": role})
    except peewee.IntegrityError:
        raise Conflict(f"a user with the email {email} already exists") from None
    return user


def authenticate(email: str, password: str, now: dt.datetime | None = None) -> ConsoleUser:
    """The user ``email`` names if ``password`` is theirs, else SignInRefused. Failures are
    counted; the fifth in a row locks the account for 15 minutes, whatever is entered."""
    now = now or utcnow()
    user = ConsoleUser.get_or_none(ConsoleUser.email == normalize_email(email))
    if user is None:
        _verify(_DECOY_HASH, password)
        raise SignInRefused()
    if user.locked_until is not None and user.locked_until > now:
        _verify(_DECOY_HASH, password)
        raise SignInRefused()
    if not _verify(user.password_hash, password):
        _count_failure(user, now)
        raise SignInRefused()
    if user.failed_sign_ins or user.locked_until:
        ConsoleUser.update(failed_sign_ins=0, locked_until=None).where(ConsoleUser.id == user.id).execute()
    if _hasher.check_needs_rehash(user.password_hash):
        ConsoleUser.update(password_hash=_hasher.hash(password)).where(ConsoleUser.id == user.id).execute()
    return user


def _count_failure(user: ConsoleUser, now: dt.datetime) -> None:
    """One more wrong password; the fifth in a row locks the account. Counted in the database
    (not from the row read before hashing), so attempts sent at once are each counted."""
    with write_transaction():
        ConsoleUser.update(failed_sign_ins=ConsoleUser.failed_sign_ins + 1).where(ConsoleUser.id == user.id).execute()
        failures = ConsoleUser.select(ConsoleUser.failed_sign_ins).where(ConsoleUser.id == user.id).scalar()
        if failures < LOCK_AFTER_FAILURES:
            return
        locked = now + LOCK_DURATION
        ConsoleUser.update(failed_sign_ins=0, locked_until=locked).where(ConsoleUser.id == user.id).execute()
        record_audit(user.tenant_id, f"user:{user.id}", "user.locked", "user", user.id, {"until": locked})


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def change_password(user: ConsoleUser, current: str, new: str, keep_session_id: int | None) -> None:
    """Change a user's own password (the current one is asked again); every other session ends."""
    if not _verify(user.password_hash, current):
        raise Invalid("the current password is wrong", {"current_password": ["is wrong"]})
    if not MIN_PASSWORD_LENGTH <= len(new or "") <= MAX_PASSWORD_LENGTH:
        raise Invalid(
            "the new password is not acceptable",
            {"new_password": [f"must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"]},
        )
    with write_transaction():
        ConsoleUser.update(password_hash=_hasher.hash(new)).where(ConsoleUser.id == user.id).execute()
        _revoke_sessions(user.id, except_id=keep_session_id)
        record_audit(user.tenant_id, f"user:{user.id}", "user.password_changed", "user", user.id)


def list_users(tenant_id: str):
    """The tenant's users as a query to page through, by address."""
    return ConsoleUser.select().where(ConsoleUser.tenant == tenant_id).order_by(ConsoleUser.email, ConsoleUser.id)


def get_user(tenant_id: str, user_id: int) -> ConsoleUser:
    user = ConsoleUser.get_or_none((ConsoleUser.id == user_id) & (ConsoleUser.tenant == tenant_id))
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _owners(tenant_id: str) -> int:
    """How many owners the tenant has; call inside a transaction that holds _lock_owners."""
    return ConsoleUser.select().where((ConsoleUser.tenant == tenant_id) & (ConsoleUser.role == Role.OWNER)).count()


def change_role(tenant_id: str, user_id: int, role: str, actor: str) -> ConsoleUser:
    """A new role for a user, in force on their next request (sessions read the role afresh)."""
    if role not in set(Role):
        raise Invalid("unknown role", {"role": [f"must be one of: {', '.join(Role)}"]})
    with write_transaction():
        lock_for_transaction("console-owners", tenant_id)
        user = get_user(tenant_id, user_id)
        if user.role == Role.OWNER and role != Role.OWNER and _owners(tenant_id) == 1:
            raise Conflict("the last owner cannot be given another role: make someone else owner first")
        ConsoleUser.update(role=role).where(ConsoleUser.id == user.id).execute()
        record_audit(tenant_id, actor, "user.role_changed", "user", user.id, {"before": user.role, "after": role})
    user.role = role
    return user


def remove_user(tenant_id: str, user_id: int, actor: str) -> None:
    """Delete a user; their sessions end with them."""
    with write_transaction():
        # Two owners removing (or demoting) each other at once: the second waits and sees one owner.
        lock_for_transaction("console-owners", tenant_id)
        user = get_user(tenant_id, user_id)
        if user.role == Role.OWNER and _owners(tenant_id) == 1:
            raise Conflict("the last owner cannot be removed")
        ConsoleUser.delete().where(ConsoleUser.id == user.id).execute()
        record_audit(tenant_id, actor, "user.removed", "user", user.id, {"email": user.email})


def _revoke_sessions(user_id: int, except_id: int | None = None) -> int:
    query = ConsoleSession.update(revoked_at=utcnow()).where(
        (ConsoleSession.user == user_id) & ConsoleSession.revoked_at.is_null()
    )
    if except_id is not None:
        query = query.where(ConsoleSession.id != except_id)
    return query.execute()


def sign_out_everywhere(user: ConsoleUser) -> int:
    """End every session of ``user`` (this one included); returns how many were open."""
    with write_transaction():
        ended = _revoke_sessions(user.id)
        record_audit(user.tenant_id, f"user:{user.id}", "user.signed_out_everywhere", "user", user.id)
    return ended


def invite(tenant_id: str, role: str, actor: str, now: dt.datetime | None = None) -> tuple[Invitation, str]:
    """An invitation to join ``tenant_id`` with ``role``; returns it and its token, shown once
    (there is no mail server: the owner passes the link on). Valid for 72 hours, used once."""
    if role not in set(Role):
        raise Invalid("unknown role", {"role": [f"must be one of: {', '.join(Role)}"]})
    token = secrets.token_urlsafe(32)
    now = now or utcnow()
    with write_transaction():
        invitation = Invitation.create(
            tenant=tenant_id,
            token_hash=hash_token(token),
            role=role,
            created_by=actor,
            created_at=now,
            expires_at=now + INVITATION_VALIDITY,
        )
        record_audit(tenant_id, actor, "user.invited", "invitation", invitation.id, {"role": role})
    return invitation, token


def open_invitation(token: str, now: dt.datetime | None = None) -> Invitation:
    """The invitation ``token`` names if it is still usable, else NotFound (one answer for
    unknown, used and expired, so a guess learns nothing)."""
    invitation = Invitation.get_or_none(Invitation.token_hash == hash_token(token or ""))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= (now or utcnow()):
        raise NotFound("this invitation link is unknown, used or expired: ask for a new one")
    return invitation


def accept_invitation(token: str, email: str, password: str, now: dt.datetime | None = None) -> ConsoleUser:
    """Join with an invitation: the user is created with its role, and the link is spent."""
    with write_transaction():
        invitation = open_invitation(token, now)
        user = create_user(invitation.tenant_id, email, invitation.role, password, f"invitation:{invitation.id}")
        spent = (
            Invitation.update(used_at=now or utcnow())
            .where((Invitation.id == invitation.id) & Invitation.used_at.is_null())
            .execute()
        )
        if not spent:
            raise NotFound("this invitation link is unknown, used or expired: ask for a new one")
    return user
