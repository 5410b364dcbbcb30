"""Settlement pulls from provider APIs, against a real local HTTP server: retries, timeouts, refused keys, state."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest

import flux_recon_monnify
import flux_recon_paystack
from flux_recon import ProviderApiError, ProviderAuthRefused, ProviderUnavailable
from flux_recon.cli import cli
from flux_recon.models import Payment, utcnow
from flux_recon.models.settlement import Settlement, SettlementLine
from flux_recon.outbound.provider_api import HttpSession
from flux_recon.services import settlement_pulls
from flux_recon_monnify.provider import MonnifyProvider
from tests.conftest import close_app, make_app
from tests.monnify_settlements import transactions_answer
from tests.provider_api_server import (
    fake_provider_api,
    monnify_login,
    paystack_payout,
    paystack_settlements,
    paystack_transactions,
)

FIND = "/api/v1/transactions/find-by-settlement-reference"


@pytest.fixture
def api():
    with fake_provider_api() as fake:
        yield fake


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setenv("FLUX_RECON_PROVIDER_API_LOOPBACK", "1")


def no_sleep(seconds):
    return None


# --- the HTTP session --------------------------------------------------------------------


def test_a_500_is_retried_and_the_next_answer_used(api, loopback):
    api.answer("GET", "/x", (500, {"error": "busy"}), {"ok": 1.5})
    waits = []
    with HttpSession(api.url, sleep=waits.append) as session:
        answer = session.get_json("/x")
    assert answer == {"ok": pytest.approx(1.5)} and str(answer["ok"]) == "1.5"  # a Decimal, exact
    assert api.paths() == ["/x", "/x"] and waits == [0.5]


def test_a_500_every_time_gives_up_after_the_retries(api, loopback):
    api.answer("GET", "/x", (503, {}))
    with HttpSession(api.url, retries=2, sleep=no_sleep) as session, pytest.raises(ProviderUnavailable) as error:
        session.get_json("/x")
    assert "HTTP 503 after 3 attempts" in error.value.message and len(api.paths()) == 3


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_not_retried(api, loopback, status):
    api.answer("GET", "/x", (status, {"message": "Invalid key"}))
    with HttpSession(api.url, sleep=no_sleep) as session, pytest.raises(ProviderAuthRefused):
        session.get_json("/x")
    assert api.paths() == ["/x"]


def test_a_slow_answer_times_out(api, loopback):
    api.answer("GET", "/slow", (200, {"late": True}, 2.0))
    with HttpSession(api.url, read_timeout=0.3, retries=1, sleep=no_sleep) as session:
        with pytest.raises(ProviderUnavailable) as error:
            session.get_json("/slow")
    assert "timed out" in error.value.message


def test_loopback_needs_the_operators_opt_in(api):
    with pytest.raises(ProviderApiError) as error:
        HttpSession(api.url)
    assert "FLUX_RECON_PROVIDER_API_LOOPBACK" in error.value.message


@pytest.mark.parametrize("url", ["http://api.example.com", "https://10.0.0.7", "https://169.254.169.254/latest"])
def test_plain_http_and_private_addresses_are_refused(loopback, url):
    with pytest.raises(ProviderApiError):
        HttpSession(url)


# --- pulls through the service -----------------------------------------------------------


@pytest.fixture
def app(database_url, loopback):
    app = make_app(database_url, plugins=[flux_recon_monnify, flux_recon_paystack])
    yield app
    close_app(app)


def enable(client, tenant, provider, api_url, secrets):
    response = client.post(
        "/api/v1/integrations",
        json={"provider": provider, "options": {"api_base_url": api_url}},
        headers=tenant["headers"],
    )
    assert response.status_code == 201, response.json
    integration = response.json
    for name, value in secrets.items():
        put = client.put(
            f"/api/v1/integrations/{integration['id']}/secrets/{name}", json={"value": value}, headers=tenant["headers"]
        )
        assert put.status_code == 200, put.json
    allowed = client.post(
        f"/api/v1/integrations/{integration['id']}/allowlist", json={"cidr": "127.0.0.1/32"}, headers=tenant["headers"]
    )
    assert allowed.status_code == 201
    integration["path"] = "/" + integration["webhook_url"].split("://", 1)[1].split("/", 1)[1]
    return integration


def pull(app, tenant, integration, **window):
    extensions = app.extensions
    return settlement_pulls.pull_integration(
        tenant["tenant_id"],
        integration["id"],
        providers=extensions["providers"],
        engine=extensions["engine"],
        plugin_manager=extensions["plugin_manager"],
        secret_box=extensions["secret_box"],
        **window,
    )


MONNIFY_SECRETS = {"api_key": "MK_TEST_SAF7HR5F3F", "client_secret": "4SY6TNL8CK3VPRSBTHTRG2N8XXEGC6NL"}


def test_monnify_pull_fetches_the_lines_of_a_settlement_known_from_its_webhook(app, client, tenant, api, create_order):
    integration = enable(client, tenant, "monnify", api.url, MONNIFY_SECRETS)
    create_order(reference="INV-1002", amount="10000.00")
    header_only = MonnifyProvider.sample_payloads()["settlement_header_only"]
    body = json.dumps(header_only).encode()
    signature = hmac.new(MONNIFY_SECRETS["client_secret"].encode(), body, hashlib.sha512).hexdigest()
    posted = client.post(
        integration["path"], data=body, headers={"Content-Type": "application/json", "monnify-signature": signature},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )  # fmt: skip
    assert posted.json["status"] == "accepted"
    api.answer("POST", "/api/v1/auth/login", monnify_login("tok-1"))
    api.answer("GET", FIND, transactions_answer([("MNFY|04|20261123|000171", "INV-1002", "10000.00", "25.00")]))

    result = pull(app, tenant, integration)
    assert result.status == "ok", result.error
    assert result.summary["payments_recovered"] == 1
    (settlement,) = Settlement.select()
    assert (settlement.reference, settlement.status, sorted(settlement.sources)) == (
        "KQ2ZB7TR9PLM3XW4NC8D",
        "reconciled",
        ["api", "webhook"],
    )
    assert (settlement.gross_minor, settlement.fees_minor, settlement.net_minor) == (1000000, 2500, 997500)
    assert client.get("/api/v1/orders", headers=tenant["headers"]).json[0]["status"] == "paid"
    (line,) = SettlementLine.select()
    assert (line.transaction_id, line.amount_minor, line.fee_minor) == ("MNFY|04|20261123|000171", 1000000, 2500)
    # The login used Basic apiKey:secretKey, the transactions call the bearer token it returned.
    login = next(r for r in api.requests if r[1] == "/api/v1/auth/login")
    assert login[3]["Authorization"].startswith("Basic ")
    find = next(r for r in api.requests if r[1] == FIND)
    assert find[3]["Authorization"] == "Bearer tok-1"
    assert find[2]["reference"] == ["KQ2ZB7TR9PLM3XW4NC8D"]

    state = client.get(f"/api/v1/integrations/{integration['id']}/settlement-pulls", headers=tenant["headers"]).json
    assert (state["status"], state["credentials_set"], state["failures"]) == ("ok", True, 0)
    assert state["last_success_at"] is not None


def test_paystack_pull_records_each_payout_with_its_transactions(app, client, tenant, api, create_order):
    integration = enable(client, tenant, "paystack", api.url, {"secret_key": "sk_test_pull"})
    create_order(reference="T-1", amount="15000.00")
    api.answer("GET", "/settlement", paystack_settlements(
        paystack_payout(3090024, "2026-11-23", 2000000, 50000), paystack_payout(3090025, "2026-11-24", 1, 0, "pending")
    ))  # fmt: skip
    api.answer(
        "GET",
        "/settlement/3090024/transactions",
        paystack_transactions(("T-1", 1500000, 37500), ("T-2", 500000, 12500)),
    )  # noqa: E501

    until = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    result = pull(app, tenant, integration, since=until - dt.timedelta(days=3), until=until)
    assert result.status == "ok", result.error
    (settlement,) = Settlement.select()  # the pending payout is not recorded yet
    assert settlement.reference == "2026-11-23/NGN"
    assert (settlement.gross_minor, settlement.fees_minor, settlement.net_minor) == (2000000, 50000, 1950000)
    assert settlement.status == "reconciled"
    assert Payment.select().count() == 2  # both recovered: no webhook came
    (listing,) = [r for r in api.requests if r[1] == "/settlement"]
    assert listing[3]["Authorization"] == "Bearer sk_test_pull"
    assert listing[2]["from"] == ["2026-11-22T00:00:00+00:00"] and listing[2]["to"] == ["2026-11-25T00:00:00+00:00"]

    # Pulled again: one settlement, nothing new.
    again = pull(app, tenant, integration, since=until - dt.timedelta(days=3), until=until)
    assert again.summary["lines_added"] == 0 and again.summary["lines_known"] == 2
    assert Settlement.select().count() == 1


def test_refused_keys_mark_the_pull_and_stop_the_schedule_until_they_change(app, client, tenant, api):
    integration = enable(client, tenant, "paystack", api.url, {"secret_key": "sk_test_revoked"})
    api.answer("GET", "/settlement", (401, {"status": False, "message": "Invalid key"}))
    providers, secret_box = app.extensions["providers"], app.extensions["secret_box"]
    every = dt.timedelta(seconds=60)
    assert [i.id for i in settlement_pulls.due_integrations(providers, secret_box, every=every, now=utcnow())] == [
        integration["id"]
    ]

    result = pull(app, tenant, integration)
    assert (result.status, "HTTP 401" in result.error) == ("credentials_refused", True)
    assert api.paths() == ["/settlement"]  # asked once, not hammered
    state = client.get(f"/api/v1/integrations/{integration['id']}/settlement-pulls", headers=tenant["headers"]).json
    assert (state["status"], state["failures"]) == ("credentials_refused", 1)
    assert state["failing_since"] is not None and "401" in state["last_error"]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'flux_recon_settlement_pulls_failing{provider="paystack",status="credentials_refused"} 1.0' in metrics

    later = utcnow() + dt.timedelta(days=2)
    assert settlement_pulls.due_integrations(providers, secret_box, every=every, now=later) == []
    client.put(
        f"/api/v1/integrations/{integration['id']}/secrets/secret_key",
        json={"value": "sk_test_new"},
        headers=tenant["headers"],
    )
    assert [i.id for i in settlement_pulls.due_integrations(providers, secret_box, every=every, now=utcnow())] == [
        integration["id"]
    ]
    api.answer("GET", "/settlement", paystack_settlements())
    assert pull(app, tenant, integration).status == "ok"
    state = client.get(f"/api/v1/integrations/{integration['id']}/settlement-pulls", headers=tenant["headers"]).json
    assert (state["status"], state["failing_since"], state["last_error"]) == ("ok", None, None)


def test_a_provider_outage_backs_off(app, client, tenant, api, monkeypatch):
    monkeypatch.setattr("flux_recon.outbound.provider_api.time.sleep", no_sleep)
    integration = enable(client, tenant, "paystack", api.url, {"secret_key": "sk_test_outage"})
    api.answer("GET", "/settlement", (502, {}))
    now = utcnow()
    result = pull(app, tenant, integration, now=now)
    assert result.status == "failing" and "HTTP 502" in result.error
    providers, secret_box = app.extensions["providers"], app.extensions["secret_box"]
    every = dt.timedelta(seconds=1)
    soon = now + dt.timedelta(minutes=1)
    assert settlement_pulls.due_integrations(providers, secret_box, every=every, now=soon) == []
    assert settlement_pulls.due_integrations(providers, secret_box, every=every, now=now + dt.timedelta(minutes=6))


def test_no_pull_without_credentials_and_the_api_says_so(app, client, tenant, api):
    integration = enable(client, tenant, "paystack", api.url, {})
    response = client.post(f"/api/v1/integrations/{integration['id']}/settlement-pulls", headers=tenant["headers"])
    assert response.status_code == 422 and "secret_key" in response.json["message"]
    state = client.get(f"/api/v1/integrations/{integration['id']}/settlement-pulls", headers=tenant["headers"]).json
    assert (state["supported"], state["credentials_set"], state["status"]) == (True, False, None)


def test_an_api_base_url_is_checked_when_saved(app, client, tenant, monkeypatch):
    monkeypatch.delenv("FLUX_RECON_PROVIDER_API_LOOPBACK")
    response = client.post(
        "/api/v1/integrations",
        json={"provider": "paystack", "options": {"api_base_url": "http://127.0.0.1:9"}},
        headers=tenant["headers"],
    )
    assert response.status_code == 422
    assert "FLUX_RECON_PROVIDER_API_LOOPBACK" in json.dumps(response.json["errors"])


def test_the_cli_pulls_once(app, client, tenant, api, runner):
    integration = enable(client, tenant, "paystack", api.url, {"secret_key": "sk_test_cli"})
    api.answer("GET", "/settlement", paystack_settlements(paystack_payout(7, "2026-11-23", 500000, 7500)))
    api.answer("GET", "/settlement/7/transactions", paystack_transactions(("C-1", 500000, 7500)))
    result = runner.invoke(
        cli, ["settlements", "pull", "--integration", str(integration["id"]), "--since", "2026-11-20T00:00:00Z"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["summary"]["lines_added"] == 1


def test_pulled_lines_that_do_not_add_up_to_the_webhooks_amount_are_a_break(app, client, tenant, api):
    integration = enable(client, tenant, "monnify", api.url, MONNIFY_SECRETS)
    body = json.dumps(MonnifyProvider.sample_payloads()["settlement_header_only"]).encode()  # amount 9975.00
    signature = hmac.new(MONNIFY_SECRETS["client_secret"].encode(), body, hashlib.sha512).hexdigest()
    client.post(
        integration["path"], data=body, headers={"Content-Type": "application/json", "monnify-signature": signature},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )  # fmt: skip
    api.answer("POST", "/api/v1/auth/login", monnify_login())
    api.answer("GET", FIND, transactions_answer([("MNFY|04|20261123|000172", "INV-9", "10000.00", "30.00")]))
    assert pull(app, tenant, integration).status == "ok"
    (settlement,) = Settlement.select()
    assert settlement.status == "with_breaks"
    breaks = client.get(f"/api/v1/settlements/{settlement.id}/breaks", headers=tenant["headers"]).json
    assert [(b["kind"], b["settlement_value"], b["ledger_value"]) for b in breaks] == [
        ("totals_differ", "9975.00", "9970.00")
    ]


def test_another_tenants_integration_is_404(app, client, tenant, other_tenant, api):
    integration = enable(client, tenant, "paystack", api.url, {"secret_key": "sk_test_mine"})
    path = f"/api/v1/integrations/{integration['id']}/settlement-pulls"
    assert client.get(path, headers=other_tenant["headers"]).status_code == 404
    assert client.post(path, headers=other_tenant["headers"]).status_code == 404
    assert api.requests == []


# --- one transaction's status ------------------------------------------------------------


def test_monnify_transaction_status_is_a_payment_notice(api, loopback):
    from flux_recon_monnify.provider import MonnifyProvider

    transaction_id = "MNFY|04|20261123|000171"
    api.answer("POST", "/api/v1/auth/login", monnify_login("tok-2"))
    api.answer(
        "GET",
        "/api/v2/transactions/MNFY%7C04%7C20261123%7C000171",
        {
            "requestSuccessful": True,
            "responseMessage": "success",
            "responseCode": "0",
            "responseBody": {
                "transactionReference": transaction_id,
                "paymentReference": "INV-1002",
                "amountPaid": "10000.00",
                "totalPayable": "10000.00",
                "settlementAmount": "9975.00",
                "paidOn": "23/11/2026 09:18:42 AM",
                "paymentStatus": "PAID",
                "paymentMethod": "ACCOUNT_TRANSFER",
                "currencyCode": "NGN",
                "customer": {"email": "ada@example.com", "name": "Ada Obi"},
            },
        },
    )
    with HttpSession(api.url) as session:
        notice = MonnifyProvider.settlement_api.fetch_transaction(session, MONNIFY_SECRETS, {}, transaction_id)
    assert (notice.external_id, str(notice.amount), notice.status.value, notice.references) == (
        transaction_id,
        "10000.00",
        "succeeded",
        ("INV-1002",),
    )
    assert notice.occurred_at == dt.datetime(2026, 11, 23, 8, 18, 42, tzinfo=dt.UTC)
    assert api.requests[1][3]["Authorization"] == "Bearer tok-2"


def test_paystack_transaction_status_is_a_payment_notice_and_an_unknown_one_none(api, loopback):
    from flux_recon_paystack.provider import PaystackProvider

    api.answer(
        "GET",
        "/transaction/verify/T-77",
        {
            "status": True,
            "message": "Verification successful",
            "data": {
                "reference": "T-77",
                "amount": 1500000,
                "currency": "NGN",
                "status": "success",
                "channel": "card",
                "paid_at": "2026-11-22T09:15:03.000Z",
                "customer": {"email": "ada@example.com"},
            },
        },
    )
    credentials = {"secret_key": "sk_test_verify"}
    with HttpSession(api.url) as session:
        notice = PaystackProvider.settlement_api.fetch_transaction(session, credentials, {}, "T-77")
        unknown = PaystackProvider.settlement_api.fetch_transaction(session, credentials, {}, "T-404")
    assert (notice.external_id, str(notice.amount), notice.status.value) == ("T-77", "15000.00", "succeeded")
    assert unknown is None
