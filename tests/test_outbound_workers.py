"""Two `flux-recon worker` processes drain 1,000 deliveries together: none lost, none sent twice."""

import json
import os
import secrets
import signal
import subprocess
import time

from flux_recon.models import Delivery, DeliveryAttempt, OutboundEvent, db
from tests.conftest import TEST_SECRET_KEY, core_payload
from tests.live_server import BIN_DIR, REPO_ROOT
from tests.receiver import start_receiver

EVENTS = 1000
DRAIN_TIMEOUT = 180


def test_two_workers_deliver_each_event_exactly_once(app, client, tenant):
    receiver = start_receiver()
    try:
        app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
        subscription = client.post(
            "/api/v1/subscriptions",
            json={
                "label": "bulk",
                "url": receiver.url,
                "events": ["payment.received"],
                "authentication": {"type": "none"},
                "signature": {"type": "signing_key"},
            },
            headers=tenant["headers"],
        ).json
        with app.app_context():
            event_ids = [secrets.token_hex(32) for _ in range(EVENTS)]
            OutboundEvent.insert_many(
                [
                    {
                        "tenant": tenant["tenant_id"],
                        "event_id": event_id,
                        "event_type": "payment.received",
                        "body": json.dumps({"type": "event", "event_id": event_id}),
                    }
                    for event_id in event_ids
                ]
            ).execute()
            rows = OutboundEvent.select(OutboundEvent.id)
            Delivery.insert_many([{"event": row.id, "subscription": subscription["id"]} for row in rows]).execute()
        db.close()

        env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_RECON_")}
        env.update(
            FLUX_RECON_DATABASE_URL=app.config["DATABASE_URL"],
            FLUX_RECON_SECRET_KEY=TEST_SECRET_KEY,
            FLUX_RECON_ALLOW_PRIVATE_DESTINATIONS="true",
        )
        command = [str(BIN_DIR / "flux-recon"), "worker", "--until-idle", "--batch-size", "25", "--concurrency", "4"]
        workers = [
            subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for _ in range(2)
        ]
        logs = []
        for process in workers:
            try:
                logs.append(process.communicate(timeout=DRAIN_TIMEOUT)[0])
            finally:
                process.kill()
        assert all(process.returncode == 0 for process in workers), logs
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()

    received = [request.headers["webhook-id"] for request in receiver.requests]
    assert len(received) == EVENTS, "lost or duplicated deliveries"
    assert sorted(received) == sorted(event_ids)
    with app.app_context():
        assert DeliveryAttempt.select().count() == EVENTS  # no attempt made twice
        assert Delivery.select().where(Delivery.status != "succeeded").count() == 0
    db.close()
    # Both processes took part (each logs one line per batch it delivered).
    assert all("delivered" in log for log in logs), logs


def test_a_worker_killed_mid_delivery_loses_nothing(app, client, tenant, create_order, post_core):
    receiver = start_receiver()
    receiver.delay = 3.0  # the first worker is killed while waiting for this answer
    try:
        app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
        client.post(
            "/api/v1/subscriptions",
            json={
                "label": "k",
                "url": receiver.url,
                "events": ["payment.received"],
                "authentication": {"type": "none"},
                "signature": {"type": "none"},
            },
            headers=tenant["headers"],
        )
        post_core(core_payload(tenant["tenant_id"]))
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_RECON_")}
        env.update(
            FLUX_RECON_DATABASE_URL=app.config["DATABASE_URL"],
            FLUX_RECON_SECRET_KEY=TEST_SECRET_KEY,
            FLUX_RECON_ALLOW_PRIVATE_DESTINATIONS="true",
        )
        command = [str(BIN_DIR / "flux-recon"), "worker", "--until-idle", "--lease-seconds", "2"]
        first = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not receiver.requests_started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.requests_started, "the first worker never sent"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        receiver.delay = 0
        time.sleep(2.5)  # the dead worker's lease runs out
        second = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stdout + second.stderr
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    with app.app_context():
        assert Delivery.get().status == "succeeded"
    db.close()
    assert len(receiver.requests) >= 1  # at least once: the killed attempt may also have landed
