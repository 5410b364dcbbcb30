"""Console security edges a reviewer checks: one-time TOTP codes, throttled second factors, sign-in lock-out
under concurrency, the sign-in limit per client behind a proxy, and odd input that must never be a 500."""

import datetime as dt
import time

import pyotp
import pytest

from flux_recon.models import ConsoleSession, ConsoleUser, db, utcnow
from flux_recon.services import users
from flux_recon.services.tenants import create_tenant
from tests.conftest import close_app, make_app
from tests.console_helpers import PASSWORD, csrf_token, enrol_second_factor, make_user, sign_in, submit, totp_secret

OWNER = "owner@example.com"


@pytest.fixture
def enrolled(app, client, tenant):
    """An owner with a second factor enrolled; returns their TOTP secret."""
    make_user(app, tenant["tenant_id"], OWNER, "owner")
    sign_in(client, OWNER)
    enrol_second_factor(app, client, OWNER)
    return totp_secret(app, OWNER)


def _last_step_used(app, secret):
    """The code of the step the user last passed with (enrolment included), as an observer may have seen it."""
    with app.app_context():
        step = ConsoleUser.get(ConsoleUser.email == OWNER).totp_last_step
    db.close()
    return pyotp.TOTP(secret).generate_otp(step)


def test_a_totp_code_signs_in_once_and_a_replay_of_it_is_refused(app, enrolled):
    # The next step's code (accepted for a phone's clock a little ahead): never the one enrolment used.
    code = pyotp.TOTP(enrolled).at(time.time() + 30)
    first = app.test_client()
    sign_in(first, OWNER)
    assert submit(first, "/console/2fa", {"code": code}).status_code == 302
    # Someone who saw that code (over a shoulder, in a proxy's log) cannot use it again.
    second = app.test_client()
    sign_in(second, OWNER)
    replayed = submit(second, "/console/2fa", {"code": code})
    assert replayed.status_code == 401
    assert "already used" in replayed.get_data(as_text=True)
    assert second.get("/console/").status_code == 302


def test_the_code_that_confirmed_enrolment_cannot_pass_the_second_factor(app, enrolled):
    spent = _last_step_used(app, enrolled)
    other = app.test_client()
    sign_in(other, OWNER)
    assert submit(other, "/console/2fa", {"code": spent}).status_code == 401
    assert other.get("/console/").status_code == 302


def test_wrong_second_factor_codes_lock_the_account_and_end_the_session(app, enrolled):
    # Someone who has the password guesses codes: the fifth wrong one in a row locks the
    # account (as five wrong passwords do) and signs that session out.
    attacker = app.test_client()
    sign_in(attacker, OWNER)
    for guess in range(4):
        assert submit(attacker, "/console/2fa", {"code": f"{guess:06d}"}).status_code == 401
    fifth = submit(attacker, "/console/2fa", {"code": "000004"})
    assert fifth.status_code == 401
    assert "locked" in fifth.get_data(as_text=True)
    good = pyotp.TOTP(enrolled).at(time.time() + 30)
    assert submit(attacker, "/console/2fa", {"code": good}, form_at="/console/login").status_code == 401
    assert attacker.get("/console/").status_code == 302
    # Locked: the password alone opens nothing for a while, from anywhere.
    assert sign_in(app.test_client(), OWNER).status_code == 401


def test_a_right_code_clears_the_count_of_wrong_ones(app, enrolled):
    person = app.test_client()
    sign_in(person, OWNER)
    for guess in range(4):
        assert submit(person, "/console/2fa", {"code": f"{guess:06d}"}).status_code == 401
    assert submit(person, "/console/2fa", {"code": pyotp.TOTP(enrolled).at(time.time() + 30)}).status_code == 302
    later = app.test_client()
    sign_in(later, OWNER)
    for guess in range(4):
        page = submit(later, "/console/2fa", {"code": f"{guess:06d}"})
        assert page.status_code == 401 and "locked" not in page.get_data(as_text=True)


def test_wrong_passwords_sent_at_once_are_each_counted_towards_the_lock_out(app, tenant, monkeypatch):
    make_user(app, tenant["tenant_id"], OWNER, "owner")
    real_verify = users._verify
    racing = []

    def verify_while_another_attempt_lands(password_hash, password):
        # Another wrong attempt runs to its end while this one is still hashing (argon2 takes a while).
        if password == "guess one" and not racing:
            racing.append(True)
            with pytest.raises(users.SignInRefused):
                users.authenticate(OWNER, "guess two")
        return real_verify(password_hash, password)

    with app.app_context():
        ConsoleUser.update(failed_sign_ins=3).execute()
        monkeypatch.setattr(users, "_verify", verify_while_another_attempt_lands)
        with pytest.raises(users.SignInRefused):
            users.authenticate(OWNER, "guess one")
        # Five wrong passwords in all: the account is locked, even though two overlapped.
        assert ConsoleUser.get(ConsoleUser.email == OWNER).locked_until is not None
    db.close()


