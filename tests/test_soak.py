"""A bounded soak (`make soak`; CI runs it for 2 minutes): steady mixed traffic from all four
providers through real gunicorn, with duplicates, refunds, bad signatures and garbage mixed
in; then an invariant check over the whole database. Skipped unless FLUX_RECON_SOAK_SECONDS
is set."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
from collections import Counter

import pytest

from flux_recon import create_app
from flux_recon.models import Allocation, OutboundEvent, Payment, SalesOrder, WebhookEvent, db, reference_key
from flux_recon.reconciliation import derive_status
from flux_recon_core.provider import CoreProvider
from flux_recon_fuspay.provider import FuspayProvider
from flux_recon_monnify.provider import MonnifyProvider
from flux_recon_opay.provider import OpayProvider
from tests.conftest import POSTGRES_URL, core_payload
from tests.live_server import BIN_DIR, REPO_ROOT, create_tenant, live_server, request
from tests.receiver import start_receiver

SECONDS = float(os.environ.get("FLUX_RECON_SOAK_SECONDS", "0"))
RATE = 25  # requests per second, steady
SECRETS = {
    "core": None,  # generated when the integration is enabled
    "monnify": {"client_secret": "soak-monnify"},
    "opay": {"secret_key": "soak-opay"},
    "fuspay": {"merchant_secret": "soak-m", "partner_secret": "soak-p"},
}
PROVIDERS = {"core": CoreProvider, "monnify": MonnifyProvider, "opay": OpayProvider, "fuspay": FuspayProvider}
# One cycle of the mix: mostly payments, with a duplicate, a refund, a forgery and garbage.
MIX = ["pay", "pay", "pay", "duplicate", "pay", "bad_signature", "pay", "refund", "pay", "garbage"]

pytestmark = [pytest.mark.soak, pytest.mark.skipif(not SECONDS, reason="set FLUX_RECON_SOAK_SECONDS (make soak)")]


def payment_payload(provider: str, n: int, reference: str, tenant_id: str) -> dict:
    if provider == "core":
        return core_payload(tenant_id, transactionRef=f"C{n}", paymentRef=reference, amount="100.00")
    if provider == "monnify":
        payload = copy.deepcopy(MonnifyProvider.sample_payloads()["card_payment"])
        data = payload["eventData"]
        data.update(
            transactionReference=f"M{n}",
            paymentReference=reference,
            amountPaid="100.00",
            totalPayable="100.00",
            settlementAmount="98.50",
        )
        data["product"]["reference"] = reference
        return payload
    if provider == "opay":
        payload = copy.deepcopy(OpayProvider.sample_payloads()["checkout_payment"])
        payload.pop("sha512", None)
        payload["payload"].update(transactionId=f"O{n}", reference=reference, amount="10000", fee="150")
        return payload
    payload = copy.deepcopy(FuspayProvider.sample_payloads()["paid_completed"])
    payload.pop("signature", None)
    payload["data"]["order_details"].update(intrapay_order_reference=f"F{n}", partner_order_id=reference)
    payload["data"]["payment"]["virtual_account"]["amount"] = "100.00"
    return payload


def monnify_refund(n: int, paid: int) -> dict:
    payload = copy.deepcopy(MonnifyProvider.sample_payloads()["refund"])
    payload["eventData"].update(transactionReference=f"M{paid}", refundReference=f"MR{n}", refundAmount="100.00")
    return payload


def soak_database_url(tmp_path) -> str:
    return POSTGRES_URL or f"sqlite:///{tmp_path / 'soak.sqlite3'}"


def test_soak_keeps_the_books_balanced(tmp_path):
    url = soak_database_url(tmp_path)
    receiver = start_receiver()
    settings = {
        "ALLOW_PRIVATE_DESTINATIONS": "true",
        "WEBHOOK_RATE_LIMIT_PER_ADDRESS": "100000 per minute",
        "WEBHOOK_RATE_LIMIT_PER_INTEGRATION": "100000 per minute",
        "API_RATE_LIMIT_PER_ADDRESS": "100000 per minute",
        "API_RATE_LIMIT_PER_KEY": "100000 per minute",
    }
    sent, answers = Counter(), Counter()
    try:
        with live_server(url, tmp_path, workers=2, settings=settings) as server:
            env = server.env
            tenant = create_tenant(server, "Soak")
            auth = {"Authorization": f"Bearer {tenant['api_key']}", "Content-Type": "application/json"}

            def api(method, path, body=None):
                return request(server.port, method, path, json.dumps(body).encode() if body else None, auth)

            paths, secrets = {}, {}
            for provider in PROVIDERS:
                integration = api("POST", "/api/v1/integrations", {"provider": provider}).json
                api("POST", f"/api/v1/integrations/{integration['id']}/allowlist", {"cidr": "127.0.0.0/8"})
                for name, value in (SECRETS[provider] or {}).items():
                    api("PUT", f"/api/v1/integrations/{integration['id']}/secrets/{name}", {"value": value})
                secrets[provider] = SECRETS[provider] or {"api": integration["credentials"][0]["secret"]}
                paths[provider] = "/" + integration["webhook_url"].split("/", 3)[3]
            api(
                "POST",
                "/api/v1/subscriptions",
                {
                    "label": "soak",
                    "url": receiver.url,
                    "events": ["payment.received", "payment.matched", "payment.refunded", "order.paid"],
                    "authentication": {"type": "none"},
                    "signature": {"type": "signing_key"},
                },
            )

            steps = int(SECONDS * RATE)
            orders_needed = steps  # at most one order per step
            store = create_app({"DATABASE_URL": url, "SECRET_KEY": env["FLUX_RECON_SECRET_KEY"]})
            with store.app_context():
                SalesOrder.insert_many(
                    [
                        {
                            "tenant": tenant["tenant_id"],
                            "reference": f"S-{i}",
                            "reference_key": reference_key(f"S-{i}"),
                            "amount_minor": 10000,
                            "currency": "NGN",
                        }
                        for i in range(orders_needed)
                    ]
                ).execute()
            db.close()

            providers = list(PROVIDERS)
            last_sent: dict[str, tuple[str, bytes, dict]] = {}
            monnify_paid: list[int] = []
            started = time.monotonic()
            for step in range(steps):
                provider = providers[step % len(providers)]
                action = MIX[(step // len(providers)) % len(MIX)]
                if action == "refund" and monnify_paid:
                    provider = "monnify"
                    webhook = MonnifyProvider.sign(monnify_refund(step, monnify_paid.pop(0)), secrets["monnify"])
                elif action == "duplicate" and provider in last_sent:
                    body, headers = last_sent[provider][1], last_sent[provider][2]
                    webhook = None
                elif action == "bad_signature":
                    payload = payment_payload(provider, step, f"S-{step}", tenant["tenant_id"])
                    wrong = {name: "not-the-secret" for name in secrets[provider]}
                    webhook = PROVIDERS[provider].sign(payload, wrong)
                elif action == "garbage":
                    body, headers, webhook = b'{"amount": ', {"Content-Type": "application/json"}, None
                else:
                    action = "pay"
                    payload = payment_payload(provider, step, f"S-{step}", tenant["tenant_id"])
                    webhook = PROVIDERS[provider].sign(payload, secrets[provider])
                    if provider == "monnify":
                        monnify_paid.append(step)
                if webhook is not None:
                    body, headers = webhook.body, dict(webhook.headers)
                if action == "pay":
                    last_sent[provider] = (action, body, headers)
                answer = request(server.port, "POST", paths[provider], body, headers)
                sent[action] += 1
                answers[(action, answer.status, (answer.json or {}).get("status") if answer.status == 200 else "")] += 1
                time.sleep(max(0.0, started + (step + 1) / RATE - time.monotonic()))

            drained = subprocess.run(
                [str(BIN_DIR / "flux-recon"), "worker", "--until-idle"],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert drained.returncode == 0, drained.stderr
            failures = check_invariants(store, tenant["tenant_id"], sum(sent.values()), receiver)
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()

    print(f"\nsoak: {sum(sent.values())} requests in {SECONDS:.0f} s: {dict(sent)}")
    for key, count in sorted(answers.items(), key=str):
        print(f"  {key}: {count}")
    print("invariants:", "all hold" if not failures else failures)
    assert not failures
    assert answers[("pay", 200, "accepted")] == sent["pay"]
    assert all(status == 200 for (action, status, _) in answers if action in ("pay", "duplicate", "refund"))
    assert (
        sum(n for (action, status, _), n in answers.items() if action == "bad_signature" and status == 401)
        == sent["bad_signature"]
    )


def check_invariants(store, tenant_id: str, requests_sent: int, receiver) -> list[str]:
    failed = []
    with store.app_context():
        for order in SalesOrder.select().where(SalesOrder.tenant == tenant_id):
            live = sum(
                a.amount_minor
                for a in Allocation.select().where((Allocation.order == order.id) & Allocation.released_at.is_null())
            )
            if order.amount_paid_minor != live:
                failed.append(f"order {order.reference}: paid {order.amount_paid_minor} != allocations {live}")
            if order.status != derive_status(order.amount_minor, order.amount_paid_minor):
                failed.append(f"order {order.reference}: status {order.status} does not follow its payments")
        for payment in Payment.select().where(Payment.tenant == tenant_id):
            if payment.allocated_minor + payment.refunded_minor > payment.amount_minor:
                failed.append(f"payment {payment.external_id} is over-allocated")
        inbox = WebhookEvent.select().where(WebhookEvent.tenant == tenant_id).count()
        if inbox != requests_sent:
            failed.append(f"inbox holds {inbox} records for {requests_sent} requests")
        received = OutboundEvent.select().where(OutboundEvent.event_type == "payment.received").count()
        payments = Payment.select().where((Payment.tenant == tenant_id) & (Payment.kind == "payment")).count()
        if received != payments:
            failed.append(f"{received} payment.received events for {payments} payments")
        matched = OutboundEvent.select().where(OutboundEvent.event_type == "payment.matched").count()
        allocations = Allocation.select().join(Payment).where(Payment.tenant == tenant_id).count()
        if matched != allocations:
            failed.append(f"{matched} payment.matched events for {allocations} allocations")
        events = OutboundEvent.select().count()
        delivered = len({r.headers["webhook-id"] for r in receiver.requests})
        if delivered != events:
            failed.append(f"{delivered} of {events} outbound events delivered")
    db.close()
    return failed
