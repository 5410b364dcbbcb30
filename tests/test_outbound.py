"""Outbound event webhooks: subscriptions, the outbox, signed deliveries to a real receiver,
the retry schedule (on a controllable clock), 410/429, auto-disable, leases and SSRF."""

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import random
import socket
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from flux_recon.models import Delivery, DeliveryAttempt, OutboundEvent, Subscription, db
from flux_recon.outbound.destinations import DestinationRefused, check_destination
from flux_recon.outbound.schedule import MAX_ATTEMPTS, MAX_RETRY_AFTER, RETRY_DELAYS
from flux_recon.outbound.sender import parse_retry_after
from flux_recon.outbound.signing import signature_headers
from flux_recon.outbound.worker import Worker
from tests.conftest import core_payload
from tests.receiver import start_receiver


class Clock:
    """Time that moves only when the test says so. It starts a minute ahead of the real
    clock, so everything the test has just enqueued is already due."""

    def __init__(self):
        self.now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    def __call__(self):
        return self.now

    def advance(self, delta):
        self.now += delta


@pytest.fixture
def receiver():
    running = start_receiver()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture
def outbound(app):
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
    return app


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def worker(outbound, clock):
    with outbound.app_context():
        running = Worker(
            outbound.extensions["secret_box"],
            allow_private=True,
            disable_after=dt.timedelta(hours=72),
            clock=clock,
            rng=random.Random(7),
            concurrency=4,
        )
        yield running
        running.close()
    db.close()


def subscribe(client, tenant, url, events=("payment.received", "payment.matched", "order.paid"), **fields):
    body = {
        "label": "shop",
        "url": url,
        "events": list(events),
        "authentication": {"type": "none"},
        "signature": {"type": "signing_key"},
        **fields,
    }
    response = client.post("/api/v1/subscriptions", json=body, headers=tenant["headers"])
    assert response.status_code == 201, response.json
    return response.json


def deliveries(subscription_id):
    return list(Delivery.select().where(Delivery.subscription == subscription_id).order_by(Delivery.id))


def test_deliveries_are_signed_and_verify_with_standard_webhooks(
    outbound, client, tenant, receiver, worker, create_order, post_core
):
    subscription = subscribe(
        client, tenant, receiver.url, authentication={"type": "basic", "username": "flux", "password": "pw-123"}
    )
    key = subscription["signing_key"]
    assert key.startswith("whsec_")
    create_order()
    payment_id = post_core(core_payload(tenant["tenant_id"])).json["payment_id"]

    assert worker.run_once() == {"succeeded": 3, "pending": 0, "failed": 0}
    assert len(receiver.requests) == 3
    payment_view = client.get(f"/api/v1/payments/{payment_id}", headers=tenant["headers"]).json
    types = []
    for request in receiver.requests:
        document = json.loads(request.body)
        types.append(document["event_type"])
        assert set(document) == {"type", "event_triggered", "event_type", "event_body", "event_id"}
        assert document["type"] == "event" and len(document["event_id"]) == 64
        dt.datetime.strptime(document["event_triggered"], "%Y-%m-%d %H:%M:%S")
        headers = request.headers
        assert headers["content-type"] == "application/json"
        assert headers["authorization"] == "Basic " + base64.b64encode(b"flux:pw-123").decode()
        # Standard Webhooks: the reference library verifies id, timestamp and signature.
        Webhook(key).verify(request.body, headers)
        raw_key = base64.b64decode(key.removeprefix("whsec_"))
        assert headers["x-signature"] == hmac.new(raw_key, request.body, hashlib.sha256).hexdigest()
        assert headers["webhook-id"] == document["event_id"]
        if document["event_type"].startswith("payment."):
            assert document["event_body"]["id"] == payment_id
            assert document["event_body"]["amount"] == payment_view["amount"]
    assert sorted(types) == ["order.paid", "payment.matched", "payment.received"]

    tampered = receiver.requests[0].body.replace(b"15000.00", b"95000.00")
    with pytest.raises(WebhookVerificationError):
        Webhook(key).verify(tampered, receiver.requests[0].headers)


