"""Console Inbox: verdicts with filters and pages, headers and body redacted as the REST inbox, replay, roles."""

from __future__ import annotations

import html
import re

import pytest

from flux_recon.models import WebhookEvent, db
from flux_recon.web.console.views import inbox as inbox_views
from tests.conftest import core_payload
from tests.console_helpers import make_user, sign_in, submit


def signed_in(app, tenant, email, role):
    make_user(app, tenant["tenant_id"], email, role)
    client = app.test_client()
    sign_in(client, email)
    return client


@pytest.fixture
def developer(app, tenant):
    return signed_in(app, tenant, "dev@example.com", "developer")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def flashes(client, path) -> str:
    page = text(client.get(path))
    found = re.search(r'<div class="flashes".*?</div>', page, re.S)
    return found.group(0) if found else ""


def rows(page: str) -> list[str]:
    return re.findall(r'<span class="badge (\w+)">', page.split("<tbody>", 1)[1].split("</tbody>", 1)[0])


@pytest.fixture
def received(tenant, create_order, post_core):
    """Three webhooks: accepted, refused for its signature, unrecognized (newest last)."""
    create_order()
    post_core(core_payload(tenant["tenant_id"]))
    post_core(core_payload(tenant["tenant_id"], transactionRef="TRX-0002"), signature="bad")
    post_core({"hello": "not a payment"})


def event_ids(app) -> dict[str, int]:
    with app.app_context():
        found = {e.verdict: e.id for e in WebhookEvent.select().order_by(WebhookEvent.id)}
    db.close()
    return found


def test_the_inbox_lists_every_verdict_newest_first_and_filters(app, developer, received):
    page = text(developer.get("/console/inbox"))
    assert rows(page) == ["unrecognized", "rejected_signature", "accepted"]
    assert rows(text(developer.get("/console/inbox?verdict=unrecognized"))) == ["unrecognized"]
    both = text(developer.get("/console/inbox?verdict=accepted&verdict=rejected_signature"))
    assert rows(both) == ["rejected_signature", "accepted"]
    assert rows(text(developer.get("/console/inbox?provider=monnify"))) == []
    assert rows(text(developer.get("/console/inbox?from=2000-01-01&to=2000-01-02"))) == []
    assert len(rows(text(developer.get("/console/inbox?from=2000-01-01")))) == 3
    bad = developer.get("/console/inbox?verdict=lost&from=yesterday")
    assert bad.status_code == 200
    assert len(rows(text(bad))) == 3
    assert "'lost' is not a verdict" in text(bad) and "'yesterday' is not a day" in text(bad)


def test_the_inbox_pages(app, developer, received, monkeypatch):
    monkeypatch.setattr(inbox_views, "EVENTS_PER_PAGE", 2)
    first = text(developer.get("/console/inbox?verdict=accepted&verdict=rejected_signature&verdict=unrecognized"))
    assert rows(first) == ["unrecognized", "rejected_signature"]
    assert "Page 1 of 2 (3 in all)" in first
    # The next page keeps the filters.
    link = html.unescape(re.search(r'<a href="([^"]+)" rel="next">', first).group(1))
    assert "verdict=unrecognized" in link
    assert rows(text(developer.get(link))) == ["accepted"]
    assert developer.get("/console/inbox?page=abc").status_code == 200
    assert developer.get("/console/inbox?page=99999999999999999999").status_code == 200


def test_an_event_shows_headers_redacted_as_the_rest_inbox_and_its_body(app, client, tenant, developer, received):
    accepted = event_ids(app)["accepted"]
    page = text(developer.get(f"/console/inbox/{accepted}"))
    rest = client.get(f"/api/v1/webhook-events/{accepted}", headers=tenant["headers"]).json
    assert rest["headers"]["Signature"].endswith("…")
    assert f'<code class="wrap">{rest["headers"]["Signature"]}</code>' in page
    assert '"transactionRef": "TRX-0001"' in page
    assert "Replay" in page


def test_replay_goes_through_the_same_operation_and_finds_the_duplicate(app, developer, received):
    ids = event_ids(app)
    detail = f"/console/inbox/{ids['accepted']}"
    done = submit(developer, f"{detail}/replay", {}, form_at=detail)
    assert done.status_code == 302
    replay_page = done.headers["Location"]
    assert "Replayed: duplicate" in flashes(developer, replay_page)
    with app.app_context():
        record = WebhookEvent.get(WebhookEvent.replay_of == ids["accepted"])
        assert record.verdict == "duplicate" and record.source_ip == "replay"
    db.close()

    # A refused request can never be replayed into acceptance.
    refused = f"/console/inbox/{ids['rejected_signature']}"
    assert "Not replayable" in text(developer.get(refused))
    submit(developer, f"{refused}/replay", {}, form_at=refused)
    assert "only authenticated events" in flashes(developer, refused)


def test_bulk_replay_takes_the_filters(app, developer, received):
    done = submit(
        developer, "/console/inbox/replay", {"verdict": ["unrecognized"], "limit": "10"}, form_at="/console/inbox"
    )
    assert done.status_code == 302 and "verdict=unrecognized" in done.headers["Location"]
    assert "Replayed 1 events: 1 unrecognized." in flashes(developer, "/console/inbox")
    nothing = submit(developer, "/console/inbox/replay", {"verdict": ["rejected_signature"]}, form_at="/console/inbox")
    assert nothing.status_code == 302
    assert "Nothing to replay" in flashes(developer, "/console/inbox")
    for limit in ("0", "501", "many"):
        bad = submit(developer, "/console/inbox/replay", {"limit": limit}, form_at="/console/inbox")
        assert bad.status_code == 302
        assert "replay 1 to 500 events at a time" in flashes(developer, "/console/inbox")
    bad_filter = submit(developer, "/console/inbox/replay", {"from": "soon"}, form_at="/console/inbox")
    assert bad_filter.status_code == 302
    assert "Nothing replayed" in flashes(developer, "/console/inbox")
    with app.app_context():
        assert WebhookEvent.select().where(WebhookEvent.replay_of.is_null(False)).count() == 1
    db.close()


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_viewer_and_finance_read_the_inbox_but_cannot_replay(app, tenant, received, role):
    other = signed_in(app, tenant, f"{role}@example.com", role)
    accepted = event_ids(app)["accepted"]
    page = text(other.get(f"/console/inbox/{accepted}"))
    assert '"transactionRef": "TRX-0001"' in page and "Replay" not in page
    for path in (f"/console/inbox/{accepted}/replay", "/console/inbox/replay"):
        assert submit(other, path, {}, form_at="/console/inbox").status_code == 403, path
    with app.app_context():
        assert WebhookEvent.select().where(WebhookEvent.replay_of.is_null(False)).count() == 0
    db.close()


def test_another_tenants_event_is_a_404(app, other_tenant, received):
    outsider = signed_in(app, other_tenant, "other@example.com", "owner")
    accepted = event_ids(app)["accepted"]
    assert outsider.get(f"/console/inbox/{accepted}").status_code == 404
    assert rows(text(outsider.get("/console/inbox"))) == []
