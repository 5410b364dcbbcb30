"""Console Outbound webhooks: the form, edit with reset/keep authentication, delete, test event, delivery log, roles."""

from __future__ import annotations

import base64
import html
import re

import pytest
from standardwebhooks.webhooks import Webhook

from flux_recon.models import Delivery, Subscription, db
from tests.conftest import core_payload
from tests.console_helpers import enrol_second_factor, make_user, sign_in, submit
from tests.receiver import start_receiver


def signed_in(app, tenant, email, role, *, second_factor=True):
    make_user(app, tenant["tenant_id"], email, role)
    client = app.test_client()
    sign_in(client, email)
    if second_factor:
        enrol_second_factor(app, client, email)
    return client


@pytest.fixture
def developer(app, tenant):
    return signed_in(app, tenant, "dev@example.com", "developer")


@pytest.fixture
def private_ok(app):
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True


@pytest.fixture
def receiver():
    running = start_receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def flashes(client, path) -> str:
    page = text(client.get(path))
    found = re.search(r'<div class="flashes".*?</div>', page, re.S)
    return found.group(0) if found else ""


FORM = {
    "label": "Shop front",
    "url": "https://93.184.215.14/hooks/flux-recon",
    "events": ["payment.matched", "order.paid"],
    "auth_type": "basic",
    "username": "flux",
    "password": "pw-123",
    "signature": "signing_key",
}


def add(client, **changes):
    return submit(client, "/console/webhooks", {**FORM, **changes}, form_at="/console/webhooks/new")


def only_subscription(app) -> Subscription:
    with app.app_context():
        row = Subscription.get()
    db.close()
    return row


