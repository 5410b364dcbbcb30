"""The webhook inbox over REST: list, show, replay (single and bulk), and purging bodies."""

import datetime as dt
import json
import subprocess

from prometheus_client import REGISTRY

from flux_recon.cli import cli
from flux_recon.models import WebhookEvent, db
from flux_recon.web.rate_limit import RefusalSample
from tests.conftest import TEST_SECRET_KEY, core_payload
from tests.live_server import BIN_DIR, CLI_TIMEOUT, REPO_ROOT, service_env


def events(client, tenant, **query):
    response = client.get("/api/v1/webhook-events", query_string=query, headers=tenant["headers"])
    assert response.status_code == 200, response.json
    return response.json


def test_list_and_show_with_filters(client, tenant, create_order, post_core):
    create_order()
    paid = post_core(core_payload(tenant["tenant_id"])).json
    post_core(core_payload(tenant["tenant_id"]), signature="bad")
    listed = events(client, tenant)
    assert [e["verdict"] for e in listed] == ["rejected_signature", "accepted"]
    assert [e["verdict"] for e in events(client, tenant, verdict="accepted")] == ["accepted"]
    assert [e["verdict"] for e in events(client, tenant, payment_id=paid["payment_id"])] == ["accepted"]
    assert events(client, tenant, received_to="2000-01-01T00:00:00Z") == []

    shown = client.get(f"/api/v1/webhook-events/{listed[1]['id']}", headers=tenant["headers"]).json
    assert shown["payment_id"] == paid["payment_id"]
    assert shown["source_ip"] == "127.0.0.1" and shown["authenticated"] is True
    assert '"transactionRef": "TRX-0001"' in shown["body"]
    assert shown["headers"]["Signature"].endswith("…")
    assert listed[0]["authenticated"] is False and listed[0]["reason"]


def test_another_tenants_events_are_invisible(client, tenant, other_tenant, post_core):
    post_core(core_payload(tenant["tenant_id"]))
    event_id = events(client, tenant)[0]["id"]
    assert events(client, other_tenant) == []
    assert client.get(f"/api/v1/webhook-events/{event_id}", headers=other_tenant["headers"]).status_code == 404
    replay = client.post(f"/api/v1/webhook-events/{event_id}/replay", headers=other_tenant["headers"])
    assert replay.status_code == 404


def test_replay_of_an_event_whose_first_processing_failed(client, tenant, create_order, post_core, monkeypatch):
    from flux_recon_core.provider import CoreProvider

    create_order()
    original = CoreProvider.parse

    def broken(self, webhook):
        raise KeyError("adapter bug")

    monkeypatch.setattr(CoreProvider, "parse", broken)
    assert post_core(core_payload(tenant["tenant_id"])).status_code == 422
    failed = events(client, tenant)[0]
    assert (failed["verdict"], failed["authenticated"]) == ("invalid_payload", True)

    monkeypatch.setattr(CoreProvider, "parse", original)  # the plugin is fixed
    replay = client.post(f"/api/v1/webhook-events/{failed['id']}/replay", headers=tenant["headers"])
    assert replay.status_code == 200, replay.json
    assert replay.json["result"]["status"] == "accepted"
    assert replay.json["event"]["replay_of"] == failed["id"]
    assert replay.json["event"]["source_ip"] == "replay"
    order = client.get("/api/v1/orders", headers=tenant["headers"]).json[0]
    assert order["status"] == "paid"

    again = client.post(f"/api/v1/webhook-events/{failed['id']}/replay", headers=tenant["headers"])
    assert again.json["result"]["status"] == "duplicate"
    order = client.get("/api/v1/orders", headers=tenant["headers"]).json[0]
    assert order["amount_paid"] == "15000.00"


def test_refused_events_cannot_be_replayed_into_acceptance(client, tenant, create_order, post_core):
    create_order()
    post_core(core_payload(tenant["tenant_id"]), signature="forged")
    post_core(core_payload(tenant["tenant_id"]), environ={"REMOTE_ADDR": "127.0.0.9"})
    for event in events(client, tenant):
        response = client.post(f"/api/v1/webhook-events/{event['id']}/replay", headers=tenant["headers"])
        assert response.status_code == 409
    bulk = client.post("/api/v1/webhook-events/replay", json={}, headers=tenant["headers"])
    assert bulk.json["replayed"] == 0
    assert client.get("/api/v1/payments", headers=tenant["headers"]).json == []