def test_signature_headers_are_the_ones_receivers_already_verify():
    """Known answers, computed by the hand-written HMAC code the standardwebhooks package
    replaced: the same headers, in the same order, byte for byte."""
    key = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    body = b'{"type":"event","amount":"15000.00","name":"Ad\\u00e9"}'
    event_id = "evt_" + "0" * 60
    assert list(signature_headers(body, event_id, 1795000000, key).items()) == [
        ("webhook-id", event_id),
        ("webhook-timestamp", "1795000000"),
        ("webhook-signature", "v1,PE4ZEijR/62MScxCAB7iK7CF0NQCWuObpM9Wth5k8is="),
        ("X-Signature", "ed4c7d8d7f0d04045bcb6d618ba413fb1acb409a572dba590991fbfe310e99bf"),
    ]
    assert signature_headers(b"{}", "e1", 1795000000, None) == {"webhook-id": "e1", "webhook-timestamp": "1795000000"}


def test_only_subscribed_events_are_enqueued_and_only_with_their_change(
    outbound, app, client, tenant, receiver, create_order, post_core, monkeypatch
):
    subscribe(client, tenant, receiver.url, events=["order.paid"])
    create_order()

    def fail(*args, **kwargs):
        import peewee

        raise peewee.OperationalError("lost the database")

    monkeypatch.setattr("flux_recon.reconciliation.engine.record_audit", fail)
    assert post_core(core_payload(tenant["tenant_id"])).status_code == 503
    with app.app_context():
        assert OutboundEvent.select().count() == 0  # no event without its change
    db.close()
    monkeypatch.undo()
    assert post_core(core_payload(tenant["tenant_id"])).status_code == 200
    with app.app_context():
        assert [e.event_type for e in OutboundEvent.select()] == ["order.paid"]
        assert Delivery.select().count() == 1
    db.close()


def test_retries_follow_the_schedule_then_fail(outbound, client, tenant, receiver, worker, clock, post_core):
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"]))
    receiver.answer(500, times=MAX_ATTEMPTS)
    started = clock.now
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert sum(worker.run_once().values()) == 1
        (delivery,) = deliveries(subscription["id"])
        assert delivery.attempts == attempt
        if attempt == MAX_ATTEMPTS:
            assert delivery.status == "failed"
            break
        expected = RETRY_DELAYS[attempt - 1]
        wait = delivery.next_attempt_at - clock.now
        assert 0.9 * expected <= wait <= 1.1 * expected, (attempt, wait)
        # Nothing is due before its time.
        assert worker.run_once() == {"succeeded": 0, "pending": 0, "failed": 0}
        clock.advance(wait)
    assert dt.timedelta(hours=18) < clock.now - started < dt.timedelta(hours=27)  # about a day
    assert DeliveryAttempt.select().count() == MAX_ATTEMPTS
    assert len(receiver.requests) == MAX_ATTEMPTS


def test_retry_after_on_429_is_honoured(outbound, client, tenant, receiver, worker, clock, post_core):
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"]))
    receiver.answer(429, {"Retry-After": "120"})
    worker.run_once()
    (delivery,) = deliveries(subscription["id"])
    assert delivery.status == "pending" and delivery.last_status_code == 429
    assert delivery.next_attempt_at - clock.now == dt.timedelta(seconds=120)
    clock.advance(dt.timedelta(seconds=120))
    assert worker.run_once()["succeeded"] == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("0x10", None),
        ("\xb2", None),  # a digit to str.isdigit(), not to int(): once a ValueError
        ("1" * 5000, None),  # more digits than int() reads
        ("Wed, 21 Oct 99999 07:28:00 GMT", None),
        ("0", 0.0),
        (" 120 ", 120.0),
        ("28800", 28800.0),
        ("28801", 28800.0),  # capped at MAX_RETRY_AFTER
        ("9" * 30, 28800.0),  # once 1e30 s, which no timedelta holds
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date gone by: now
    ],
)
def test_retry_after_is_whole_seconds_or_a_date_within_bounds(value, seconds):
    assert parse_retry_after(value) == seconds


def test_retry_after_as_a_date_is_the_time_until_it():
    when = email.utils.formatdate(time.time() + 3600, usegmt=True)
    assert 3590 < parse_retry_after(when) <= 3600


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [("\xb2", None), ("100000000000000", MAX_RETRY_AFTER), ("soon", None)],
    ids=["superscript-two", "beyond-timedelta", "unreadable"],
)
def test_an_unusable_retry_after_does_not_stop_the_worker(
    outbound, client, tenant, receiver, worker, clock, post_core, retry_after, wait
):
    """A receiver's odd Retry-After (sent as latin-1 bytes) is capped or ignored; the
    retry schedule applies when it is unreadable."""
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"]))
    receiver.answer(503, {"Retry-After": retry_after})
    assert worker.run_once()["pending"] == 1
    (delivery,) = deliveries(subscription["id"])
    waited = delivery.next_attempt_at - clock.now
    if wait is None:
        assert RETRY_DELAYS[0] * 0.9 <= waited <= RETRY_DELAYS[0] * 1.1
    else:
        assert waited == wait


