"""POST /webhooks/core/<token>: every answer a provider can get, and what each one leaves behind."""

import json

import pytest

from flux_recon import hookimpl
from flux_recon.models import Payment, WebhookEvent, db
from flux_recon.web.client_ip import parse_networks
from tests.conftest import close_app, core_payload, core_signature, make_app


def inbox(app):
    with app.app_context():
        rows = list(WebhookEvent.select().order_by(WebhookEvent.id))
    db.close()
    return rows


def payments(client, tenant, **query):
    return client.get("/api/v1/payments", query_string=query, headers=tenant["headers"]).json


def order(client, tenant, order_id):
    return client.get(f"/api/v1/orders/{order_id}", headers=tenant["headers"]).json


def assert_error(response, status):
    assert response.status_code == status, response.json
    assert response.json["code"] == status
    assert response.json["message"]
    assert response.json["status"]


def test_accepted_webhook_is_recorded_with_its_payment(app, tenant, create_order, post_core):
    create_order()
    response = post_core(core_payload(tenant["tenant_id"]))
    assert response.json["status"] == "accepted"
    (event,) = inbox(app)
    assert event.verdict == "accepted"
    assert event.http_status == 200
    assert event.payment_id == response.json["payment_id"]
    assert event.source_ip == "127.0.0.1"
    assert event.credential_id is not None
    assert json.loads(bytes(event.body))["transactionRef"] == "TRX-0001"
    # The signature is kept only in redacted form.
    assert event.headers["Signature"].endswith("…")
    assert len(event.headers["Signature"]) < 10


def test_duplicate_changes_nothing(client, app, tenant, create_order, post_core):
    created = create_order()
    first = post_core(core_payload(tenant["tenant_id"]))
    second = post_core(core_payload(tenant["tenant_id"]))
    assert second.status_code == 200
    assert second.json["status"] == "duplicate"
    assert second.json["payment_id"] == first.json["payment_id"]
    assert order(client, tenant, created["id"])["amount_paid"] == "15000.00"
    assert len(payments(client, tenant)) == 1
    assert [e.verdict for e in inbox(app)] == ["accepted", "duplicate"]


def test_two_payments_part_pay_then_pay_then_overpay(client, tenant, create_order, post_core):
    created = create_order(amount="100.00")
    post_core(core_payload(tenant["tenant_id"], transactionRef="T1", amount="40.00"))
    assert order(client, tenant, created["id"])["status"] == "partially_paid"
    post_core(core_payload(tenant["tenant_id"], transactionRef="T2", amount="60.00"))
    shown = order(client, tenant, created["id"])
    assert (shown["status"], shown["outstanding"]) == ("paid", "0.00")
    post_core(core_payload(tenant["tenant_id"], transactionRef="T3", amount="5.50"))
    shown = order(client, tenant, created["id"])
    assert (shown["status"], shown["amount_paid"], shown["overpaid"]) == ("overpaid", "105.50", "5.50")


def test_reference_matching_is_trimmed_and_case_insensitive(client, tenant, create_order, post_core):
    created = create_order(reference="inv-77", payment_reference="PAY-77")
    response = post_core(core_payload(tenant["tenant_id"], transactionRef="T1", paymentRef="  Pay-77 "))
    assert response.json["reconciliation"] == "matched"
    assert order(client, tenant, created["id"])["status"] == "paid"


def test_payment_for_no_order_is_unmatched(client, tenant, post_core):
    response = post_core(core_payload(tenant["tenant_id"], paymentRef="NOPE"))
    assert response.json["reconciliation"] == "unmatched"
    (payment,) = payments(client, tenant, reconciliation="unmatched")
    assert payment["allocations"] == []


def test_currency_mismatch_is_an_exception_not_applied(client, tenant, create_order, post_core):
    created = create_order(currency="USD", amount="100.00")
    response = post_core(core_payload(tenant["tenant_id"], amount="100.00", currency="NGN"))
    assert response.json["reconciliation"] == "exception"
    assert order(client, tenant, created["id"])["status"] == "open"


def test_payment_to_a_cancelled_order_is_an_exception(client, tenant, create_order, post_core):
    created = create_order()
    assert client.post(f"/api/v1/orders/{created['id']}/cancel", headers=tenant["headers"]).status_code == 200
    response = post_core(core_payload(tenant["tenant_id"]))
    assert response.json["reconciliation"] == "exception"
    assert order(client, tenant, created["id"])["amount_paid"] == "0.00"


def test_failed_payment_is_recorded_and_not_allocated(client, tenant, create_order, post_core):
    created = create_order()
    response = post_core(core_payload(tenant["tenant_id"], status="failed"))
    assert response.json["reconciliation"] == "not_applicable"
    assert order(client, tenant, created["id"])["status"] == "open"


