"""Console sessions kept in the database, and the second factor: TOTP enrolment, codes and recovery codes."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

import pyotp

from flux_recon.models import ConsoleSession, ConsoleUser, RecoveryCode, utcnow
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import write_transaction
from flux_recon.services.errors import Conflict, Invalid
from flux_recon.services.users import LOCK_AFTER_FAILURES, LOCK_DURATION, hash_token

RECOVERY_CODES = 10
LOCKED = "too many wrong codes: the account is locked for a while; sign in again later"
ISSUER = "flux-recon"
# Only write last_seen_at this often: a page view is not worth a write each time.
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Timeouts:
    """How long a session lives: ``idle`` since its last request, ``absolute`` since sign-in;
    ``second_factor`` is how recent the second factor must be for the sections that need it."""

    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=12)
    second_factor: dt.timedelta = dt.timedelta(minutes=15)


@dataclass
class Signed:
    """A live session and its user, read afresh for each request (a changed role or a
    removed user takes effect at once)."""

    session: ConsoleSession
    user: ConsoleUser

    @property
    def needs_second_factor(self) -> bool:
        """Signed in with the password only, while the user has a second factor enrolled."""
        return self.user.totp_confirmed_at is not None and self.session.second_factor_at is None

    def second_factor_fresh(self, timeouts: Timeouts, now: dt.datetime | None = None) -> bool:
        at = self.session.second_factor_at
        return at is not None and (now or utcnow()) - at <= timeouts.second_factor


def start(user: ConsoleUser, client_ip: str, user_agent: str) -> tuple[ConsoleSession, str]:
    """A new session for ``user``; returns it and the token for the cookie (stored hashed)."""
    token = secrets.token_urlsafe(32)
    with write_transaction():
        session = ConsoleSession.create(
            user=user, token_hash=hash_token(token), client_ip=client_ip[:64], user_agent=(user_agent or "")[:300]
        )
        record_audit(user.tenant_id, f"user:{user.id}", "user.signed_in", "session", session.id, {"ip": client_ip})
    return session, token


def resume(token: str, timeouts: Timeouts, now: dt.datetime | None = None) -> Signed | None:
    """The live session ``token`` names, or None if unknown, revoked, idle or too old."""
    if not token:
        return None
    now = now or utcnow()
    row = (
        ConsoleSession.select(ConsoleSession, ConsoleUser)
        .join(ConsoleUser)
        .where((ConsoleSession.token_hash == hash_token(token)) & ConsoleSession.revoked_at.is_null())
        .first()
    )
    if row is None or now - row.last_seen_at > timeouts.idle or now - row.created_at > timeouts.absolute:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        ConsoleSession.update(last_seen_at=now).where(ConsoleSession.id == row.id).execute()
        row.last_seen_at = now
    return Signed(row, row.user)


def end(session: ConsoleSession) -> None:
    ConsoleSession.update(revoked_at=utcnow()).where(ConsoleSession.id == session.id).execute()


def list_open(user: ConsoleUser, timeouts: Timeouts, now: dt.datetime | None = None) -> list[ConsoleSession]:
    now = now or utcnow()
    rows = ConsoleSession.select().where(
        (ConsoleSession.user == user.id)
        & ConsoleSession.revoked_at.is_null()
        & (ConsoleSession.created_at > now - timeouts.absolute)
    )
    return [row for row in rows.order_by(ConsoleSession.id.desc()) if now - row.last_seen_at <= timeouts.idle]


# The second factor.


def enrolment_secret(user: ConsoleUser, secret_box) -> str:
    """The TOTP secret being enrolled: made on first ask and kept until confirmed, so a
    reloaded page shows the same QR code. Conflict once a second factor is confirmed."""
    if user.totp_confirmed_at is not None:
        raise Conflict("two-factor authentication is already set up")
    if user.totp_secret_encrypted:
        return secret_box.decrypt(user.totp_secret_encrypted)
    secret = pyotp.random_base32()
    ConsoleUser.update(totp_secret_encrypted=secret_box.encrypt(secret)).where(ConsoleUser.id == user.id).execute()
    user.totp_secret_encrypted = secret_box.encrypt(secret)
    return secret


def provisioning_uri(user: ConsoleUser, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def confirm_enrolment(signed: Signed, code: str, secret_box) -> list[str]:
    """Confirm the TOTP being enrolled with a code from it; the session counts as having
    passed the second factor. Returns ten recovery codes, shown this once."""
    user = signed.user
    if user.totp_confirmed_at is not None:
        raise Conflict("two-factor authentication is already set up")
    step = _totp_step(secret_box.decrypt(user.totp_secret_encrypted), code) if user.totp_secret_encrypted else None
    if step is None:
        raise Invalid("that code is not right: enter the current six-digit code", {"code": ["is not right"]})
    now = utcnow()
    with write_transaction():
        ConsoleUser.update(totp_confirmed_at=now, totp_last_step=step).where(ConsoleUser.id == user.id).execute()
        ConsoleSession.update(second_factor_at=now).where(ConsoleSession.id == signed.session.id).execute()
        codes = _new_recovery_codes(user)
        record_audit(user.tenant_id, f"user:{user.id}", "user.second_factor_enrolled", "user", user.id)
    user.totp_confirmed_at = signed.session.second_factor_at = now
    return codes


def verify_second_factor(signed: Signed, code: str, secret_box) -> str:
    """Pass the second factor in this session with a TOTP code or an unused recovery code
    (spent by this use). Returns "totp" or "recovery_code"; Invalid otherwise."""
    user = signed.user
    if user.totp_confirmed_at is None or not user.totp_secret_encrypted:
        raise Conflict("two-factor authentication is not set up")
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        raise Invalid(LOCKED, {"code": ["the account is locked for a while"]})
    code = (code or "").strip()
    step = _totp_step(secret_box.decrypt(user.totp_secret_encrypted), code)
    how = refusal = None
    with write_transaction():
        if step is not None:
            if _spend_totp_step(user, step):
                how = "totp"
            else:
                refusal = "that code was already used: wait for the next one (or use a recovery code)"
        elif _spend_recovery_code(user, code, now):
            how = "recovery_code"
        if how is not None:
            ConsoleUser.update(second_factor_failures=0).where(ConsoleUser.id == user.id).execute()
            ConsoleSession.update(second_factor_at=now).where(ConsoleSession.id == signed.session.id).execute()
            actor, session_id = f"user:{user.id}", signed.session.id
            record_audit(user.tenant_id, actor, "user.second_factor_passed", "session", session_id, {"with": how})
    if how is None:
        # Counted in a transaction of its own, so that the refusal cannot roll the count back.
        if _second_factor_failed(signed, now):
            raise Invalid(LOCKED, {"code": ["the account is locked for a while"]})
        raise Invalid(refusal or "that code is not right", {"code": [refusal or "is not right"]})
    signed.session.second_factor_at = now
    return how


def new_recovery_codes(signed: Signed) -> list[str]:
    """Replace the user's recovery codes with ten new ones (the old ones stop working)."""
    with write_transaction():
        codes = _new_recovery_codes(signed.user)
        record_audit(
            signed.user.tenant_id, f"user:{signed.user.id}", "user.recovery_codes_replaced", "user", signed.user.id
        )
    return codes


