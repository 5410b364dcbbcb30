"""Console Settlements (list, detail, statement import by upload) and Reports (summary, aging, settlement
totals, CSV exports with the console's session); who may see and do what."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from flux_recon.models import AuditEntry, Settlement, SettlementLine, db
from tests.console_helpers import csrf_token, make_user, sign_in
from tests.test_settlements import paystack, paystack_csv, paystack_row, post_charge  # noqa: F401 - fixture

ROLES = ("owner", "finance", "developer", "viewer")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def signed_in(app, tenant, role):
    make_user(app, tenant["tenant_id"], f"{role}@example.com", role)
    client = app.test_client()
    sign_in(client, f"{role}@example.com")
    return client


def upload(client, integration_id, body: bytes, *, fmt="paystack_payout", filename="payout.csv", **extra):
    token = csrf_token(client, "/console/settlements")
    data = {
        "csrf_token": token,
        "statement": f"{integration_id}:{fmt}",
        "file": (io.BytesIO(body), filename, "text/csv"),
    }
    return client.post("/console/settlements/imports", data={**data, **extra}, content_type="multipart/form-data")


def rows(page: str, table_id: str) -> list[list[str]]:
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id}"
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    ]


def test_a_statement_uploaded_in_the_console_is_imported_with_its_lines(app, client, tenant, paystack, create_order):  # noqa: F811
    create_order("INV-1", amount="15000.00")
    assert post_charge(client, paystack, "INV-1").json["status"] == "accepted"
    finance = signed_in(app, tenant, "finance")
    page = text(finance.get("/console/settlements"))
    assert f'<option value="{paystack["id"]}:paystack_payout">' in page and "No settlements" in page

    statement = paystack_csv(paystack_row("INV-1"), paystack_row("INV-9", "500.00", "7.50", "492.50"))
    done = upload(finance, paystack["id"], statement)
    assert done.status_code == 302
    detail = text(finance.get(done.headers["Location"]))
    assert "Imported payout.csv: 2 lines read, 2 new, 0 already known; 2 payments settled, 1 recovered" in detail
    assert "Settlement 2026-11-23/NGN" in detail
    lines = rows(detail, "settlement-lines")
    assert [line[0] for line in lines[1:]] == ["INV-1", "INV-9"]
    assert lines[1][3:6] == ["15000.00 NGN", "325.00 NGN", "14675.00 NGN"]
    assert lines[1][6].startswith("payment ") and "recovered" in lines[2][6]

    listed = text(finance.get("/console/settlements"))
    assert ["15500.00 NGN", "332.50 NGN", "15167.50 NGN", "2"] == rows(listed, "settlements")[1][3:7]
    with app.app_context():
        audit = AuditEntry.get(AuditEntry.action == "settlement.imported")
        assert audit.actor.startswith("user:")
    db.close()

    # The same file again changes nothing.
    again = upload(finance, paystack["id"], statement)
    assert "0 new, 2 already known" in text(finance.get(again.headers["Location"]))
    with app.app_context():
        assert Settlement.select().count() == 1 and SettlementLine.select().count() == 2
    db.close()


def test_a_bad_statement_lists_its_errors_by_line_and_column_and_imports_nothing(app, tenant, paystack):  # noqa: F811
    finance = signed_in(app, tenant, "finance")
    statement = paystack_csv(
        paystack_row("INV-1"), paystack_row("INV-2", amount="15O00.00"), paystack_row("", currency="XYZ")
    )
    refused = upload(finance, paystack["id"], statement)
    assert refused.status_code == 422
    page = text(refused)
    assert "Nothing was imported" in page
    errors = rows(page, "import-errors")[1:]
    assert ["line 3", "Amount paid"] == errors[0][:2]
    assert {tuple(row[:2]) for row in errors[1:]} == {("line 4", "Currency"), ("line 4", "Reference number")}
    with app.app_context():
        assert Settlement.select().count() == 0 and SettlementLine.select().count() == 0
    db.close()


def test_an_import_without_a_file_or_with_a_wrong_format_says_so(app, tenant, paystack):  # noqa: F811
    finance = signed_in(app, tenant, "finance")
    token = csrf_token(finance, "/console/settlements")
    missing = finance.post(
        "/console/settlements/imports", data={"csrf_token": token, "statement": f"{paystack['id']}:paystack_payout"}
    )
    assert missing.status_code == 302
    assert "Choose the statement file" in text(finance.get("/console/settlements"))
    wrong = upload(finance, paystack["id"], b"a,b\n", fmt="no_such_format")
    assert wrong.status_code == 302
    assert "Nothing was imported: unknown statement format" in text(finance.get("/console/settlements"))
    other = upload(finance, 999999, b"a,b\n")
    assert other.status_code == 302
    assert "Nothing was imported" in text(finance.get("/console/settlements"))


def test_a_statement_larger_than_the_apps_body_limit_is_still_imported(app, tenant, paystack):  # noqa: F811
    app.config["MAX_CONTENT_LENGTH"] = 4096
    finance = signed_in(app, tenant, "finance")
    statement = paystack_csv(*(paystack_row(f"INV-{n}", "10.00", "0.15", "9.85") for n in range(100)))
    assert len(statement) > 4096
    done = upload(finance, paystack["id"], statement)
    assert done.status_code == 302, text(done)[:500]
    app.config["SETTLEMENT_IMPORT_MAX_BYTES"] = 2048
    too_big = upload(finance, paystack["id"], statement)
    assert too_big.status_code == 413


@pytest.mark.parametrize("role", ["developer", "viewer"])
def test_only_money_roles_may_import_but_every_role_reads(app, tenant, paystack, role):  # noqa: F811
    user = signed_in(app, tenant, role)
    page = text(user.get("/console/settlements"))
    assert "Import a statement" not in page
    refused = upload(user, paystack["id"], paystack_csv(paystack_row("INV-1")))
    assert refused.status_code == 403
    with app.app_context():
        assert Settlement.select().count() == 0
    db.close()


def test_another_tenants_settlement_is_not_found(app, client, tenant, other_tenant, paystack):  # noqa: F811
    owner = signed_in(app, tenant, "owner")
    done = upload(owner, paystack["id"], paystack_csv(paystack_row("INV-1")))
    settlement_path = done.headers["Location"]
    assert owner.get(settlement_path).status_code == 200
    make_user(app, other_tenant["tenant_id"], "stranger@example.com", "owner")
    stranger = app.test_client()
    sign_in(stranger, "stranger@example.com")
    assert stranger.get(settlement_path).status_code == 404
    assert "2026-11-23/NGN" not in text(stranger.get("/console/settlements"))


def test_reports_show_the_summary_and_aging_with_date_filters(app, tenant, post_core, create_order):
    from tests.conftest import core_payload

    create_order(reference="INV-1", amount="100.00")
    create_order(reference="INV-2", amount="40.00", currency="USD")
    assert (
        post_core(
            core_payload(tenant["tenant_id"], transactionRef="T-1", paymentRef="INV-1", amount="60.00")
        ).status_code
        == 200
    )
    viewer = signed_in(app, tenant, "viewer")
    page = viewer.get("/console/reports")
    assert page.status_code == 200
    body = text(page)
    assert ["matched", "NGN", "1", "60.00"] in rows(body, "summary-reconciliation")
    aging = rows(body, "aging")
    assert aging[0] == ["Currency", "0-7 days", "8-30 days", "31-90 days", "90+ days", "Total"]
    assert aging[1] == ["NGN", "40.00 (1)", "0.00 (0)", "0.00 (0)", "0.00 (0)", "40.00 (1)"]
    assert aging[2][0] == "USD" and aging[2][-1] == "40.00 (1)"
    assert "Export as CSV" not in body  # a viewer does not export

    # A period that ended long ago holds nothing; a bad date is named, not a 500.
    old = text(viewer.get("/console/reports?from=2001-01-01&to=2001-01-31"))
    assert "summary-reconciliation" not in old and "None in this period." in old
    bad = viewer.get("/console/reports?from=yesterday&as_of=2026-02-30")
    assert bad.status_code == 422
    assert 'id="from-error">a date like 2026-01-31' in text(bad) and 'id="as_of-error"' in text(bad)
    backwards = viewer.get("/console/reports?from=2026-02-01&to=2026-01-01")
    assert backwards.status_code == 422 and "on or after the first day" in text(backwards)
    # Aging as of a day before the orders existed: nothing was owed then.
    assert "Nothing is owed." in text(viewer.get("/console/reports?as_of=2001-01-01"))


def test_csv_exports_stream_with_the_console_session(app, tenant, post_core, create_order):
    from tests.conftest import core_payload

    create_order(reference="INV-1", amount="100.00", description="=HYPERLINK(1)")
    assert post_core(core_payload(tenant["tenant_id"], transactionRef="T-1", paymentRef="NOBODY")).status_code == 200
    finance = signed_in(app, tenant, "finance")
    page = text(finance.get("/console/reports"))
    link = re.search(r'id="export-payments" href="([^"]+)"', page).group(1)
    response = finance.get(link)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="payments.csv"' in response.headers["Content-Disposition"]
    parsed = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(row["external_id"], row["amount"], row["reconciliation"]) for row in parsed] == [
        ("T-1", "15000.00", "unmatched")
    ]

    orders = list(csv.DictReader(io.StringIO(finance.get("/console/exports/orders.csv").get_data(as_text=True))))
    assert orders[0]["description"] == "'=HYPERLINK(1)"
    queue = list(csv.DictReader(io.StringIO(finance.get("/console/exports/exceptions.csv").get_data(as_text=True))))
    assert {row["reason"] for row in queue} == {"no_order"}
    audit = finance.get("/console/exports/audit.csv")
    assert audit.status_code == 200 and audit.get_data(as_text=True).startswith("id,created_at,actor,action")
    # A period with no payments: the header alone.
    empty = finance.get("/console/exports/payments.csv?from=2001-01-01&to=2001-01-02").get_data(as_text=True)
    assert empty.splitlines() == [empty.splitlines()[0]] and empty.startswith("id,provider,external_id,")
    assert finance.get("/console/exports/payments.csv?from=nonsense").status_code == 422
    assert finance.get("/console/exports/secrets.csv").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_exports_need_the_money_permission(app, tenant, role):
    user = signed_in(app, tenant, role)
    assert user.get("/console/reports").status_code == 200
    for name in ("payments", "orders", "exceptions", "audit"):
        status = user.get(f"/console/exports/{name}.csv").status_code
        assert status == (200 if role in ("owner", "finance") else 403), (role, name)


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/console/settlements", "/console/settlements/1", "/console/reports", "/console/exports/payments.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"], path
    assert client.post("/console/settlements/imports").status_code in (400, 401)