def test_pending_then_succeeded_is_applied_once(client, tenant, create_order, post_core):
    created = create_order()
    assert post_core(core_payload(tenant["tenant_id"], status="pending")).json["reconciliation"] == "not_applicable"
    assert post_core(core_payload(tenant["tenant_id"], status="successful")).json["status"] == "accepted"
    again = post_core(core_payload(tenant["tenant_id"], status="successful"))
    assert again.json["status"] == "duplicate"
    assert order(client, tenant, created["id"])["amount_paid"] == "15000.00"


def test_key_colon_secret_signature_is_accepted(tenant, create_order, post_core, core_integration):
    create_order()
    payload = core_payload(tenant["tenant_id"])
    body = json.dumps(payload).encode()
    signature = core_signature(body, core_integration["secret"], key=core_integration["key"])
    response = post_core(payload, body=body, signature=signature)
    assert response.json["status"] == "accepted"


def test_unknown_token_is_404_and_not_recorded(app, post_core, tenant):
    response = post_core(core_payload(tenant["tenant_id"]), path="/webhooks/core/not-a-token")
    assert_error(response, 404)
    assert inbox(app) == []


def test_token_of_another_provider_is_404(post_core, core_integration, tenant):
    path = core_integration["path"].replace("/core/", "/monnify/")
    assert_error(post_core(core_payload(tenant["tenant_id"]), path=path), 404)


def test_disabled_integration_is_404(client, tenant, post_core, core_integration):
    assert client.delete(f"/api/v1/integrations/{core_integration['id']}", headers=tenant["headers"]).status_code == 204
    assert_error(post_core(core_payload(tenant["tenant_id"])), 404)


def test_address_not_on_the_allowlist_is_403(app, tenant, post_core):
    response = post_core(core_payload(tenant["tenant_id"]), environ={"REMOTE_ADDR": "127.0.0.9"})
    assert_error(response, 403)
    (event,) = inbox(app)
    assert (event.verdict, event.source_ip) == ("rejected_address", "127.0.0.9")


def test_forged_forwarded_for_does_not_pass_the_allowlist(tenant, post_core):
    response = post_core(
        core_payload(tenant["tenant_id"]),
        environ={"REMOTE_ADDR": "127.0.0.9"},
        headers={"X-Forwarded-For": "127.0.0.1"},
    )
    assert_error(response, 403)


@pytest.mark.parametrize("signature", [False, "", "bm90IGl0", core_signature(b"other body", "fs_x")])
def test_missing_or_wrong_signature_is_401(app, tenant, post_core, signature):
    assert_error(post_core(core_payload(tenant["tenant_id"]), signature=signature), 401)
    assert inbox(app)[0].verdict == "rejected_signature"


def test_signature_from_another_integration_is_401(client, other_tenant, tenant, post_core):
    other = client.post("/api/v1/integrations", json={"provider": "core"}, headers=other_tenant["headers"]).json
    assert_error(post_core(core_payload(tenant["tenant_id"]), secret=other["credentials"][0]["secret"]), 401)


def test_malformed_json_is_400(app, post_core):
    assert_error(post_core(None, body=b'{"tenantId": '), 400)
    assert inbox(app)[0].verdict == "invalid_payload"


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{}", b'{"amount": NaN}', b'{"a": 1, "a": 2}', b"[" * 100000],
    ids=["invalid-utf8", "nan", "duplicate-keys", "deep-nesting"],
)
def test_bodies_json_cannot_read_exactly_are_400(post_core, body):
    assert_error(post_core(None, body=body), 400)


def test_not_json_content_type_is_415(tenant, post_core):
    body = json.dumps(core_payload(tenant["tenant_id"])).encode()
    assert_error(post_core(None, body=body, headers={"Content-Type": "text/plain"}), 415)


def test_schema_errors_are_422_with_field_messages(post_core, tenant):
    response = post_core(core_payload(tenant["tenant_id"], amount="12.345", transactionRef=None))
    assert_error(response, 422)
    assert set(response.json["errors"]) == {"amount", "transactionRef"}


def test_tenant_id_of_another_tenant_is_refused(app, client, tenant, other_tenant, create_order, post_core):
    created = create_order()
    response = post_core(core_payload(other_tenant["tenant_id"]))
    assert_error(response, 422)
    assert "tenantId" in response.json["errors"]
    assert order(client, tenant, created["id"])["status"] == "open"
    assert inbox(app)[0].verdict == "invalid_payload"