def test_bulk_replay_by_filter(client, tenant, create_order, post_core, monkeypatch):
    from flux_recon_core.provider import CoreProvider

    original = CoreProvider.parse
    monkeypatch.setattr(CoreProvider, "parse", lambda self, webhook: 1 / 0)
    for n in range(3):
        create_order(reference=f"INV-{n}")
        post_core(core_payload(tenant["tenant_id"], transactionRef=f"T{n}", paymentRef=f"INV-{n}"))
    monkeypatch.setattr(CoreProvider, "parse", original)
    result = client.post(
        "/api/v1/webhook-events/replay", json={"verdict": ["invalid_payload"], "limit": 10}, headers=tenant["headers"]
    ).json
    assert result["replayed"] == 3 and result["by_status"] == {"accepted": 3}
    paid = client.get("/api/v1/orders", query_string={"status": "paid"}, headers=tenant["headers"]).json
    assert len(paid) == 3
    # Replays are not replayed again; the originals again are duplicates.
    again = client.post(
        "/api/v1/webhook-events/replay", json={"verdict": ["invalid_payload"]}, headers=tenant["headers"]
    ).json
    assert again["by_status"] == {"duplicate": 3}
    # Each replay, who asked for it and what came of it, is in the audit log.
    audit = client.get("/api/v1/audit", query_string={"object_type": "webhook_event"}, headers=tenant["headers"]).json
    replays = [e for e in audit if e["action"] == "webhook_event.replayed"]
    assert len(replays) == 6 and all(e["actor"].startswith("api_key:") for e in replays)
    assert sorted(e["details"]["status"] for e in replays) == ["accepted"] * 3 + ["duplicate"] * 3


def test_truncated_bodies_cannot_be_replayed(app, client, tenant, post_core):
    app.config["WEBHOOK_INBOX_BODY_LIMIT"] = 10
    post_core(core_payload(tenant["tenant_id"]))
    event = events(client, tenant)[0]
    assert event["body_truncated"] is True
    assert client.post(f"/api/v1/webhook-events/{event['id']}/replay", headers=tenant["headers"]).status_code == 409


def test_an_authenticated_body_that_could_not_be_read_is_kept_whole(app, client, tenant, post_core):
    # Fixed and replayed later, it must be replayable whatever its size; a stranger's refusal
    # and an accepted webhook (whose money is recorded) are still cut to the limit.
    app.config["WEBHOOK_INBOX_BODY_LIMIT"] = 10
    unreadable = core_payload(tenant["tenant_id"], amount="fifteen thousand")
    assert post_core(unreadable).status_code == 422
    assert post_core(core_payload(tenant["tenant_id"]), signature="bad").status_code == 401
    assert post_core(core_payload(tenant["tenant_id"])).status_code == 200
    accepted, forged, invalid = events(client, tenant)
    assert (invalid["verdict"], invalid["body_truncated"]) == ("invalid_payload", False)
    assert json.loads(invalid["body"]) == unreadable
    assert (forged["verdict"], forged["body_truncated"], len(forged["body"])) == ("rejected_signature", True, 10)
    assert (accepted["verdict"], accepted["body_truncated"], len(accepted["body"])) == ("accepted", True, 10)
    replay = client.post(f"/api/v1/webhook-events/{invalid['id']}/replay", headers=tenant["headers"])
    assert replay.status_code == 200 and replay.json["result"]["status"] == "invalid_payload", replay.json


def test_purge_drops_old_bodies_and_keeps_verdicts(app, runner, client, tenant, post_core):
    post_core(core_payload(tenant["tenant_id"], transactionRef="OLD"))
    post_core(core_payload(tenant["tenant_id"], transactionRef="NEW"))
    with app.app_context():
        oldest = WebhookEvent.select().order_by(WebhookEvent.id).first()
        WebhookEvent.update(received_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=91)).where(
            WebhookEvent.id == oldest.id
        ).execute()
    db.close()
    result = runner.invoke(cli, ["inbox", "purge"])
    assert "purged the bodies of 1 webhook events older than 90 days" in result.output
    old, new = sorted(events(client, tenant), key=lambda e: e["id"])
    assert old["body"] is None and old["verdict"] == "accepted"
    assert new["body"] is not None
    assert client.post(f"/api/v1/webhook-events/{old['id']}/replay", headers=tenant["headers"]).status_code == 409


