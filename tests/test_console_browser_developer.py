"""In a real browser against real gunicorn: the developer pages (integrations, outbound webhooks, inbox) and the
second factor they ask for."""

from __future__ import annotations

import base64
import datetime as dt
import json
import sqlite3
import subprocess
import time

import pyotp
import pytest
from standardwebhooks.webhooks import Webhook

from tests.browser import PHONE, base_url, create_user, enrol_second_factor, enter_code, screenshot, sign_in
from tests.conftest import core_payload, core_signature
from tests.live_server import BIN_DIR, CLI_TIMEOUT, REPO_ROOT, api, create_tenant, live_server, request
from tests.receiver import start_receiver

pytestmark = pytest.mark.usefixtures("browser")


@pytest.fixture
def database(tmp_path):
    return tmp_path / "console.db"


@pytest.fixture
def server(database, tmp_path):
    # The test receiver listens on loopback, which only an operator's setting lets webhooks reach.
    with live_server(f"sqlite:///{database}", tmp_path, settings={"ALLOW_PRIVATE_DESTINATIONS": "true"}) as running:
        yield running


@pytest.fixture
def receiver():
    running = start_receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_the_owner_enables_core_copies_its_url_allows_an_address_and_a_signed_webhook_is_accepted(server, new_page):
    tenant = create_tenant(server, "Developer Page Merchant")
    create_user(server, tenant["tenant_id"], "owner@example.com", "owner")
    page = new_page()
    sign_in(page, server, "owner@example.com")
    totp, _ = enrol_second_factor(page)

    page.goto(base_url(server) + "/console/integrations")
    assert page.locator("h1").inner_text() == "Integrations"
    screenshot(page, "integrations")
    page.click("#enable-core button[type=submit]")
    assert page.locator("h1").inner_text().startswith("Integration enabled")
    secret = page.input_value("input[id^=secret-]")
    assert secret.startswith("fs_")
    page.click("text=Go to the integration")

    # The URL to give the provider, with its copy button (the clipboard itself is optional).
    url = page.input_value("#webhook-url")
    assert url.startswith(base_url(server) + "/webhooks/core/")
    assert page.get_attribute("button.copy", "data-copy") == "#webhook-url"
    page.click("button.copy")
    assert secret not in page.content()

    page.fill("#cidr", "127.0.0.2")
    page.fill("#allow-label", "test sender")
    page.click("button:has-text('Allow address')")
    assert "127.0.0.2/32 may now send" in page.inner_text(".flashes")
    assert "127.0.0.2/32" in page.inner_text("table")
    screenshot(page, "integration")

    body = json.dumps(core_payload(tenant["tenant_id"])).encode()
    headers = {"Content-Type": "application/json", "Signature": core_signature(body, secret)}
    accepted = request(server.port, "POST", path_of(url), body=body, headers=headers, source="127.0.0.2")
    assert (accepted.status, accepted.json["status"]) == (200, "accepted")
    elsewhere = request(server.port, "POST", path_of(url), body=body, headers=headers, source="127.0.0.1")
    assert elsewhere.status == 403

    # Both requests are in the inbox, the signature only in redacted form.
    page.goto(base_url(server) + "/console/inbox")
    verdicts = page.locator("tbody .badge").all_inner_texts()
    assert verdicts == ["rejected_address", "accepted"]
    screenshot(page, "inbox")
    page.click("tbody tr:nth-child(2) a")
    assert "accepted" in page.locator("h1").inner_text()
    signature_cell = page.locator("tr:has(td code:text-is('Signature')) td:nth-child(2)").inner_text()
    assert signature_cell.endswith("…") and signature_cell.rstrip("…") != headers["Signature"]
    assert headers["Signature"] not in page.content()
    screenshot(page, "inbox-event")

    # The integration and the inbox read on a phone: nothing wider than the screen.
    phone = new_page(viewport=PHONE)
    sign_in(phone, server, "owner@example.com")
    # The next step's code: the current one confirmed the enrolment and is spent.
    enter_code(phone, pyotp.TOTP(totp).at(time.time() + 30))
    for path in (path_of(page.url), "/console/inbox", "/console/integrations"):
        phone.goto(base_url(server) + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    phone.goto(base_url(server) + "/console/integrations")
    phone.click("tbody a:has-text('core')")
    # Measured once the page's stylesheet is in: just after the click it may not be yet.
    phone.wait_for_load_state()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "integration-phone")

    # Disabling asks first, and says it deletes the integration.
    page.goto(base_url(server) + "/console/integrations")
    page.click("tbody a:has-text('core')")
    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.click("button:has-text('Disable and delete')")
    assert "deletes its webhook URL, credentials and allow-list" in messages[0]
    assert "Integration disabled and deleted" in page.inner_text(".flashes")
    gone = request(server.port, "POST", path_of(url), body=body, headers=headers, source="127.0.0.2")
    assert gone.status == 404