def test_sign_in_attempts_from_one_address_are_throttled(app, client, tenant):
    # Ten a minute by default (CONSOLE_SIGN_IN_RATE_LIMIT), whichever addresses are tried:
    # guessing one password across many accounts is slowed too, not only the per-account lock.
    for number in range(10):
        form = {"email": f"person{number}@example.com", "password": "Spring2026!!"}
        assert submit(client, "/console/login", form, form_at="/console/login").status_code == 401
    throttled = submit(client, "/console/login", {"email": OWNER, "password": PASSWORD}, form_at="/console/login")
    assert throttled.status_code == 429
    assert "Too many attempts" in throttled.get_data(as_text=True)


def test_behind_a_trusted_proxy_sign_in_is_throttled_per_client_not_for_everyone(database_url):
    proxied = make_app(database_url, TRUSTED_PROXIES=["127.0.0.1/32"], CONSOLE_SIGN_IN_RATE_LIMIT="3 per minute")
    try:
        with proxied.app_context():
            tenant, _ = create_tenant("Proxied Merchant")
        db.close()
        make_user(proxied, tenant.id, OWNER, "owner")
        attacker = {"X-Forwarded-For": "203.0.113.5"}
        guesser = proxied.test_client()
        for _ in range(3):
            assert _sign_in_from(guesser, attacker, "not the password").status_code == 401
        assert _sign_in_from(guesser, attacker, "not the password").status_code == 429
        # Another person behind the same proxy still signs in, and their session shows their address.
        colleague = proxied.test_client()
        assert _sign_in_from(colleague, {"X-Forwarded-For": "198.51.100.7"}, PASSWORD).status_code == 302
        with proxied.app_context():
            assert ConsoleSession.get().client_ip == "198.51.100.7"
        db.close()
    finally:
        close_app(proxied)


def _sign_in_from(client, headers: dict, password: str):
    form = {"email": OWNER, "password": password}
    return submit(client, "/console/login", form, form_at="/console/login", headers=headers)


@pytest.mark.parametrize(
    "path",
    [
        "/console/reports?from=0001-01-01",
        "/console/reports?to=9999-12-31",
        "/console/reports?as_of=9999-12-31",
        "/console/exports/payments.csv?to=9999-12-31",
        "/console/payments?from=0001-01-01",
        "/console/orders?from=0001-01-01",
        "/console/inbox?from=0001-01-01",
    ],
)
def test_a_day_at_the_edge_of_the_calendar_is_a_named_error_not_a_500(app, client, tenant, path):
    make_user(app, tenant["tenant_id"], OWNER, "owner")
    sign_in(client, OWNER)
    page = client.get(path)
    assert page.status_code in (200, 422), page.status_code
    text = page.get_data(as_text=True)
    assert "a date like 2026-01-31" in text or "is not a day" in text


@pytest.mark.parametrize("target", ["/console/%0d%0aSet-Cookie:%20x=1", "/console/%09/evil.example", "//evil.example/"])
def test_a_next_with_control_characters_or_another_host_goes_to_the_dashboard(app, client, tenant, target):
    make_user(app, tenant["tenant_id"], OWNER, "owner")
    form = {"email": OWNER, "password": PASSWORD}
    response = submit(client, f"/console/login?next={target}", form, form_at="/console/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"


def test_signing_in_again_ends_the_session_the_browser_had(app, client, tenant):
    make_user(app, tenant["tenant_id"], OWNER, "owner")
    make_user(app, tenant["tenant_id"], "viewer@example.com", "viewer")
    sign_in(client, OWNER)
    form = {"email": "viewer@example.com", "password": PASSWORD}
    assert submit(client, "/console/login", form, form_at="/console/account").status_code == 302
    with app.app_context():
        still_open = {s.user.email for s in ConsoleSession.select().where(ConsoleSession.revoked_at.is_null())}
    db.close()
    # The owner's session is over, not left open behind the new cookie.
    assert still_open == {"viewer@example.com"}


def test_an_action_sent_with_a_stale_second_factor_returns_to_its_page_after_the_code(app, client, enrolled):
    with app.app_context():
        ConsoleSession.update(second_factor_at=utcnow() - dt.timedelta(minutes=16)).execute()
    db.close()
    token = csrf_token(client, "/console/account")
    asked = client.post(
        "/console/api-keys/1/revoke",
        data={"csrf_token": token},
        headers={"Referer": "http://localhost/console/api-keys"},
    )
    assert asked.status_code == 302
    # Back to the page the form was on (the action's own address answers no GET), the action not done.
    assert asked.headers["Location"] == "/console/2fa?next=/console/api-keys"
    assert "not sent" in client.get("/console/2fa").get_data(as_text=True)
    code = pyotp.TOTP(enrolled).at(time.time() + 30)
    back = submit(client, "/console/2fa?next=/console/api-keys", {"code": code})
    assert back.headers["Location"] == "/console/api-keys"
    assert client.get("/console/api-keys").status_code == 200