def recovery_codes_left(user: ConsoleUser) -> int:
    return RecoveryCode.select().where((RecoveryCode.user == user.id) & RecoveryCode.used_at.is_null()).count()


def _totp_step(secret: str, code: str, now: dt.datetime | None = None) -> int | None:
    """The time-step ``code`` is the TOTP code of, or None. One step either side: a phone's
    clock is rarely exact."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or utcnow())
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _second_factor_failed(signed: Signed, now: dt.datetime) -> bool:
    """Count a wrong code; the fifth in a row locks the account for the sign-in lock-out's
    time and ends this session (signing in again is refused while locked). True if it locked."""
    user = signed.user
    with write_transaction():
        # Incremented in the database: codes guessed in parallel are each counted.
        ConsoleUser.update(second_factor_failures=ConsoleUser.second_factor_failures + 1).where(
            ConsoleUser.id == user.id
        ).execute()
        failures = ConsoleUser.select(ConsoleUser.second_factor_failures).where(ConsoleUser.id == user.id).scalar()
        if failures < LOCK_AFTER_FAILURES:
            return False
        until = now + LOCK_DURATION
        ConsoleUser.update(second_factor_failures=0, locked_until=until).where(ConsoleUser.id == user.id).execute()
        ConsoleSession.update(revoked_at=now).where(ConsoleSession.id == signed.session.id).execute()
        details = {"until": until, "after": "second_factor"}
        record_audit(user.tenant_id, f"user:{user.id}", "user.locked", "user", user.id, details)
    return True


def _spend_totp_step(user: ConsoleUser, step: int) -> bool:
    """Record ``step`` as used; False if it (or a later one) was used already. The guard in
    the WHERE clause makes two requests racing with one code pass once."""
    fresher = ConsoleUser.totp_last_step.is_null() | (ConsoleUser.totp_last_step < step)
    return bool(ConsoleUser.update(totp_last_step=step).where((ConsoleUser.id == user.id) & fresher).execute())


def _new_recovery_codes(user: ConsoleUser) -> list[str]:
    RecoveryCode.delete().where(RecoveryCode.user == user.id).execute()
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    RecoveryCode.insert_many([{"user": user.id, "code_hash": hash_token(code)} for code in codes]).execute()
    return codes


def _spend_recovery_code(user: ConsoleUser, code: str, now: dt.datetime) -> bool:
    wanted = hash_token(code.lower())
    for row in RecoveryCode.select().where((RecoveryCode.user == user.id) & RecoveryCode.used_at.is_null()):
        if hmac.compare_digest(row.code_hash, wanted):
            # The guard on used_at makes two sign-ins racing with one code spend it once.
            return bool(
                RecoveryCode.update(used_at=now)
                .where((RecoveryCode.id == row.id) & RecoveryCode.used_at.is_null())
                .execute()
            )
    return False
