"""In a real browser against real gunicorn: a console order paid by a signed webhook, a finance user working the
review queue by hand, and a viewer who sees no actions and whose forged POST is refused."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from tests.browser import PHONE, base_url, create_user, screenshot, sign_in
from tests.conftest import core_payload, core_signature
from tests.live_server import Server, api, create_tenant, live_server, request

pytestmark = pytest.mark.usefixtures("browser")
# The webhook sender: loopback, and the only address on the integration's allow-list.
SENDER = "127.0.0.2"


@pytest.fixture
def server(tmp_path):
    with live_server(f"sqlite:///{tmp_path / 'console.db'}", tmp_path) as running:
        yield running


@pytest.fixture
def merchant(server):
    """A tenant with a core integration that admits SENDER, and its finance user."""
    tenant = create_tenant(server, "Money Merchant")
    enabled = api(server, tenant["api_key"], "POST", "/api/v1/integrations", {"provider": "core"})
    assert enabled.status == 201, enabled.body
    integration = enabled.json
    allowed = api(
        server,
        tenant["api_key"],
        "POST",
        f"/api/v1/integrations/{integration['id']}/allowlist",
        {"cidr": f"{SENDER}/32"},
    )
    assert allowed.status == 201, allowed.body
    create_user(server, tenant["tenant_id"], "finance@example.com", "finance")
    tenant["webhook_path"] = urlsplit(integration["webhook_url"]).path
    tenant["secret"] = integration["credentials"][0]["secret"]
    return tenant


def send_webhook(server: Server, merchant: dict, **fields) -> dict:
    """A core webhook signed with the integration's secret, over real HTTP from the allowed address."""
    body = json.dumps(core_payload(merchant["tenant_id"], **fields)).encode()
    headers = {"Content-Type": "application/json", "Signature": core_signature(body, merchant["secret"])}
    response = request(server.port, "POST", merchant["webhook_path"], body=body, headers=headers, source=SENDER)
    assert response.status == 200, response.body
    return response.json


def test_an_order_created_in_the_console_is_shown_paid_after_a_signed_webhook(server, merchant, new_page):
    page = new_page()
    sign_in(page, server, "finance@example.com")
    page.click("nav >> text=Orders")
    page.click("text=New order")
    page.fill("#o-reference", "INV-1001")
    page.fill("#o-amount", "15000.00")
    page.select_option("#o-currency", "NGN")
    page.fill("#o-customer_name", "Ada Obi")
    page.click("button:has-text('Create order')")
    assert "Order INV-1001 created (open)." in page.inner_text(".flashes")
    assert page.inner_text("#order-status") == "open"
    order_url = page.url

    result = send_webhook(server, merchant)
    assert (result["status"], result["reconciliation"]) == ("accepted", "matched"), result

    page.goto(order_url)
    assert page.inner_text("#order-status") == "paid"
    assert page.inner_text("#order-paid") == "15000.00 NGN"
    assert "TRX-0001" in page.inner_text("table")
    screenshot(page, "order-detail")
    page.click("nav >> text=Orders")
    assert "paid" in page.inner_text("table")
    screenshot(page, "orders")


def test_finance_matches_an_unmatched_payment_by_hand_and_a_viewer_cannot(server, merchant, new_page):
    order = api(
        server,
        merchant["api_key"],
        "POST",
        "/api/v1/orders",
        {"reference": "INV-2002", "amount": "15000.00", "currency": "NGN"},
    )
    assert order.status == 201, order.body
    # A reference no order has, and no customer to go by: nothing may match it on its own.
    lost = send_webhook(server, merchant, paymentRef="INV-7777", transactionRef="TRX-LOST", customer=None)
    assert lost["reconciliation"] == "unmatched", lost
    other = send_webhook(server, merchant, paymentRef="NOBODY", transactionRef="TRX-OTHER", amount="120.00")
    assert other["reconciliation"] == "unmatched", other
    item = f"payment:{lost['payment_id']}"

    page = new_page()
    sign_in(page, server, "finance@example.com")
    page.click("nav >> text=Review queue")
    row = page.locator("table.queue tr", has=page.locator(f"a:text-is('{item}')"))
    assert "no order" in row.inner_text() and "15000.00 NGN" in row.inner_text()
    screenshot(page, "review-queue")

    page.click(f"a:text-is('{item}')")
    assert "INV-7777" in page.inner_text("#item-message")
    page.fill("#match-order", "INV-2002")
    page.fill("#match-reason", "customer quoted an old invoice number")
    page.click("form:has(#match-order) button[type=submit]")
    assert urlsplit(page.url).path == "/console/queue"
    assert "matched to order INV-2002 (matched)" in page.inner_text(".flashes")
    assert item not in page.inner_text("main")

    page.goto(base_url(server) + f"/console/orders/{order.json['id']}")
    assert page.inner_text("#order-status") == "paid"
    page.click("a:has-text('TRX-LOST')")
    assert page.inner_text("#payment-reconciliation") == "matched"
    trail = page.inner_text("ol.timeline")
    assert "allocation.created" in trail and "customer quoted an old invoice number" in trail
    assert "Signature: " in page.inner_text("details.webhook")
    screenshot(page, "payment-detail")
    page.click("nav >> text=Payments")
    assert "TRX-OTHER" in page.inner_text("table")
    screenshot(page, "payments")

    create_user(server, merchant["tenant_id"], "viewer@example.com", "viewer")
    viewer = new_page(viewport=PHONE)
    sign_in(viewer, server, "viewer@example.com")
    other_item = f"/console/queue/payment:{other['payment_id']}"
    viewer.goto(base_url(server) + other_item)
    assert "NOBODY" in viewer.inner_text("#item-message")
    assert viewer.locator("main form[method=post]").count() == 0
    assert viewer.locator("main button").count() == 0
    # Readable on a phone: nothing wider than the screen, here and on the other money pages.
    assert viewer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for path in ("/console/queue", "/console/orders", f"/console/payments/{lost['payment_id']}"):
        viewer.goto(base_url(server) + path)
        assert viewer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
    viewer.goto(base_url(server) + other_item)
    # The buttons are only hidden for a viewer; the server refuses the POST itself.
    status = viewer.evaluate(
        """async ([path, order]) => {
            const token = document.querySelector("input[name=csrf_token]").value;
            const body = new URLSearchParams({csrf_token: token, order: order, reason: "forged"});
            const response = await fetch(path, {method: "POST", body: body, redirect: "manual"});
            return response.status;
        }""",
        [f"/console/payments/{other['payment_id']}/match", "INV-2002"],
    )
    assert status == 403
    viewer.goto(base_url(server) + other_item)
    assert re.search(r"\bopen\b", viewer.inner_text("#item-status"))