def test_a_retry_after_does_not_extend_the_attempts(outbound, client, tenant, receiver, worker, clock, post_core):
    """A receiver answering 503 with Retry-After: 0 every time is tried MAX_ATTEMPTS times,
    then the delivery fails, as without the header."""
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"]))
    receiver.answer(503, {"Retry-After": "0"}, times=MAX_ATTEMPTS + 1)
    for attempt in range(1, MAX_ATTEMPTS):
        assert worker.run_once()["pending"] == 1, attempt
        clock.advance(dt.timedelta(seconds=1))
    assert worker.run_once()["failed"] == 1
    (delivery,) = deliveries(subscription["id"])
    assert delivery.status == "failed" and delivery.attempts == MAX_ATTEMPTS
    assert worker.run_once() == {"succeeded": 0, "pending": 0, "failed": 0}


def test_410_disables_the_subscription(outbound, client, tenant, receiver, worker, post_core):
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"], transactionRef="T1"))
    receiver.answer(410)
    assert worker.run_once()["failed"] == 1
    shown = client.get(f"/api/v1/subscriptions/{subscription['id']}", headers=tenant["headers"]).json
    assert shown["enabled"] is False and "410" in shown["disabled_reason"]
    post_core(core_payload(tenant["tenant_id"], transactionRef="T2"))
    assert worker.run_once() == {"succeeded": 0, "pending": 0, "failed": 0}
    reenabled = client.patch(
        f"/api/v1/subscriptions/{subscription['id']}", json={"enabled": True}, headers=tenant["headers"]
    ).json
    assert reenabled["enabled"] is True and reenabled["disabled_reason"] is None


def test_a_subscription_failing_for_the_whole_period_is_disabled(
    outbound, client, tenant, receiver, worker, clock, post_core
):
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    receiver.answer(500, times=100)
    for n in range(4):
        post_core(core_payload(tenant["tenant_id"], transactionRef=f"T{n}"))
        worker.run_once()
        clock.advance(dt.timedelta(hours=25))
    shown = client.get(f"/api/v1/subscriptions/{subscription['id']}", headers=tenant["headers"]).json
    assert shown["enabled"] is False and "failed since" in shown["disabled_reason"]


def test_a_dead_workers_claim_is_taken_over_after_its_lease(
    outbound, client, tenant, receiver, worker, clock, post_core
):
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"]))
    claimed = worker.claim()  # this worker "dies" before sending
    assert len(claimed) == 1
    assert worker.claim() == []  # the lease keeps others off
    clock.advance(worker.lease + dt.timedelta(seconds=1))
    assert worker.run_once()["succeeded"] == 1
    (delivery,) = deliveries(subscription["id"])
    assert delivery.status == "succeeded" and len(receiver.requests) == 1


def test_a_claim_takes_the_longest_due_first(outbound, client, tenant, receiver, worker, clock, post_core):
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    for n in range(3):
        post_core(core_payload(tenant["tenant_id"], transactionRef=f"T{n}"))
    first, second, third = deliveries(subscription["id"])
    for delivery, minutes_ago in ((first, 1), (second, 30), (third, 10)):
        Delivery.update(next_attempt_at=clock.now - dt.timedelta(minutes=minutes_ago)).where(
            Delivery.id == delivery.id
        ).execute()
    assert [job.delivery.id for job in worker.claim(limit=2)] == [second.id, third.id]
    assert [job.delivery.id for job in worker.claim(limit=2)] == [first.id]


