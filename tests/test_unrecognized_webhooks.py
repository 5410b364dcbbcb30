"""A webhook its plugin cannot read is never lost: kept in the inbox as ``unrecognized``,
counted in /metrics, announced once (``webhook.unrecognized``), found by the inbox filter,
and recorded as a payment by a replay once the plugin learns the format."""

import datetime as dt
import json

import pytest

from flux_recon import Ignored, IpAllowlist, PaymentNotice, Provider, Unrecognized
from flux_recon.cli import cli
from flux_recon.models import OutboundEvent, WebhookEvent, db
from flux_recon.money import parse_decimal
from flux_recon.outbound.catalog import EVENT_TYPES
from tests.test_observability import metric

SECRET_LOOKING = "sk_live_do_not_forward_me"


class Learner(Provider):
    """Reads the event types in ``known``; a test teaches it one more between a webhook and its replay."""

    name = "learner"
    title = "Learner (test)"
    auth = (IpAllowlist(),)
    event_types = {"charge": "payment", "heartbeat": "no_money"}
    known = {"charge"}

    def parse(self, webhook):
        payload = webhook.payload
        kind = payload.get("type")
        if kind == "heartbeat":
            return Ignored("heartbeats carry no money")
        if kind not in self.known:
            return Unrecognized(f"unknown event type {kind!r}")
        return [
            PaymentNotice(
                external_id=payload["id"],
                amount=parse_decimal(payload["amount"]),
                currency="NGN",
                occurred_at=dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC),
                references=(payload.get("order", "none"),),
            )
        ]


class StubbornLearner(Learner):
    name = "stubborn-learner"
    unrecognized_status = 422


@pytest.fixture
def learner(app, client, tenant):
    for provider in (Learner, StubbornLearner):
        if provider.name not in app.extensions["providers"]:
            app.extensions["providers"].register(provider)
    Learner.known = {"charge"}
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
    subscription = {
        "label": "back office",
        "url": "http://127.0.0.1:9/hook",
        "events": ["webhook.unrecognized"],
        "authentication": {"type": "none"},
        "signature": {"type": "signing_key"},
    }
    assert client.post("/api/v1/subscriptions", json=subscription, headers=tenant["headers"]).status_code == 201

    def enable(name="learner"):
        response = client.post("/api/v1/integrations", json={"provider": name}, headers=tenant["headers"])
        assert response.status_code == 201, response.json
        integration = response.json
        client.post(
            f"/api/v1/integrations/{integration['id']}/allowlist",
            json={"cidr": "127.0.0.1/32"},
            headers=tenant["headers"],
        )
        integration["path"] = "/" + integration["webhook_url"].split("://", 1)[1].split("/", 1)[1]
        return integration

    yield enable
    Learner.known = {"charge"}


def post(client, integration, document):
    return client.post(integration["path"], data=json.dumps(document), headers={"Content-Type": "application/json"})


def announcements() -> list[dict]:
    with db.connection_context():
        rows = OutboundEvent.select().where(OutboundEvent.event_type == "webhook.unrecognized")
        return [json.loads(row.body) for row in rows.order_by(OutboundEvent.id)]


PAYOUT = {"type": "payout", "id": "PO-1", "amount": "2500.00", "order": "INV-9", "api_key": SECRET_LOOKING}


def test_an_unrecognized_webhook_is_counted_per_provider_in_metrics(client, learner):
    integration = learner()
    before = client.get("/metrics").get_data(as_text=True)
    assert post(client, integration, PAYOUT).json["status"] == "unrecognized"
    assert post(client, integration, {"type": "heartbeat"}).json["status"] == "ignored"
    after = client.get("/metrics").get_data(as_text=True)

    def grew(verdict):
        labels = {"provider": "learner", "verdict": verdict}
        name = "flux_recon_webhooks_total"
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert (grew("unrecognized"), grew("ignored")) == (1, 1)


def test_an_unrecognized_webhook_is_announced_with_its_record_and_never_its_body(client, tenant, learner):
    integration = learner()
    answer = post(client, integration, PAYOUT)
    assert (answer.status_code, answer.json["status"]) == (200, "unrecognized")
    with db.connection_context():
        (record,) = WebhookEvent.select()
    (sent,) = announcements()
    assert sent["event_type"] == "webhook.unrecognized"
    assert sent["event_body"] == {
        "webhook_event_id": record.id,
        "provider": "learner",
        "integration_id": integration["id"],
        "reason": "unknown event type 'payout'",
        "http_status": 200,
        "received_at": record.received_at.isoformat(),
        "replay_of": None,
        "replayable": True,
        "replay": f"/api/v1/webhook-events/{record.id}/replay",
    }
    # The catalog's example shows the same fields, in the order they are sent.
    assert list(EVENT_TYPES["webhook.unrecognized"]["example"]) == list(sent["event_body"])
    with db.connection_context():
        stored = OutboundEvent.get(OutboundEvent.event_type == "webhook.unrecognized").body
    assert SECRET_LOOKING not in stored and "PO-1" not in stored
    # The path it names replays it.
    replayed = client.post(sent["event_body"]["replay"], headers=tenant["headers"])
    assert replayed.status_code == 200 and replayed.json["result"]["status"] == "unrecognized"