def test_refusals_from_strangers_are_kept_only_as_a_sample(app, client, tenant, post_core):
    # A fresh sample, small enough to exhaust: 3 per address, 5 per integration.
    app.config.update(
        WEBHOOK_INBOX_REFUSED_SAMPLE_PER_ADDRESS="3 per hour", WEBHOOK_INBOX_REFUSED_SAMPLE_PER_INTEGRATION="5 per hour"
    )
    app.extensions["webhook_handler"].refusal_sample = RefusalSample(app.config)
    labels = {"provider": "core", "verdict": "rejected_address"}
    unrecorded_before = REGISTRY.get_sample_value("flux_recon_webhooks_unrecorded_total", labels) or 0

    def stranger(address, n):
        payload = core_payload(tenant["tenant_id"], transactionRef=f"F-{address}-{n}")
        return post_core(payload, signature=False, environ={"REMOTE_ADDR": address}).status_code

    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert [stranger(address, n) for n in range(6)] == [403] * 6
    # Refusals from an allowed address (a wrong secret: the merchant must see those) and
    # accepted webhooks are always kept.
    assert [post_core(core_payload(tenant["tenant_id"]), signature="bad").status_code for _ in range(6)] == [401] * 6
    assert post_core(core_payload(tenant["tenant_id"])).status_code == 200

    kept = [(e["verdict"], e["source_ip"]) for e in reversed(events(client, tenant, page_size=50))]
    refused = [("rejected_address", "10.0.0.1")] * 3 + [("rejected_address", "10.0.0.2")] * 2
    assert kept == refused + [("rejected_signature", "127.0.0.1")] * 6 + [("accepted", "127.0.0.1")]
    # The 13 left out are counted.
    assert REGISTRY.get_sample_value("flux_recon_webhooks_unrecorded_total", labels) - unrecorded_before == 13


def test_cli_replay_reconciles_a_webhook_whose_order_came_after_it_failed(
    app, database_url, client, tenant, create_order, post_core, monkeypatch
):
    from flux_recon_core.provider import CoreProvider

    monkeypatch.setattr(CoreProvider, "parse", lambda self, webhook: 1 / 0)  # an adapter bug
    assert post_core(core_payload(tenant["tenant_id"])).status_code == 422
    monkeypatch.undo()  # the plugin is fixed (the CLI below is a process of its own anyway)
    post_core(core_payload(tenant["tenant_id"], transactionRef="FORGED"), signature="forged")
    failed, forged = sorted(events(client, tenant), key=lambda e: e["id"])
    assert (failed["verdict"], forged["verdict"]) == ("invalid_payload", "rejected_signature")
    create_order()  # the order the payment was for is entered only now
    db.close()

    def replay(*ids):
        return subprocess.run(
            [str(BIN_DIR / "flux-recon"), "inbox", "replay", *map(str, ids)],
            cwd=REPO_ROOT,
            env=service_env(database_url, TEST_SECRET_KEY),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )

    missing = forged["id"] + 1000
    done = replay(failed["id"], forged["id"], missing)
    # The unknown and the unreplayable ids are named and make it fail; the good one is replayed.
    assert done.returncode == 1, done.stderr
    assert f"webhook event {forged['id']}: only authenticated events whose whole body is kept" in done.stderr
    assert f"webhook event {missing}: not found" in done.stderr
    (line,) = done.stdout.strip().splitlines()
    replayed = json.loads(line)
    assert replayed["event_id"] == failed["id"]
    assert (replayed["result"]["status"], replayed["result"]["reconciliation"]) == ("accepted", "matched")
    order = client.get("/api/v1/orders", headers=tenant["headers"]).json[0]
    assert (order["status"], order["amount_paid"]) == ("paid", "15000.00")
    record = client.get(f"/api/v1/webhook-events/{replayed['replay_event_id']}", headers=tenant["headers"]).json
    assert (record["replay_of"], record["source_ip"], record["verdict"]) == (failed["id"], "replay", "accepted")

    again = replay(failed["id"])
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["result"]["status"] == "duplicate"  # never counted twice
    order = client.get("/api/v1/orders", headers=tenant["headers"]).json[0]
    assert order["amount_paid"] == "15000.00"