def test_a_batch_of_results_keeps_each_subscriptions_failing_streak_in_order(
    outbound, client, tenant, receiver, worker, clock, post_core
):
    """Results are recorded a batch at a time, in the order given: a success clears the
    subscription's failing streak, so a failure after it starts a new one (and cannot
    disable the subscription for the old streak's length), and a success after that
    ends the new one."""
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    for n in range(2):
        post_core(core_payload(tenant["tenant_id"], transactionRef=f"T{n}"))
    long_ago = clock.now - dt.timedelta(hours=80)  # beyond the 72 h that disables
    Subscription.update(failing_since=long_ago).where(Subscription.id == subscription["id"]).execute()
    receiver.answer(200)
    receiver.answer(500)
    outcomes = [worker.send(job) for job in worker.claim()]  # one at a time: 200, then 500
    assert worker.record_all(outcomes) == ["succeeded", "pending"]
    stored = Subscription.get_by_id(subscription["id"])
    assert stored.enabled is True
    assert stored.failing_since == clock.now

    for n in range(2, 5):
        post_core(core_payload(tenant["tenant_id"], transactionRef=f"T{n}"))
    for status in (200, 500, 200):
        receiver.answer(status)
    outcomes = [worker.send(job) for job in worker.claim()]  # the three new ones, in turn
    assert worker.record_all(outcomes) == ["succeeded", "pending", "succeeded"]
    assert Subscription.get_by_id(subscription["id"]).failing_since is None
    assert DeliveryAttempt.select().count() == 5


def test_a_batch_across_subscriptions_answers_each_result_in_the_order_given(
    outbound, client, tenant, receiver, worker, clock, post_core
):
    first = subscribe(client, tenant, receiver.url, events=["payment.received"])
    second = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"]))
    jobs = sorted(worker.claim(), key=lambda job: -job.delivery.subscription_id)  # second's first
    receiver.answer(200)
    receiver.answer(500)
    outcomes = [worker.send(job) for job in jobs]
    assert worker.record_all(outcomes) == ["succeeded", "pending"]
    assert [d.status for d in deliveries(second["id"])] == ["succeeded"]
    assert [d.status for d in deliveries(first["id"])] == ["pending"]
    assert Subscription.get_by_id(first["id"]).failing_since == clock.now
    assert Subscription.get_by_id(second["id"]).failing_since is None


def test_an_expired_lease_is_taken_before_a_backlog_of_pending_deliveries(
    outbound, client, tenant, receiver, worker, clock, post_core
):
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"], transactionRef="T0"))
    (abandoned,) = worker.claim()  # a worker that then dies
    for n in range(1, 4):
        post_core(core_payload(tenant["tenant_id"], transactionRef=f"T{n}"))
    clock.advance(worker.lease + dt.timedelta(seconds=1))
    assert [job.delivery.id for job in worker.claim(limit=1)] == [abandoned.delivery.id]
    assert len(deliveries(subscription["id"])) == 4


def test_a_secret_that_cannot_be_decrypted_does_not_undo_the_results_recorded_with_the_claim(
    outbound, client, tenant, receiver, worker, clock, post_core
):
    first = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"], transactionRef="T1"))
    (job,) = worker.claim()
    outcome = worker.send(job)
    second = subscribe(client, tenant, receiver.url, events=["payment.received"])
    Subscription.update(signing_key_encrypted="not a ciphertext").where(Subscription.id == second["id"]).execute()
    post_core(core_payload(tenant["tenant_id"], transactionRef="T2"))
    with pytest.raises(Exception):  # noqa: B017 - whatever the secret box raises
        worker._turn([outcome], [])
    assert Delivery.get_by_id(job.delivery.id).status == "succeeded"
    assert DeliveryAttempt.select().count() == 1
    # The claim committed too: its deliveries are leased, and retaken when the lease expires.
    assert {d.status for d in deliveries(first["id"]) if d.id != job.delivery.id} == {"delivering"}


# IPv6 forms that lead to an IPv4 address that is not public, or are never routed.
IPV6_FORMS_OF_PRIVATE_ADDRESSES = [
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 (well-known prefix) of 169.254.169.254
    "https://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "https://[64:ff9b:1::a00:1]/",  # local-use NAT64 prefix (RFC 8215)
    "https://[2002:a9fe:a9fe::]/",  # 6to4 of 169.254.169.254
    "https://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
    "https://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
    "https://[::ffff:0:a9fe:a9fe]/",  # IPv4-translated 169.254.169.254
    "https://[fec0::1]/",  # site-local
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
]
UNREADABLE_URLS = ["https://[::1", "https://[zz]/", "https://[::1]:99999/"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hook",
        "https://[::ffff:127.0.0.1]/x",
        "http://localhost/hook",
        *IPV6_FORMS_OF_PRIVATE_ADDRESSES,
        *UNREADABLE_URLS,
    ],
)
def test_the_ssrf_guard_refuses_private_destinations(app, client, tenant, url):
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = False
    body = {
        "label": "x",
        "url": url,
        "events": ["order.paid"],
        "authentication": {"type": "none"},
        "signature": {"type": "none"},
    }
    response = client.post("/api/v1/subscriptions", json=body, headers=tenant["headers"])
    assert response.status_code == 422, response.json
    assert "url" in response.json["errors"]["json"]