def test_a_provider_answering_422_still_keeps_and_announces_it(client, learner):
    integration = learner("stubborn-learner")
    assert post(client, integration, PAYOUT).status_code == 422
    (sent,) = announcements()
    assert (sent["event_body"]["provider"], sent["event_body"]["http_status"]) == ("stubborn-learner", 422)


def test_known_types_are_not_announced(client, learner, create_order):
    integration = learner()
    assert post(client, integration, {"type": "heartbeat"}).json["status"] == "ignored"
    assert post(client, integration, {"type": "charge", "id": "C-1", "amount": "10.00"}).json["status"] == "accepted"
    assert announcements() == []


def test_the_inbox_lists_unrecognized_webhooks_by_verdict(client, tenant, learner):
    integration = learner()
    post(client, integration, {"type": "heartbeat"})
    post(client, integration, PAYOUT)
    post(client, integration, {"type": "charge", "id": "C-1", "amount": "10.00"})
    listed = client.get("/api/v1/webhook-events?verdict=unrecognized", headers=tenant["headers"])
    assert listed.status_code == 200
    assert [(e["verdict"], e["reason"]) for e in listed.json] == [("unrecognized", "unknown event type 'payout'")]
    both = client.get("/api/v1/webhook-events?verdict=unrecognized,ignored", headers=tenant["headers"]).json
    assert sorted(e["verdict"] for e in both) == ["ignored", "unrecognized"]


def test_a_replay_after_the_plugin_learns_the_format_records_the_payment(client, tenant, learner, create_order):
    create_order("INV-9", "2500.00")
    integration = learner()
    first = post(client, integration, PAYOUT)
    assert first.json["status"] == "unrecognized"
    event_id = client.get("/api/v1/webhook-events", headers=tenant["headers"]).json[0]["id"]

    # Replayed before the plugin knows more: still unrecognized, and not announced again.
    again = client.post(f"/api/v1/webhook-events/{event_id}/replay", headers=tenant["headers"])
    assert again.json["result"]["status"] == "unrecognized"
    assert again.json["event"]["replay_of"] == event_id
    assert len(announcements()) == 1
    assert client.get("/api/v1/payments", headers=tenant["headers"]).json == []

    Learner.known = {"charge", "payout"}  # the plugin's next release reads payouts
    learned = client.post(f"/api/v1/webhook-events/{event_id}/replay", headers=tenant["headers"])
    assert learned.status_code == 200
    assert (learned.json["result"]["status"], learned.json["result"]["reconciliation"]) == ("accepted", "matched")
    (payment,) = client.get("/api/v1/payments", headers=tenant["headers"]).json
    assert (payment["external_id"], payment["amount"], payment["currency"]) == ("PO-1", "2500.00", "NGN")
    assert learned.json["event"]["payment_id"] == payment["id"]
    order = client.get("/api/v1/orders?reference=INV-9", headers=tenant["headers"]).json[0]
    assert order["status"] == "paid"
    # A further replay is a duplicate: nothing counted twice.
    third = client.post(f"/api/v1/webhook-events/{event_id}/replay", headers=tenant["headers"])
    assert third.json["result"]["status"] == "duplicate"
    assert len(announcements()) == 1


def test_a_replay_of_a_replay_is_not_announced_again(client, tenant, learner):
    integration = learner()
    post(client, integration, PAYOUT)
    event_id = client.get("/api/v1/webhook-events", headers=tenant["headers"]).json[0]["id"]
    replay_id = client.post(f"/api/v1/webhook-events/{event_id}/replay", headers=tenant["headers"]).json["event"]["id"]
    twice = client.post(f"/api/v1/webhook-events/{replay_id}/replay", headers=tenant["headers"])
    assert twice.json["result"]["status"] == "unrecognized"
    assert len(announcements()) == 1


def test_bulk_replay_of_unrecognized_webhooks_records_each_once_learned(client, tenant, learner):
    integration = learner()
    for number in (1, 2):
        post(client, integration, {**PAYOUT, "id": f"PO-{number}"})
    post(client, integration, {"type": "heartbeat"})
    Learner.known = {"charge", "payout"}
    replayed = client.post(
        "/api/v1/webhook-events/replay", json={"verdict": ["unrecognized"]}, headers=tenant["headers"]
    )
    assert replayed.status_code == 200, replayed.json
    assert (replayed.json["replayed"], replayed.json["by_status"]) == (2, {"accepted": 2})
    payments = client.get("/api/v1/payments", headers=tenant["headers"]).json
    assert sorted(p["external_id"] for p in payments) == ["PO-1", "PO-2"]
    assert len(announcements()) == 2


