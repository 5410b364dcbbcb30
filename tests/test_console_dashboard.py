"""Console dashboard: totals per currency, payments per day in the tenant's zone, queue counts, settlement
coverage; the tenant's time zone (domain, REST settings, the owners' form); who may see and change what."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo

import pytest

from flux_recon.models import AuditEntry, Payment, Settlement, Tenant, db
from flux_recon.models.settlement import SettlementState
from flux_recon.services import dashboard, exceptions, tenant_settings
from flux_recon.services.errors import Invalid
from tests.conftest import core_payload
from tests.console_helpers import make_user, sign_in, submit

LAGOS = zoneinfo.ZoneInfo("Africa/Lagos")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def signed_in(app, tenant, email, role):
    make_user(app, tenant["tenant_id"], email, role)
    client = app.test_client()
    sign_in(client, email)
    return client


def table(page: str, table_id: str) -> list[list[str]]:
    """The rows of the table with ``table_id`` as lists of cell texts (tags stripped)."""
    found = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert found, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in rows]  # fmt: skip


def test_the_dashboard_shows_money_per_currency_the_chart_and_the_queue(app, tenant, post_core, create_order):
    create_order(reference="INV-1", amount="15000.00")
    assert post_core(core_payload(tenant["tenant_id"], transactionRef="T-1", paymentRef="INV-1")).status_code == 200
    # Unmatched: no order has this reference.
    nobody = core_payload(tenant["tenant_id"], transactionRef="T-2", paymentRef="NOBODY", amount="250.50")
    assert post_core(nobody).status_code == 200
    usd = core_payload(tenant["tenant_id"], transactionRef="T-3", paymentRef="NOBODY-2", amount="10.00", currency="USD")
    assert post_core(usd).status_code == 200

    viewer = signed_in(app, tenant, "viewer@example.com", "viewer")
    page = viewer.get("/console/")
    assert page.status_code == 200
    body = text(page)
    rows = table(body, "currency-totals")
    assert ["NGN", "2", "15250.50", "15000.00", "250.50"] in rows
    assert ["USD", "1", "10.00", "0.00", "10.00"] in rows

    today = dt.datetime.now(LAGOS).date().isoformat()
    assert f"<title>{today}: 1 matched</title>" in body
    assert f"<title>{today}: 2 unmatched</title>" in body
    assert 'role="img" aria-labelledby="chart-title chart-desc"' in body
    assert "3 payments in all, 1 matched, 0 partially matched, 0 ambiguous, 2 unmatched" in body
    per_day = table(body, "per-day-table")
    assert per_day[-1] == [today, "1", "0", "0", "2", "0"] and len(per_day) == 31  # header + 30 days
    assert ["no order", "2"] in table(body, "queue-counts")
    assert "Settlement coverage" not in body  # no settlements yet
    assert "style=" not in body  # CSP forbids inline styles
    assert 'name="time_zone"' not in body  # a viewer cannot change the time zone


def test_a_day_is_the_tenants_day_not_utcs(app, tenant, post_core):
    assert post_core(core_payload(tenant["tenant_id"], transactionRef="T-1", paymentRef="X")).status_code == 200
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    with app.app_context():
        # 23:30 UTC on the 8th is 00:30 on the 9th in Lagos (UTC+1).
        Payment.update(received_at=dt.datetime(2026, 3, 8, 23, 30, tzinfo=dt.UTC)).execute()
        lagos = dashboard.overview(tenant["tenant_id"], "Africa/Lagos", now)
        utc = dashboard.overview(tenant["tenant_id"], "UTC", now)
        # 31 days earlier: outside the window.
        Payment.update(received_at=now - dt.timedelta(days=31)).execute()
        outside = dashboard.overview(tenant["tenant_id"], "UTC", now)
    db.close()
    assert lagos.days[-1].date == dt.date(2026, 3, 10) and len(lagos.days) == 30
    assert {d.date: counts for d, counts in zip(lagos.days, lagos.per_day, strict=True) if counts} == {
        dt.date(2026, 3, 9): {"unmatched": 1}
    }
    assert {d.date: counts for d, counts in zip(utc.days, utc.per_day, strict=True) if counts} == {
        dt.date(2026, 3, 8): {"unmatched": 1}
    }
    assert [t.currency for t in lagos.totals] == ["NGN"]
    assert outside.totals == [] and not any(outside.per_day)


def test_a_day_with_a_daylight_saving_change_is_counted_whole(app, tenant):
    # 29 March 2026 in London is 23 hours long: its payments at 23:30 local time are still its own.
    days = dashboard.last_days(zoneinfo.ZoneInfo("Europe/London"), dt.datetime(2026, 3, 30, 12, tzinfo=dt.UTC))
    short = next(day for day in days if day.date == dt.date(2026, 3, 29))
    assert short.end - short.start == dt.timedelta(hours=23)
    assert all(a.end == b.start for a, b in zip(days, days[1:], strict=False))


def test_settlement_coverage_appears_once_there_are_settlements(app, tenant, post_core):
    assert post_core(core_payload(tenant["tenant_id"], transactionRef="T-1", paymentRef="X")).status_code == 200
    assert (
        post_core(core_payload(tenant["tenant_id"], transactionRef="T-2", paymentRef="Y", amount="5.00")).status_code
        == 200
    )
    with app.app_context():
        first, second = Payment.select().order_by(Payment.id)
        Payment.update(settlement_state=SettlementState.SETTLED).where(Payment.id == first.id).execute()
        Payment.update(settlement_state=SettlementState.NOT_IN_SETTLEMENT).where(Payment.id == second.id).execute()
        Settlement.create(
            tenant=tenant["tenant_id"], provider="core", reference="S-1", settled_at=dt.datetime.now(dt.UTC),
            currency="NGN", gross_minor=1500000, fees_minor=0, net_minor=1500000, source="statement",
        )  # fmt: skip
    db.close()
    viewer = signed_in(app, tenant, "viewer@example.com", "viewer")
    body = text(viewer.get("/console/"))
    assert table(body, "settlement-coverage")[1] == ["NGN", "15000.00 (1)", "0.00 (0)", "5.00 (1)", "0.00 (0)"]
    assert ["not in settlement", "1"] in table(body, "queue-counts")


def test_open_counts_match_the_queue_per_reason(app, tenant, post_core, create_order):
    create_order(reference="INV-1", amount="100.00")
    for ref, reference in (("T-1", "A"), ("T-2", "B"), ("T-3", "INV-1")):
        payload = core_payload(tenant["tenant_id"], transactionRef=ref, paymentRef=reference, amount="60.00")
        assert post_core(payload).status_code == 200
    with app.app_context():
        counts = exceptions.open_counts(tenant["tenant_id"])
        for reason, count in counts.items():
            assert (
                exceptions.list_exceptions(tenant["tenant_id"], exceptions.Filters(reasons=[reason])).count() == count
            )
    db.close()
    assert counts == {"no_order": 2, "underpaid_order": 1}


def test_the_time_zone_is_a_validated_setting_kept_beside_the_rules(app, tenant, client):
    with app.app_context():
        assert tenant_settings.get_rules(tenant["tenant_id"]).time_zone == "Africa/Lagos"
        for bad in ("Mars/Olympus", "../etc/passwd", "", "America", 5):
            with pytest.raises(Invalid) as refused:
                tenant_settings.update_rules(tenant["tenant_id"], "test", {"time_zone": bad}, strategy_names=[])
            assert list(refused.value.fields) == ["time_zone"]
    db.close()

    headers = tenant["headers"]
    assert client.get("/api/v1/settings/reconciliation", headers=headers).json["time_zone"] == "Africa/Lagos"
    refused = client.patch("/api/v1/settings/reconciliation", json={"time_zone": "Nowhere/Special"}, headers=headers)
    assert refused.status_code == 422 and "time_zone" in refused.json["errors"]["json"]
    changed = client.patch("/api/v1/settings/reconciliation", json={"time_zone": "Europe/London"}, headers=headers)
    assert changed.status_code == 200 and changed.json["time_zone"] == "Europe/London"
    # Changing a rule keeps the zone, and the zone keeps the rules.
    rules = client.patch("/api/v1/settings/reconciliation", json={"tolerances": {"NGN": "1.00"}}, headers=headers)
    assert rules.json["time_zone"] == "Europe/London" and rules.json["tolerances"] == {"NGN": "1.00"}
    shown = client.get("/api/v1/settings/reconciliation", headers=headers).json
    assert (shown["time_zone"], shown["tolerances"]) == ("Europe/London", {"NGN": "1.00"})


def test_an_owner_changes_the_time_zone_and_times_follow_it(app, tenant):
    owner = signed_in(app, tenant, "owner@example.com", "owner")
    page = text(owner.get("/console/"))
    assert '<option value="Africa/Lagos" selected>' in page and "in Africa/Lagos time" in page

    refused = submit(owner, "/console/settings/time-zone", {"time_zone": "Mars/Olympus"}, form_at="/console/")
    assert refused.status_code == 302
    after = text(owner.get("/console/"))
    assert "is not a time zone name" in after and '<option value="Africa/Lagos" selected>' in after

    saved = submit(owner, "/console/settings/time-zone", {"time_zone": "Asia/Tokyo"}, form_at="/console/")
    assert saved.status_code == 302
    after = text(owner.get("/console/"))
    assert "Times are now shown in Asia/Tokyo." in after and "in Asia/Tokyo time" in after
    # My account lists the sign-in session's start in the new zone.
    assert "JST" in text(owner.get("/console/account"))
    with app.app_context():
        assert Tenant.get_by_id(tenant["tenant_id"]).settings["time_zone"] == "Asia/Tokyo"
        audit = AuditEntry.select().where(AuditEntry.action == "settings.changed").order_by(AuditEntry.id.desc()).get()
        assert audit.details["time_zone"] == "Asia/Tokyo" and audit.actor.startswith("user:")
    db.close()


@pytest.mark.parametrize("role", ["finance", "developer", "viewer"])
def test_only_an_owner_may_change_the_time_zone(app, tenant, role):
    user = signed_in(app, tenant, f"{role}@example.com", role)
    assert user.get("/console/").status_code == 200
    refused = submit(user, "/console/settings/time-zone", {"time_zone": "UTC"}, form_at="/console/")
    assert refused.status_code == 403
    with app.app_context():
        assert "time_zone" not in (Tenant.get_by_id(tenant["tenant_id"]).settings or {})
    db.close()


def test_the_time_zone_form_needs_its_csrf_token(app, tenant):
    owner = signed_in(app, tenant, "owner@example.com", "owner")
    assert owner.post("/console/settings/time-zone", data={"time_zone": "UTC"}).status_code == 400