@pytest.mark.parametrize("url", IPV6_FORMS_OF_PRIVATE_ADDRESSES + UNREADABLE_URLS)
def test_an_edit_to_a_refused_destination_is_422_naming_the_url(app, client, tenant, url):
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
    subscription = subscribe(client, tenant, "http://127.0.0.1:9/hook")
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = False
    path = f"/api/v1/subscriptions/{subscription['id']}"
    response = client.patch(path, json={"url": url}, headers=tenant["headers"])
    assert response.status_code == 422, response.json
    assert "url" in response.json["errors"]["json"]
    assert client.get(path, headers=tenant["headers"]).json["url"] == "http://127.0.0.1:9/hook"


@pytest.mark.parametrize("url", IPV6_FORMS_OF_PRIVATE_ADDRESSES)
def test_a_name_resolving_to_an_ipv6_form_of_a_private_address_is_refused(url):
    """What the worker checks at connect time: the resolved address, not the URL's text."""
    address = url.split("[", 1)[1].split("]", 1)[0]

    def resolve(host, port, type):
        return [(socket.AF_INET6, type, 6, "", (address, port, 0, 0))]

    with pytest.raises(DestinationRefused, match="private"):
        check_destination("https://hooks.example.com/in", allow_private=False, resolve=resolve)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111"])
def test_public_ipv6_destinations_stay_allowed(address):
    def resolve(host, port, type):
        return [(socket.AF_INET6, type, 6, "", (address, port, 0, 0))]

    target = check_destination("https://hooks.example.com/in", allow_private=False, resolve=resolve)
    assert target.address == address


def test_the_guard_is_checked_again_at_delivery(outbound, app, client, tenant, receiver, clock, post_core):
    subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"]))
    with app.app_context():
        strict = Worker(
            app.extensions["secret_box"], allow_private=False, disable_after=dt.timedelta(hours=1), clock=clock
        )
        assert strict.run_once()["failed"] == 1
        strict.close()
        assert "private" in Delivery.get().last_error
    db.close()
    assert receiver.requests == []


def test_public_destinations_must_be_https(app, client, tenant):
    body = {
        "label": "x",
        "url": "http://8.8.8.8/hook",
        "events": ["order.paid"],
        "authentication": {"type": "none"},
        "signature": {"type": "none"},
    }
    response = client.post("/api/v1/subscriptions", json=body, headers=tenant["headers"])
    assert response.status_code == 422 and "https" in response.json["message"]


def test_subscription_fields_secrets_and_edits(outbound, client, tenant, receiver):
    required = client.post("/api/v1/subscriptions", json={"label": "x"}, headers=tenant["headers"])
    assert required.status_code == 422
    assert {"url", "events", "authentication", "signature"} <= set(required.json["errors"]["json"])
    assert (
        client.post(
            "/api/v1/subscriptions",
            json={
                "label": "x",
                "url": receiver.url,
                "events": ["no.such"],
                "authentication": {"type": "none"},
                "signature": {"type": "none"},
            },
            headers=tenant["headers"],
        ).status_code
        == 422
    )
    basic_without_password = client.post(
        "/api/v1/subscriptions",
        json={
            "label": "x",
            "url": receiver.url,
            "events": ["order.paid"],
            "authentication": {"type": "basic", "username": "u"},
            "signature": {"type": "none"},
        },
        headers=tenant["headers"],
    )
    assert basic_without_password.status_code == 422

    created = subscribe(
        client, tenant, receiver.url, authentication={"type": "basic", "username": "u", "password": "secret-pw"}
    )
    path = f"/api/v1/subscriptions/{created['id']}"
    shown = client.get(path, headers=tenant["headers"])
    text = shown.get_data(as_text=True)
    assert created["signing_key"] not in text and "secret-pw" not in text and "signing_key" not in shown.json
    # Editing other fields keeps authentication; resetting it is explicit.
    edited = client.patch(path, json={"label": "renamed", "events": ["order.paid"]}, headers=tenant["headers"]).json
    assert (edited["label"], edited["authentication"]["type"]) == ("renamed", "basic")
    reset = client.patch(path, json={"authentication": {"type": "none"}}, headers=tenant["headers"]).json
    assert reset["authentication"] == {"type": "none", "username": None}
    rotated = client.post(f"{path}/signing-key", headers=tenant["headers"]).json
    assert rotated["signing_key"].startswith("whsec_") and rotated["signing_key"] != created["signing_key"]
    unsigned = client.patch(path, json={"signature": {"type": "none"}}, headers=tenant["headers"]).json
    assert unsigned["signature"] == {"type": "none"}
    assert client.delete(path, headers=tenant["headers"]).status_code == 204
    assert client.get(path, headers=tenant["headers"]).status_code == 404