def test_a_developer_adds_an_outbound_webhook_sends_a_test_event_and_reads_the_delivery_log(server, new_page, receiver):
    tenant = create_tenant(server, "Outbound Merchant")
    create_user(server, tenant["tenant_id"], "dev@example.com", "developer")
    page = new_page()
    sign_in(page, server, "dev@example.com")
    totp, _ = enrol_second_factor(page)

    page.goto(base_url(server) + "/console/webhooks")
    page.click("text=Add a webhook")
    page.fill("#label", "Shop front")
    page.fill("#url", receiver.url)
    page.check("#event-order\\.cancelled")
    page.check("#event-payment\\.matched")
    page.check("#auth-type-basic")
    page.fill("#username", "flux")
    page.fill("#password", "pw-123")
    page.check("#signature-signing_key")
    screenshot(page, "webhook-form")
    page.click("button:has-text('Add webhook')")
    key = page.input_value("#signing-key")
    assert key.startswith("whsec_")
    page.click("text=Go to the webhook")

    page.click("button:has-text('Send a test event')")
    assert "Test event delivered: your receiver answered 200" in page.inner_text(".flashes")
    assert len(receiver.requests) == 1
    ping = receiver.requests[0]
    assert Webhook(key).verify(ping.body, ping.headers)["event_type"] == "ping"
    assert ping.headers["authorization"] == "Basic " + base64.b64encode(b"flux:pw-123").decode()

    # A real event: an order cancelled through the API, delivered by the worker.
    order = api(
        server,
        tenant["api_key"],
        "POST",
        "/api/v1/orders",
        {"reference": "INV-77", "amount": "10.00", "currency": "NGN"},
    )
    assert order.status == 201, order.body
    cancelled = api(server, tenant["api_key"], "POST", f"/api/v1/orders/{order.json['id']}/cancel")
    assert cancelled.status == 200, cancelled.body
    worker = subprocess.run(
        [str(BIN_DIR / "flux-recon"), "worker", "--until-idle"],
        cwd=REPO_ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr
    assert [json.loads(r.body)["event_type"] for r in receiver.requests] == ["ping", "order.cancelled"]
    page.reload()
    log = page.locator("section:has(h2:text('Delivery log')) tbody tr").first.inner_text()
    assert "order.cancelled" in log and "succeeded" in log and "200" in log
    screenshot(page, "webhook")

    page.goto(base_url(server) + "/console/webhooks")
    assert "Shop front" in page.inner_text("table")
    screenshot(page, "outbound-webhooks")

    # Edit: keep the authentication as it is.
    page.click("text=Shop front")
    page.click("a:has-text('Edit')")
    assert page.is_checked("#auth-keep")
    page.fill("#label", "Shop front (new)")
    page.click("button:has-text('Save webhook')")
    assert "authentication kept as it was" in page.inner_text(".flashes")
    assert "username flux" in page.inner_text("dl.facts")

    # Delete after a confirmation; dismissing it deletes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button:has-text('Delete')")
    assert page.locator("h1").inner_text() == "Webhook Shop front (new)"
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Delete')")
    assert "Webhook deleted" in page.inner_text(".flashes")
    assert "No webhook yet." in page.inner_text("table")

    # The form reads on a phone: nothing wider than the screen.
    phone = new_page(viewport=PHONE)
    sign_in(phone, server, "dev@example.com")
    # The next step's code: the current one confirmed the enrolment and is spent.
    enter_code(phone, pyotp.TOTP(totp).at(time.time() + 30))
    phone.goto(base_url(server) + "/console/webhooks/new")
    assert phone.locator("h1").inner_text() == "Add a webhook"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_without_two_factor_the_sections_ask_to_set_it_up_and_a_stale_one_is_asked_again(server, database, new_page):
    tenant = create_tenant(server, "Careful Merchant")
    create_user(server, tenant["tenant_id"], "viewer@example.com", "viewer")
    page = new_page()
    sign_in(page, server, "viewer@example.com")
    for section in ("integrations", "webhooks"):
        page.goto(base_url(server) + f"/console/{section}")
        assert f"/console/account/2fa?next=/console/{section}" in page.url
        assert "needs two-factor authentication: set it up first" in page.inner_text(".flashes")
    secret, _ = enrol_second_factor(page)
    page.goto(base_url(server) + "/console/webhooks")
    assert page.locator("h1").inner_text() == "Outbound webhooks"

    # Past CONSOLE_SECOND_FACTOR_MINUTES (15) the code is asked again, then the page opens.
    with sqlite3.connect(database) as connection:
        stale = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)).replace(tzinfo=None)
        connection.execute("UPDATE console_session SET second_factor_at = ?", (stale.isoformat(sep=" "),))
    page.goto(base_url(server) + "/console/integrations")
    assert "/console/2fa?next=/console/integrations" in page.url
    enter_code(page, pyotp.TOTP(secret).at(time.time() + 30))
    assert page.locator("h1").inner_text() == "Integrations"
    # A viewer looks, but is offered no change.
    assert page.locator("text=Enable a provider").count() == 0
