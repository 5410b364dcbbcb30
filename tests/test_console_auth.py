"""Console sign-in, sessions, roles, CSRF and the second factor, through Flask's test client."""

import datetime as dt
import time

import pyotp
import pytest

from flux_recon.models import ApiKey, ConsoleSession, ConsoleUser, db, utcnow
from flux_recon.services import api_keys
from tests.console_helpers import (
    PASSWORD,
    csrf_token,
    enrol_second_factor,
    make_user,
    sign_in,
    submit,
    totp_secret,
)


@pytest.fixture
def owner(app, tenant):
    make_user(app, tenant["tenant_id"], "owner@example.com", "owner")
    return "owner@example.com"


def test_the_first_owner_signs_in_and_sees_the_dashboard(client, owner):
    assert client.get("/console/").status_code == 302
    page = sign_in(client, owner)
    assert page.status_code == 302 and page.headers["Location"].endswith("/console/")
    dashboard = client.get("/console/")
    assert dashboard.status_code == 200
    assert "Dashboard" in dashboard.get_data(as_text=True)


def test_the_session_cookie_is_httponly_lax_and_secure_only_over_https(client, owner):
    response = sign_in(client, owner)
    (set_cookie,) = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/console" in set_cookie
    assert "Secure" not in set_cookie
    other = client.application.test_client()
    token = csrf_token(other, "/console/login")
    secure = other.post(
        "/console/login",
        data={"csrf_token": token, "email": owner, "password": PASSWORD},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/console/login"},
    )
    assert secure.status_code == 302, secure.get_data(as_text=True)
    assert any("Secure" in v for k, v in secure.headers.items() if k == "Set-Cookie")


def test_a_wrong_password_is_refused_and_the_fifth_failure_locks_the_account(app, client, owner):
    for _ in range(4):
        refused = sign_in(client, owner, "wrong password!!")
        assert refused.status_code == 401
        assert "wrong email or password" in refused.get_data(as_text=True)
    assert sign_in(client, owner, "wrong password!!").status_code == 401
    # Locked: even the right password is refused now.
    assert sign_in(client, owner).status_code == 401
    with app.app_context():
        user = ConsoleUser.get(ConsoleUser.email == owner)
        assert user.locked_until is not None
        ConsoleUser.update(locked_until=user.locked_until - dt.timedelta(minutes=16)).execute()
    db.close()
    assert sign_in(client, owner).status_code == 302


def test_an_unknown_address_gets_the_same_answer_as_a_wrong_password(client, owner):
    unknown = sign_in(client, "nobody@example.com")
    wrong = sign_in(client, owner, "not the password")
    assert unknown.status_code == wrong.status_code == 401


def test_a_post_without_its_csrf_token_is_refused(client, owner):
    sign_in(client, owner)
    refused = client.post("/console/account/sign-out-everywhere")
    assert refused.status_code == 400
    assert "security token" in refused.get_data(as_text=True)
    assert client.get("/console/").status_code == 200  # still signed in


def test_logout_ends_the_session_in_the_database(app, client, owner):
    sign_in(client, owner)
    submit(client, "/console/logout", {}, form_at="/console/")
    assert client.get("/console/").status_code == 302
    with app.app_context():
        assert ConsoleSession.select().where(ConsoleSession.revoked_at.is_null()).count() == 0
    db.close()


def test_sign_out_everywhere_ends_every_session(app, owner):
    first, second = app.test_client(), app.test_client()
    sign_in(first, owner)
    sign_in(second, owner)
    submit(first, "/console/account/sign-out-everywhere", {}, form_at="/console/account")
    assert second.get("/console/").status_code == 302


def test_an_idle_session_expires(app, client, owner):
    sign_in(client, owner)
    with app.app_context():
        ConsoleSession.update(last_seen_at=utcnow() - dt.timedelta(minutes=31)).execute()
    db.close()
    assert client.get("/console/").status_code == 302