def test_the_form_adds_a_webhook_and_shows_its_signature_key_once(app, developer):
    form = text(developer.get("/console/webhooks/new"))
    for name in ("label", "url", "username", "password"):
        assert f'<label for="{name}">' in form
    assert form.count('name="events"') >= 9 and 'value="order.paid"' in form
    assert 'name="auth_type" value="none"' in form and 'name="auth_type" value="basic"' in form
    assert 'name="signature" value="none"' in form and 'name="signature" value="signing_key"' in form

    page = add(developer)
    assert page.status_code == 200
    key = re.search(r'id="signing-key" readonly value="(whsec_[^"]+)"', text(page)).group(1)
    row = only_subscription(app)
    assert row.label == "Shop front" and row.events == ["order.paid", "payment.matched"]
    assert row.auth_type == "basic" and row.basic_username == "flux"
    with app.app_context():
        box = app.extensions["secret_box"]
        assert box.decrypt(row.signing_key_encrypted) == key
        assert box.decrypt(row.basic_password_encrypted) == "pw-123"
    db.close()
    detail = text(developer.get(f"/console/webhooks/{row.id}"))
    assert key not in detail and "pw-123" not in detail
    listing = text(developer.get("/console/webhooks"))
    assert "Shop front" in listing and "signature key" in listing


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"url": "https://127.0.0.1/hook"}, "url", "private, loopback"),
        ({"url": "http://93.184.215.14/hook"}, "url", "https"),
        ({"events": []}, "events", "Shorter than minimum length"),
        ({"events": ["payment.matched", "order.teleported"]}, "events", "Must be one of"),
        ({"username": "", "password": ""}, "authentication", "needs a username and a password"),
        ({"label": ""}, "label", "Length must be between 1 and 200"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(app, developer, changes, field, message):
    page = add(developer, **changes)
    assert page.status_code == 422
    body = text(page)
    assert 'role="alert">The webhook was not saved' in body
    errors = re.findall(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', body)
    assert any(message.lower() in e.lower() for e in errors), (errors, body[:200])
    # What was typed is kept (the password never comes back).
    assert 'value="Shop front"' in body or changes.get("label") == ""
    assert "pw-123" not in body
    with app.app_context():
        assert Subscription.select().count() == 0
    db.close()


def test_edit_keeps_the_authentication_unless_it_is_reset(app, developer):
    add(developer)
    row = only_subscription(app)
    edit = f"/console/webhooks/{row.id}/edit"
    form = text(developer.get(edit))
    assert "Keep Current Configuration" in form and "Reset Webhook Authentication" in form
    assert 'value="Shop front"' in form

    kept = submit(
        developer,
        edit,
        {**FORM, "label": "Shop", "events": ["order.paid"], "auth_mode": "keep", "auth_type": "none", "password": ""},
    )
    assert kept.status_code == 302
    assert "authentication kept as it was" in flashes(developer, kept.headers["Location"])
    row = only_subscription(app)
    assert row.label == "Shop" and row.events == ["order.paid"]
    assert row.auth_type == "basic" and row.basic_username == "flux"

    reset = submit(developer, edit, {**FORM, "auth_mode": "reset", "auth_type": "none"})
    assert reset.status_code == 302
    assert "authentication reset" in flashes(developer, reset.headers["Location"])
    row = only_subscription(app)
    assert row.auth_type == "none" and row.basic_username is None and row.basic_password_encrypted is None

    # Resetting to basic needs both parts again.
    half = submit(developer, edit, {**FORM, "auth_mode": "reset", "auth_type": "basic", "password": ""})
    assert half.status_code == 422
    assert only_subscription(app).auth_type == "none"


def test_switching_the_signature_on_shows_a_new_key_and_off_drops_it(app, developer):
    add(developer, signature="none")
    row = only_subscription(app)
    assert row.signing_key_encrypted is None
    edit = f"/console/webhooks/{row.id}/edit"
    page = submit(developer, edit, {**FORM, "auth_mode": "keep", "signature": "signing_key"})
    assert page.status_code == 200 and re.search(r'id="signing-key" readonly value="whsec_', text(page))
    page = submit(developer, f"/console/webhooks/{row.id}/signing-key", {}, form_at=f"/console/webhooks/{row.id}")
    assert page.status_code == 200 and "old one stopped signing" in text(page)
    submit(developer, edit, {**FORM, "auth_mode": "keep", "signature": "none"})
    assert only_subscription(app).signing_key_encrypted is None


def test_delete_asks_first_then_deletes(app, developer):
    add(developer)
    row = only_subscription(app)
    detail = f"/console/webhooks/{row.id}"
    assert re.search(r'data-confirm="Delete the webhook Shop front\?', text(developer.get(detail)))
    done = submit(developer, f"{detail}/delete", {}, form_at=detail)
    assert done.status_code == 302 and done.headers["Location"].endswith("/console/webhooks")
    with app.app_context():
        assert Subscription.select().count() == 0
    db.close()
    assert developer.get(detail).status_code == 404


def test_a_test_event_reaches_a_real_receiver_signed_and_authenticated(app, developer, private_ok, receiver):
    page = add(developer, url=receiver.url, events=["payment.received"])
    key = re.search(r'id="signing-key" readonly value="(whsec_[^"]+)"', text(page)).group(1)
    row = only_subscription(app)
    detail = f"/console/webhooks/{row.id}"
    sent = submit(developer, f"{detail}/test", {}, form_at=detail)
    assert sent.status_code == 302
    assert "Test event delivered: your receiver answered 200" in flashes(developer, detail)
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"flux:pw-123").decode()
    event = Webhook(key).verify(request.body, request.headers)
    assert event["event_type"] == "ping"

    receiver.answer(500, body=b"down for maintenance")
    submit(developer, f"{detail}/test", {}, form_at=detail)
    assert "not delivered: your receiver answered 500" in flashes(developer, detail)


def test_a_private_hook_url_is_refused_when_the_operator_does_not_allow_it(app, developer, receiver):
    page = add(developer, url=receiver.url)
    assert page.status_code == 422
    assert re.search(r'id="url-error">[^<]*(private|loopback|not allowed)', text(page))


def test_the_delivery_log_pages_filters_and_redelivers(app, developer, private_ok, receiver, post_core, create_order):
    add(developer, url=receiver.url, events=["payment.received", "order.paid"])
    row = only_subscription(app)
    create_order("INV-1001")
    for n in range(26):
        post_core(core_payload(row.tenant_id, transactionRef=f"TRX-{n}", paymentRef="INV-1001"))
    with app.app_context():
        total = Delivery.select().count()
        first = Delivery.select().order_by(Delivery.id).first()
        Delivery.update(status="failed", attempts=11).where(Delivery.id == first.id).execute()
    db.close()
    assert total > 25
    detail = f"/console/webhooks/{row.id}"
    page = text(developer.get(detail))
    assert f"Page 1 of 2 ({total} in all)" in page
    failed = text(developer.get(f"{detail}?status=failed"))
    assert failed.count('class="badge failed"') == 1
    assert "Unknown delivery status" in text(developer.get(f"{detail}?status=bogus"))
    assert developer.get(f"{detail}?page=999").status_code == 200

    again = submit(developer, f"{detail}/deliveries/{first.id}/redeliver", {}, form_at=detail)
    assert again.status_code == 302
    with app.app_context():
        redone = Delivery.get_by_id(first.id)
        assert redone.status == "pending" and redone.attempts == 0
    db.close()


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_viewer_and_finance_may_look_but_every_change_is_a_403(app, developer, tenant, role):
    add(developer)
    row = only_subscription(app)
    other = signed_in(app, tenant, f"{role}@example.com", role)
    detail = f"/console/webhooks/{row.id}"
    page = other.get(detail)
    assert page.status_code == 200 and "Send a test event" not in text(page)
    assert other.get("/console/webhooks/new").status_code == 403
    for path in (
        "/console/webhooks",
        f"{detail}/edit",
        f"{detail}/enabled",
        f"{detail}/delete",
        f"{detail}/signing-key",
        f"{detail}/test",
        f"{detail}/deliveries/1/redeliver",
    ):
        refused = submit(other, path, dict(FORM), form_at=detail)
        assert refused.status_code == 403, path
    assert only_subscription(app).label == "Shop front"


def test_turning_off_and_back_on(app, developer):
    add(developer)
    row = only_subscription(app)
    detail = f"/console/webhooks/{row.id}"
    submit(developer, f"{detail}/enabled", {"enabled": "false"}, form_at=detail)
    assert only_subscription(app).enabled is False
    submit(developer, f"{detail}/enabled", {"enabled": "true"}, form_at=detail)
    assert only_subscription(app).enabled is True


def test_another_tenants_webhook_is_a_404(app, developer, other_tenant):
    add(developer)
    row = only_subscription(app)
    outsider = signed_in(app, other_tenant, "other@example.com", "owner")
    assert outsider.get(f"/console/webhooks/{row.id}").status_code == 404
    assert outsider.get(f"/console/webhooks/{row.id}/edit").status_code == 404
    submit(outsider, f"/console/webhooks/{row.id}/delete", {}, form_at="/console/webhooks")
    assert only_subscription(app).id == row.id


def test_without_two_factor_the_section_asks_to_set_it_up(app, tenant):
    client = signed_in(app, tenant, "new@example.com", "owner", second_factor=False)
    response = client.get("/console/webhooks")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/account/2fa?next=/console/webhooks")
