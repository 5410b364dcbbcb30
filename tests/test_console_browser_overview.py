"""In a real browser against real gunicorn: the dashboard shows a payment a signed webhook made, a Paystack
payout uploaded on the Settlements page appears with its lines, the reports show the aging and a CSV export
downloads; the dashboard reads at a phone's width."""

from __future__ import annotations

import csv
from urllib.parse import urlsplit

import pytest

from flux_recon_paystack.provider import PaystackProvider
from tests.browser import PHONE, base_url, create_user, screenshot, sign_in
from tests.live_server import api, create_tenant, live_server, request

pytestmark = pytest.mark.usefixtures("browser")
SECRET = "sk_test_console_overview_5b2e"
HEADER = (
    "Reference number,Transaction date,Customer email,Amount paid,Paystack fee,Amount due to merchant,"
    "Settlement date,Gateway response,Customer full name,Transaction ID,Card type,Card bank,Country code,"
    "Currency,Subaccount,Subaccount due"
)


@pytest.fixture
def server(tmp_path):
    # The console's flows are the same on both databases; the browser tests run on SQLite.
    with live_server(f"sqlite:///{tmp_path / 'console.db'}", tmp_path) as running:
        yield running


@pytest.fixture
def merchant(server):
    """A tenant with a Paystack integration (its secret set, 127.0.0.1 allowed), two orders and a finance user."""
    tenant = create_tenant(server, "Overview Merchant")
    key = tenant["api_key"]
    enabled = api(server, key, "POST", "/api/v1/integrations", {"provider": "paystack"})
    assert enabled.status == 201, enabled.body
    base = f"/api/v1/integrations/{enabled.json['id']}"
    assert api(server, key, "PUT", f"{base}/secrets/secret_key", {"value": SECRET}).status == 200
    assert api(server, key, "POST", f"{base}/allowlist", {"cidr": "127.0.0.1/32"}).status == 201
    for reference, amount in (("INV-1", "15000.00"), ("INV-2", "8000.00")):
        order = {"reference": reference, "amount": amount, "currency": "NGN"}
        assert api(server, key, "POST", "/api/v1/orders", order).status == 201
    create_user(server, tenant["tenant_id"], "finance@example.com", "finance")
    tenant["integration_id"] = enabled.json["id"]
    tenant["webhook_path"] = urlsplit(enabled.json["webhook_url"]).path
    return tenant


def charge(server, merchant, reference: str, amount_kobo: int) -> dict:
    """A Paystack charge.success signed with the integration's secret, over real HTTP."""
    payload = PaystackProvider.sample_payloads()["charge_success"]
    payload["data"].update(reference=reference, amount=amount_kobo, fees=32500, paid_at="2026-11-22T09:15:03Z")
    webhook = PaystackProvider.sign(payload, {"secret_key": SECRET})
    response = request(server.port, "POST", merchant["webhook_path"], body=webhook.body, headers=dict(webhook.headers))
    assert response.status == 200, response.body
    return response.json


def cells(page, selector: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        for row in page.locator(f"{selector} tbody tr").all()
    ]


def test_dashboard_settlements_and_reports_in_a_browser(server, merchant, new_page, tmp_path):
    assert charge(server, merchant, "INV-1", 1500000)["status"] == "accepted"
    page = new_page()
    sign_in(page, server, "finance@example.com")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert ["NGN", "1", "15000.00", "15000.00", "0.00"] in cells(page, "#currency-totals")
    chart = page.locator("svg#payments-chart")
    assert chart.is_visible() and chart.locator("rect.state-matched").count() == 1
    assert "1 matched" in chart.locator("desc").text_content()
    screenshot(page, "dashboard")

    # A Paystack payout export uploaded on the Settlements page.
    statement = tmp_path / "paystack-payout.csv"
    statement.write_text(
        HEADER + "\nINV-1,2026-11-22 10:15:03,ada@example.com,15000.00,325.00,14675.00,2026-11-23,Successful,Ada Obi,"
        "4099,visa,,NG,NGN,,\n"
    )
    page.click("nav >> text=Settlements")
    assert page.locator("h1").inner_text() == "Settlements"
    page.select_option("#statement", f"{merchant['integration_id']}:paystack_payout")
    page.set_input_files("#statement-file", str(statement))
    page.click("form[enctype] button[type=submit]")
    assert page.locator("h1").inner_text() == "Settlement 2026-11-23/NGN"
    assert "1 lines read, 1 new" in page.inner_text(".flashes")
    (line,) = cells(page, "#settlement-lines")
    assert line[0] == "INV-1" and line[3:6] == ["15000.00 NGN", "325.00 NGN", "14675.00 NGN"]
    assert line[6].startswith("payment ")
    screenshot(page, "settlement-detail")
    page.click("main >> text=Settlements")
    assert cells(page, "#settlements")[0][2] == "2026-11-23/NGN"
    screenshot(page, "settlements")

    # The dashboard now shows how much of the month's money is settled.
    page.click("nav >> text=Dashboard")
    assert cells(page, "#settlement-coverage")[0][:2] == ["NGN", "15000.00 (1)"]

    # Reports: the aging of the unpaid order, and a CSV export that downloads and parses.
    page.click("nav >> text=Reports")
    aging = cells(page, "#aging")
    assert aging == [["NGN", "8000.00 (1)", "0.00 (0)", "0.00 (0)", "0.00 (0)", "8000.00 (1)"]]
    screenshot(page, "reports")
    with page.expect_download() as downloading:
        page.click("#export-payments")
    download = downloading.value
    assert download.suggested_filename == "payments.csv"
    with open(download.path(), newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(row["external_id"], row["amount"], row["reconciliation"]) for row in rows] == [
        ("INV-1", "15000.00", "matched")
    ]


def test_the_dashboard_reads_at_a_phone_width(server, merchant, new_page):
    charge(server, merchant, "INV-1", 1500000)
    charge(server, merchant, "NO-SUCH-ORDER", 250000)
    page = new_page(viewport=PHONE)
    sign_in(page, server, "finance@example.com")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("svg#payments-chart").is_visible()
    # Nothing wider than the screen: no sideways scrolling on a phone (once the stylesheet is in).
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "dashboard-phone")
    base = base_url(server)
    page.goto(base + "/console/reports")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
