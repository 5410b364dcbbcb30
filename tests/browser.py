"""A real browser for the console tests: Playwright driving the system's Chromium (never a
downloaded one) against real gunicorn, with a screenshot of each main page kept as an artifact."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pyotp
import pytest

from tests.live_server import BIN_DIR, CLI_TIMEOUT, REPO_ROOT, Server

CHROMIUM = os.environ.get("FLUX_RECON_TEST_CHROMIUM", "/usr/bin/chromium")
# CI sets this: a missing browser fails the run instead of skipping the console tests.
REQUIRE_BROWSER = os.environ.get("FLUX_RECON_TEST_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(os.environ.get("FLUX_RECON_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts")) / "console"
PASSWORD = "a long and careful passphrase"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if REQUIRE_BROWSER:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context (its own cookies), closed after the test."""
    contexts = []

    def open_page(viewport=DESKTOP, base_url: str | None = None):
        context = browser.new_context(viewport=viewport, base_url=base_url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def create_user(server: Server, tenant_id: str, email: str, role: str, password: str = PASSWORD) -> dict:
    """`flux-recon users create ... --password-stdin`, as an operator makes the first owner."""
    result = subprocess.run(
        [
            str(BIN_DIR / "flux-recon"),
            "users",
            "create",
            "--tenant",
            tenant_id,
            "--email",
            email,
            "--role",
            role,
            "--password-stdin",
        ],
        cwd=REPO_ROOT,
        env=server.env,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def base_url(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


def sign_in(page, server: Server, email: str, password: str = PASSWORD) -> None:
    page.goto(base_url(server) + "/console/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")


def enrol_second_factor(page) -> tuple[str, list[str]]:
    """From a signed-in page: set up TOTP with the key shown as text; returns it and the recovery codes."""
    page.goto(page.url.split("/console/")[0] + "/console/account/2fa")
    secret = page.inner_text("#totp-secret").strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("main form button[type=submit]")
    codes = [c.strip() for c in page.locator("#recovery-codes code").all_inner_texts()]
    assert len(codes) == 10, page.content()
    return secret, codes


def enter_code(page, code: str) -> None:
    page.fill("input[name=code]", code)
    page.click("main form button[type=submit] >> nth=0")