def test_two_factor_enrolment_then_sign_in_asks_for_the_code(app, client, owner):
    sign_in(client, owner)
    setup = client.get("/console/account/2fa")
    html = setup.get_data(as_text=True)
    secret = totp_secret(app, owner)
    assert secret in html and 'name="code"' in html and "data:image/svg+xml" in html
    codes = enrol_second_factor(app, client, owner)
    assert len(codes) == 10 and len(set(codes)) == 10

    fresh = app.test_client()
    after_password = sign_in(fresh, owner)
    assert "/console/2fa" in after_password.headers["Location"]
    assert fresh.get("/console/").status_code == 302  # nothing else until the code
    wrong = submit(fresh, "/console/2fa", {"code": "000000"})
    assert wrong.status_code == 401
    # The next step's code: the current one confirmed the enrolment and is spent.
    ok = submit(fresh, "/console/2fa", {"code": pyotp.TOTP(secret).at(time.time() + 30)})
    assert ok.status_code == 302
    assert fresh.get("/console/").status_code == 200


def test_a_recovery_code_signs_in_once_and_never_again(app, client, owner):
    sign_in(client, owner)
    codes = enrol_second_factor(app, client, owner)
    once = app.test_client()
    sign_in(once, owner)
    assert submit(once, "/console/2fa", {"code": codes[0]}).status_code == 302
    assert once.get("/console/").status_code == 200
    again = app.test_client()
    sign_in(again, owner)
    assert submit(again, "/console/2fa", {"code": codes[0]}).status_code == 401
    assert again.get("/console/").status_code == 302


def test_a_section_that_needs_two_factor_sends_a_user_without_it_to_set_it_up(app, client, owner):
    sign_in(client, owner)
    response = submit(client, "/console/account/recovery-codes", {}, form_at="/console/account")
    assert response.status_code == 302 and "/console/account/2fa" in response.headers["Location"]


def test_a_stale_second_factor_is_asked_again(app, client, owner):
    sign_in(client, owner)
    enrol_second_factor(app, client, owner)
    assert submit(client, "/console/account/recovery-codes", {}, form_at="/console/account").status_code == 200
    with app.app_context():
        ConsoleSession.update(second_factor_at=utcnow() - dt.timedelta(minutes=16)).execute()
    db.close()
    asked = submit(client, "/console/account/recovery-codes", {}, form_at="/console/account")
    assert asked.status_code == 302 and "/console/2fa" in asked.headers["Location"]


def test_security_headers_on_every_console_page(client, owner):
    for path in ("/console/login", "/console/nowhere"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_an_unknown_console_page_is_an_html_404_and_the_api_keeps_no_cookie(client, tenant):
    missing = client.get("/console/nowhere")
    assert missing.status_code == 404 and "<html" in missing.get_data(as_text=True)
    api = client.get("/api/v1/orders", headers=tenant["headers"])
    assert "Set-Cookie" not in api.headers


def test_the_next_parameter_never_leaves_the_console(client, owner):
    token = csrf_token(client, "/console/login")
    response = client.post(
        "/console/login?next=https://evil.example/", data={"csrf_token": token, "email": owner, "password": PASSWORD}
    )
    assert response.headers["Location"].endswith("/console/")


def test_a_read_scoped_api_key_cannot_write(app, client, tenant):
    with app.app_context():
        _, read_key = api_keys.create_key(tenant["tenant_id"], "reporting", "read", "test")
    db.close()
    headers = {"Authorization": f"Bearer {read_key}"}
    assert client.get("/api/v1/orders", headers=headers).status_code == 200
    refused = client.post(
        "/api/v1/orders", json={"reference": "X-1", "amount": "1.00", "currency": "NGN"}, headers=headers
    )
    assert refused.status_code == 403
    assert "read-only" in refused.json["message"]
    with app.app_context():
        assert ApiKey.get(ApiKey.label == "initial").scope is None  # older keys: full access
    db.close()
    assert (
        client.post(
            "/api/v1/orders", json={"reference": "X-1", "amount": "1.00", "currency": "NGN"}, headers=tenant["headers"]
        ).status_code
        == 201
    )