def test_oversized_body_is_413(app, tenant, post_core):
    big = core_payload(tenant["tenant_id"], note="x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert_error(post_core(big), 413)
    assert inbox(app)[0].verdict == "invalid_payload"


def test_committed_events_reach_plugins_after_commit(database_url):
    seen = []

    class Recorder:
        @hookimpl
        def flux_recon_event(self, event):
            with app.app_context():
                # Visible to a fresh query: the hook runs after the commit.
                seen.append((event["event_type"], Payment.select().count()))

    from flux_recon_core import provider as core_module

    class CorePlugin:
        @hookimpl
        def flux_recon_register_providers(self, register):
            register(core_module.CoreProvider)

    app = make_app(database_url, plugins=[CorePlugin(), Recorder()])
    try:
        client = app.test_client()
        from flux_recon.services.tenants import create_tenant

        with app.app_context():
            tenant_row, key = create_tenant("Events")
        db.close()
        headers = {"Authorization": f"Bearer {key}"}
        integration = client.post("/api/v1/integrations", json={"provider": "core"}, headers=headers).json
        client.post(f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": "127.0.0.1"}, headers=headers)
        client.post(
            "/api/v1/orders", json={"reference": "INV-1001", "amount": "15000.00", "currency": "NGN"}, headers=headers
        )
        body = json.dumps(core_payload(tenant_row.id)).encode()
        path = "/" + integration["webhook_url"].split("/", 3)[3]
        response = client.post(
            path,
            data=body,
            headers={
                "Content-Type": "application/json",
                "Signature": core_signature(body, integration["credentials"][0]["secret"]),
            },
        )
        assert response.status_code == 200, response.json
        assert [name for name, _ in seen] == ["payment.received", "payment.matched", "order.paid"]
        assert all(count == 1 for _, count in seen)
    finally:
        close_app(app)


def test_inbox_keeps_a_capped_body(app, tenant, create_order, post_core):
    app.config["WEBHOOK_INBOX_BODY_LIMIT"] = 64
    create_order()
    post_core(core_payload(tenant["tenant_id"]))
    (event,) = inbox(app)
    assert len(bytes(event.body)) == 64
    assert event.body_truncated
    assert event.body_size > 64


def test_adapter_crash_on_odd_input_is_422_not_500(database_url, monkeypatch):
    from flux_recon_core import provider as core_module

    def explode(self, webhook):
        raise KeyError("surprise")

    monkeypatch.setattr(core_module.CoreProvider, "parse", explode)
    app = make_app(database_url)
    try:
        from flux_recon.services.tenants import create_tenant

        with app.app_context():
            tenant_row, key = create_tenant("Crash")
        db.close()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        integration = client.post("/api/v1/integrations", json={"provider": "core"}, headers=headers).json
        client.post(f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": "127.0.0.1"}, headers=headers)
        body = json.dumps(core_payload(tenant_row.id)).encode()
        response = client.post(
            "/" + integration["webhook_url"].split("/", 3)[3],
            data=body,
            headers={
                "Content-Type": "application/json",
                "Signature": core_signature(body, integration["credentials"][0]["secret"]),
            },
        )
        assert_error(response, 422)
    finally:
        close_app(app)


def test_a_duplicate_that_differs_is_noted_in_the_inbox(app, tenant, create_order, post_core):
    create_order()
    post_core(core_payload(tenant["tenant_id"]))
    changed = post_core(core_payload(tenant["tenant_id"], amount="14000.00"))
    assert changed.json["status"] == "duplicate"
    assert "differs" in inbox(app)[-1].reason
    post_core(core_payload(tenant["tenant_id"]))
    assert inbox(app)[-1].reason is None


def test_a_trusted_proxy_forwards_the_client_address(app, tenant, create_order, post_core):
    app.extensions["webhook_handler"].trusted_proxies = parse_networks(["127.0.0.1/32"])
    create_order()
    # Behind our proxy: the right-most untrusted address is the client, and it is allowed.
    forwarded = post_core(core_payload(tenant["tenant_id"]), headers={"X-Forwarded-For": "203.0.113.7, 127.0.0.1"})
    assert forwarded.status_code == 403  # 203.0.113.7 is not on the allow-list
    assert inbox(app)[-1].source_ip == "203.0.113.7"
    # A peer that is not a trusted proxy cannot claim an allowed address.
    spoofed = post_core(
        core_payload(tenant["tenant_id"]),
        environ={"REMOTE_ADDR": "127.0.0.9"},
        headers={"X-Forwarded-For": "127.0.0.1"},
    )
    assert spoofed.status_code == 403
    assert inbox(app)[-1].source_ip == "127.0.0.9"