def test_test_ping_returns_the_receivers_answer(outbound, client, tenant, receiver):
    created = subscribe(client, tenant, receiver.url)
    receiver.answer(202, body=b"thanks")
    result = client.post(f"/api/v1/subscriptions/{created['id']}/test", headers=tenant["headers"]).json
    assert (result["ok"], result["status_code"], result["response_snippet"]) == (True, 202, "thanks")
    document = json.loads(receiver.requests[0].body)
    assert document["event_type"] == "ping"
    Webhook(created["signing_key"]).verify(receiver.requests[0].body, receiver.requests[0].headers)


def test_event_types_list_each_type_with_an_example(client, tenant):
    listed = client.get("/api/v1/event-types", headers=tenant["headers"]).json
    assert [t["type"] for t in listed] == [
        "payment.received",
        "payment.matched",
        "payment.unmatched",
        "payment.reversed",
        "payment.refunded",
        "order.partially_paid",
        "order.paid",
        "order.overpaid",
        "order.cancelled",
        "payment.settled",
        "settlement.received",
        "settlement.break_found",
        "webhook.unrecognized",
    ]
    assert all(t["description"] and t["example"]["event_type"] == t["type"] for t in listed)


def test_deliveries_list_redeliver_and_bulk_redeliver(outbound, client, tenant, receiver, worker, clock, post_core):
    subscription = subscribe(client, tenant, receiver.url, events=["payment.received"])
    post_core(core_payload(tenant["tenant_id"]))
    receiver.answer(500, times=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS):
        worker.run_once()
        clock.now = max(clock.now, deliveries(subscription["id"])[0].next_attempt_at)
    listed = client.get(
        f"/api/v1/subscriptions/{subscription['id']}/deliveries",
        query_string={"status": "failed"},
        headers=tenant["headers"],
    ).json
    assert len(listed) == 1 and listed[0]["attempts"] == MAX_ATTEMPTS and listed[0]["last_status_code"] == 500
    again = client.post(f"/api/v1/deliveries/{listed[0]['id']}/redeliver", headers=tenant["headers"]).json
    assert again["status"] == "pending" and again["attempts"] == 0
    assert worker.run_once()["succeeded"] == 1

    bulk = client.post(
        "/api/v1/deliveries/redeliver", json={"since": "2000-01-01T00:00:00Z"}, headers=tenant["headers"]
    ).json
    assert bulk == {"redelivered": 0}  # nothing failed any more
    # Who asked for each redelivery is in the audit log.
    audit = client.get("/api/v1/audit", query_string={"object_type": "delivery"}, headers=tenant["headers"]).json
    (entry,) = [e for e in audit if e["action"] == "delivery.redelivered"]
    assert entry["object_id"] == str(listed[0]["id"]) and entry["actor"].startswith("api_key:")


def test_a_hanging_receiver_does_not_hold_up_other_subscriptions(outbound, client, tenant, post_core, create_order):
    import threading
    import time

    slow, fast = start_receiver(), start_receiver()
    slow.delay = 4.0
    try:
        subscribe(client, tenant, slow.url, events=["payment.received"])
        subscribe(client, tenant, fast.url, events=["payment.received"])
        for n in range(6):
            post_core(core_payload(tenant["tenant_id"], transactionRef=f"T{n}"))
        with outbound.app_context():
            worker = Worker(
                outbound.extensions["secret_box"],
                allow_private=True,
                disable_after=dt.timedelta(hours=72),
                concurrency=4,
            )
            stop = threading.Event()
            runner = threading.Thread(target=worker.run, args=(stop, 0.05), kwargs={"until_idle": True})
            runner.start()
            deadline = time.monotonic() + 3.0
            while len(fast.requests) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            # Every fast delivery arrived while the slow receiver was still holding its first ones.
            assert len(fast.requests) == 6
            assert slow.requests_started and slow.requests == []
            runner.join(timeout=60)
            worker.close()
            assert not runner.is_alive()
        db.close()
        assert len(slow.requests) == 6
    finally:
        for receiver in (slow, fast):
            receiver.server.shutdown()
            receiver.server.server_close()