def test_a_webhook_unrecognized_only_on_replay_is_announced_then(client, tenant, learner):
    """Stored as a payment format that a later plugin release no longer reads: the replay
    is the first time it is unrecognized, so the merchant hears of it then."""
    integration = learner()
    Learner.known = {"charge", "payout"}
    assert post(client, integration, PAYOUT).json["status"] == "accepted"
    Learner.known = {"charge"}
    event_id = client.get("/api/v1/webhook-events", headers=tenant["headers"]).json[0]["id"]
    replayed = client.post(f"/api/v1/webhook-events/{event_id}/replay", headers=tenant["headers"])
    assert replayed.json["result"]["status"] == "unrecognized"
    (sent,) = announcements()
    assert sent["event_body"]["replay_of"] == event_id


def test_an_unrecognized_webhook_appears_in_the_review_queue(client, tenant, learner):
    integration = learner()
    post(client, integration, PAYOUT)
    post(client, integration, {"type": "heartbeat"})
    event_id = client.get("/api/v1/webhook-events?verdict=unrecognized", headers=tenant["headers"]).json[0]["id"]
    queue = client.get("/api/v1/exceptions?reason=unrecognized_webhook", headers=tenant["headers"])
    assert queue.status_code == 200, queue.json
    (item,) = queue.json
    assert item["id"] == f"webhook:{event_id}"
    assert item["provider"] == "learner" and "unknown event type 'payout'" in item["message"]


def test_the_queue_keeps_one_item_per_webhook_until_a_replay_is_understood(client, tenant, learner, create_order):
    create_order("INV-9", "2500.00")
    integration = learner()
    post(client, integration, PAYOUT)
    event_id = client.get("/api/v1/webhook-events", headers=tenant["headers"]).json[0]["id"]

    def queued():
        listed = client.get("/api/v1/exceptions?reason=unrecognized_webhook", headers=tenant["headers"])
        assert listed.status_code == 200, listed.json
        return [item["id"] for item in listed.json]

    # A replay still unrecognized is the same webhook: one item, not two.
    client.post(f"/api/v1/webhook-events/{event_id}/replay", headers=tenant["headers"])
    assert queued() == [f"webhook:{event_id}"]
    Learner.known = {"charge", "payout"}
    learned = client.post(f"/api/v1/webhook-events/{event_id}/replay", headers=tenant["headers"])
    assert learned.json["result"]["status"] == "accepted"
    assert queued() == []


def test_an_unrecognized_webhook_over_the_inbox_body_limit_can_still_be_replayed(
    app, client, tenant, learner, create_order
):
    # Acknowledged with 200, so the provider never sends it again: the inbox's copy is the
    # only one, and must be whole however far past WEBHOOK_INBOX_BODY_LIMIT (64 KiB) it goes.
    create_order("INV-9", "2500.00")
    integration = learner()
    large = {**PAYOUT, "padding": "x" * (70 * 1024)}
    answer = post(client, integration, large)
    assert (answer.status_code, answer.json["status"]) == (200, "unrecognized"), answer.json
    (event,) = client.get("/api/v1/webhook-events?verdict=unrecognized", headers=tenant["headers"]).json
    assert event["body_truncated"] is False and event["body_size"] > app.config["WEBHOOK_INBOX_BODY_LIMIT"]
    (announced,) = announcements()
    assert announced["event_body"]["replayable"] is True

    Learner.known = {"charge", "payout"}
    replay = client.post(f"/api/v1/webhook-events/{event['id']}/replay", headers=tenant["headers"])
    assert replay.status_code == 200, replay.get_data(as_text=True)
    assert (replay.json["result"]["status"], replay.json["result"]["reconciliation"]) == ("accepted", "matched")


def test_purge_keeps_the_body_of_an_unrecognized_webhook_nobody_has_dealt_with(app, runner, client, tenant, learner):
    integration = learner()
    waiting, understood, resolved = (post(client, integration, {**PAYOUT, "id": f"PO-{n}"}) for n in range(3))
    assert waiting.json["status"] == understood.json["status"] == resolved.json["status"] == "unrecognized"
    waiting_id, understood_id, resolved_id = sorted(
        e["id"] for e in client.get("/api/v1/webhook-events", headers=tenant["headers"]).json
    )
    Learner.known = {"charge", "payout"}
    assert client.post(f"/api/v1/webhook-events/{understood_id}/replay", headers=tenant["headers"]).status_code == 200
    Learner.known = {"charge"}
    resolving = client.post(
        f"/api/v1/exceptions/webhook:{resolved_id}/resolve", json={"note": "not money"}, headers=tenant["headers"]
    )
    assert resolving.status_code == 200, resolving.json
    with app.app_context():
        WebhookEvent.update(received_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=91)).execute()
    db.close()

    result = runner.invoke(cli, ["inbox", "purge"])
    # The understood one, its replay and the resolved one; the one still waiting keeps its body.
    assert "purged the bodies of 3 webhook events older than 90 days" in result.output, result.output
    with app.app_context():
        kept = {e.id for e in WebhookEvent.select().where(WebhookEvent.body.is_null(False))}
    db.close()
    assert kept == {waiting_id}

    Learner.known = {"charge", "payout"}
    replay = client.post(f"/api/v1/webhook-events/{waiting_id}/replay", headers=tenant["headers"])
    assert replay.status_code == 200 and replay.json["result"]["status"] == "accepted", replay.json
