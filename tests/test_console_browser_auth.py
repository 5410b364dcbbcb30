"""In a real browser: the first owner signs in, enrols two-factor authentication, signs in with codes."""

from __future__ import annotations

import time

import pyotp
import pytest

from tests.browser import (
    PHONE,
    base_url,
    create_user,
    enrol_second_factor,
    enter_code,
    screenshot,
    sign_in,
)
from tests.live_server import create_tenant, live_server

pytestmark = pytest.mark.usefixtures("browser")


@pytest.fixture
def server(tmp_path):
    # The console's flows are the same on both databases; the browser tests run on SQLite.
    with live_server(f"sqlite:///{tmp_path / 'console.db'}", tmp_path) as running:
        yield running


def test_first_owner_signs_in_enrols_two_factor_and_signs_in_again(server, new_page):
    tenant = create_tenant(server, "Console Merchant")
    owner = create_user(server, tenant["tenant_id"], "owner@example.com", "owner")
    assert owner["role"] == "owner" and isinstance(owner["user_id"], int)

    page = new_page()
    page.goto(base_url(server) + "/console/")
    assert page.url.endswith("/console/login?next=/console/")
    screenshot(page, "login")
    sign_in(page, server, "owner@example.com")
    assert page.locator("h1").inner_text() == "Dashboard"
    screenshot(page, "dashboard-first-sign-in")
    # A form posted without its CSRF token (another site's, say) is refused and changes nothing.
    status = page.evaluate(
        "fetch('/console/account/sign-out-everywhere', {method: 'POST', body: new URLSearchParams()})"
        ".then(r => r.status)"
    )
    assert status == 400
    page.reload()
    assert page.locator("h1").inner_text() == "Dashboard"

    secret, codes = enrol_second_factor(page)
    screenshot(page, "recovery-codes")
    page.click("text=I have saved them")
    assert "On since" in page.inner_text("dl.facts")

    # Sign out, then in again: the password alone is not enough any more.
    page.click("header button:has-text('Sign out')")
    assert page.url.endswith("/console/login")
    sign_in(page, server, "owner@example.com")
    assert "/console/2fa" in page.url
    enter_code(page, "123456" if pyotp.TOTP(secret).now() != "123456" else "654321")
    assert page.locator("[role=alert]").inner_text().startswith("that code is not right")
    # The next step's code: the current one confirmed the enrolment and is spent.
    enter_code(page, pyotp.TOTP(secret).at(time.time() + 30))
    assert page.locator("h1").inner_text() == "Dashboard"

    # A recovery code signs in once, and never again.
    other = new_page()
    sign_in(other, server, "owner@example.com")
    enter_code(other, codes[3])
    assert other.locator("h1").inner_text() == "Dashboard"
    assert "Recovery code used" in other.inner_text(".flashes")
    third = new_page()
    sign_in(third, server, "owner@example.com")
    enter_code(third, codes[3])
    assert "/console/2fa" in third.url
    assert third.locator("[role=alert]").is_visible()


def test_the_sign_in_page_reads_at_a_phone_width_and_refuses_a_wrong_password(server, new_page):
    tenant = create_tenant(server, "Phone Merchant")
    create_user(server, tenant["tenant_id"], "finance@example.com", "finance")
    page = new_page(viewport=PHONE)
    sign_in(page, server, "finance@example.com", "not the password at all")
    assert "wrong email or password" in page.locator("[role=alert]").inner_text()
    # Nothing wider than the screen: no sideways scrolling on a phone (once the stylesheet is in).
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "login-phone")
