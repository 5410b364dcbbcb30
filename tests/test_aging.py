"""GET /api/v1/reports/aging: open and partially paid orders per currency by age, as of a day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from flux_recon.models import db, utcnow
from flux_recon.services import reports
from flux_recon.services.errors import Invalid
from flux_recon.services.orders import create_order
from tests.conftest import core_payload

AGING = "/api/v1/reports/aging"


@pytest.fixture
def today():
    return utcnow().date()


@pytest.fixture
def orders_of_all_ages(app, client, tenant, other_tenant, post_core, today):
    """Orders created so many days ago (at noon UTC), some paid in part, in full or cancelled."""

    def order(reference, amount, days_ago, currency="NGN", tenant_id=None):
        created = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(12), tzinfo=dt.UTC)
        with app.app_context():
            made = create_order(
                tenant_id or tenant["tenant_id"],
                "test",
                reference=reference,
                amount=Decimal(amount),
                currency=currency,
                created_at=created,
            )
        db.close()
        return made.id

    def pay(reference, amount, n):
        answer = post_core(
            core_payload(tenant["tenant_id"], transactionRef=f"T-{n}", paymentRef=reference, amount=amount)
        )
        assert answer.json["reconciliation"] == "matched", answer.json

    ids = {
        "new": order("A-NEW", "100.00", 0),
        "week": order("B-WEEK", "200.00", 7),
        "eight": order("C-EIGHT", "300.00", 8),
        "ninety": order("D-NINETY", "400.00", 90),
        "old": order("E-OLD", "500.00", 91),
        "usd": order("F-USD", "10.50", 400, currency="USD"),
        "paid": order("G-PAID", "70.00", 3),
        "cancelled": order("H-CANCELLED", "80.00", 3),
        "short": order("J-SHORT", "60.00", 3),
    }
    order("THEIRS", "999.00", 3, tenant_id=other_tenant["tenant_id"])
    pay("B-WEEK", "50.00", 1)
    pay("G-PAID", "70.00", 2)
    # Short by 0.50, within the 1.00 tolerance: paid, as its status says.
    client.patch("/api/v1/settings/reconciliation", json={"tolerances": {"NGN": "1.00"}}, headers=tenant["headers"])
    pay("J-SHORT", "59.50", 3)
    cancelled = client.post(f"/api/v1/orders/{ids['cancelled']}/cancel", headers=tenant["headers"])
    assert cancelled.status_code == 200
    return ids


def by_bucket(report, currency):
    row = next(r for r in report["currencies"] if r["currency"] == currency)
    return {b["bucket"]: (b["count"], b["outstanding"]) for b in row["buckets"]}, row["total"]


def test_aging_today(client, tenant, orders_of_all_ages, today):
    response = client.get(AGING, headers=tenant["headers"])
    assert response.status_code == 200, response.json
    report = response.json
    assert report["as_of"] == today.isoformat()
    assert [r["currency"] for r in report["currencies"]] == ["NGN", "USD"]
    ngn, total = by_bucket(report, "NGN")
    assert ngn == {
        "0-7": (2, "250.00"),  # A (0 days) and B (7 days, 150.00 still owed)
        "8-30": (1, "300.00"),
        "31-90": (1, "400.00"),
        "90+": (1, "500.00"),
    }
    assert total == {"count": 5, "outstanding": "1450.00"}
    usd, usd_total = by_bucket(report, "USD")
    assert usd["90+"] == (1, "10.50") and usd["0-7"] == (0, "0.00")
    assert usd_total == {"count": 1, "outstanding": "10.50"}
    first = report["currencies"][0]["buckets"][0]
    assert (first["min_days"], first["max_days"]) == (0, 7)
    assert report["currencies"][0]["buckets"][-1]["max_days"] is None


def test_aging_as_of_an_earlier_day(client, tenant, orders_of_all_ages, today):
    """At the end of yesterday: today's order did not exist; the payments allocated today and
    the cancellation made today had not happened, so those orders were still owed."""
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    report = client.get(AGING, query_string={"as_of": yesterday}, headers=tenant["headers"]).json
    assert report["as_of"] == yesterday
    ngn, total = by_bucket(report, "NGN")
    # A day younger: B (all 200.00 owed) and C; G, H and J unpaid and not cancelled yet.
    assert ngn == {
        "0-7": (5, "710.00"),
        "8-30": (0, "0.00"),
        "31-90": (2, "900.00"),  # D and E, 89 and 90 days old
        "90+": (0, "0.00"),
    }
    assert total == {"count": 7, "outstanding": "1610.00"}


def test_aging_of_a_tenant_with_no_orders_is_empty(client, other_tenant, tenant):
    assert client.get(AGING, headers=tenant["headers"]).json["currencies"] == []


def test_aging_refuses_what_is_not_a_day(client, tenant):
    for value in ("yesterday", "2026-13-01", "2026-11-22T10:00:00Z", ""):
        response = client.get(AGING, query_string={"as_of": value}, headers=tenant["headers"])
        assert response.status_code == 422, (value, response.json)
    assert client.get(AGING).status_code == 401


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01", "1969-12-31", "2200-01-01"])
def test_aging_as_of_outside_the_years_a_receivable_can_have_is_a_422_naming_it(client, tenant, create_order, as_of):
    """A day at the ends of the calendar once overflowed the day's window (a 500)."""
    create_order(reference="INV-1", amount="10.00")
    response = client.get(AGING, query_string={"as_of": as_of}, headers=tenant["headers"])
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "as_of" in response.json["errors"]["query"], response.json


@pytest.mark.parametrize("as_of", ["1970-01-01", "2199-12-31"])
def test_aging_as_of_the_first_and_last_day_it_accepts(client, tenant, create_order, as_of):
    create_order(reference="INV-1", amount="10.00")
    response = client.get(AGING, query_string={"as_of": as_of}, headers=tenant["headers"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["as_of"] == as_of


def test_the_aging_service_refuses_a_day_out_of_range(app, tenant):
    """Every front-end (the console too) calls the service: it names the day, never overflows."""
    with app.app_context(), pytest.raises(Invalid) as refused:
        reports.aging(tenant["tenant_id"], dt.date(9999, 12, 31))
    assert "as_of" in refused.value.fields
