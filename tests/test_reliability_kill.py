"""Gunicorn workers killed with SIGKILL, again and again, during a stream of webhooks: every
acknowledged webhook is recorded exactly once, and every outbound event is delivered."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from tests.live_server import BIN_DIR, REPO_ROOT, live_server
from tests.receiver import start_receiver
from tests.test_reliability_faults import setup_core

WEBHOOKS = 150
KILL_EVERY = 0.5  # seconds: often enough to hit requests in flight, rarely enough to let workers boot
RETRY_FOR = 30.0  # seconds a provider keeps retrying one webhook


def worker_pids(master: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in children]


def every(api, path: str) -> list[dict]:
    items, page = [], 1
    while batch := api("GET", f"{path}?page_size=100&page={page}").json:
        items += batch
        page += 1
    return items


def test_killed_workers_lose_nothing_and_count_nothing_twice(database_url, tmp_path):
    receiver = start_receiver()
    try:
        settings = {"ALLOW_PRIVATE_DESTINATIONS": "true"}
        with live_server(database_url, tmp_path, workers=2, settings=settings) as server:
            api, webhook = setup_core(server, orders=WEBHOOKS)
            api(
                "POST",
                "/api/v1/subscriptions",
                {
                    "label": "k",
                    "url": receiver.url,
                    "events": ["payment.received", "order.paid"],
                    "authentication": {"type": "none"},
                    "signature": {"type": "none"},
                },
            )

            stop = threading.Event()
            kills = []

            def killer():
                while not stop.wait(KILL_EVERY):
                    pids = worker_pids(server.process.pid)
                    if pids:
                        os.kill(pids[0], signal.SIGKILL)
                        kills.append(pids[0])

            threading.Thread(target=killer, daemon=True).start()
            acknowledged = set()
            try:
                for n in range(WEBHOOKS):
                    give_up = time.monotonic() + RETRY_FOR
                    while time.monotonic() < give_up:  # a provider retries until it gets a 2xx
                        answer = webhook(n)
                        if answer is not None and answer.status == 200:
                            acknowledged.add(n)
                            break
                        time.sleep(0.05)
                # Resending (duplicates) until the workers were killed a few times, however
                # fast the first pass went.
                deadline = time.monotonic() + 30
                while len(kills) < 3 and time.monotonic() < deadline:
                    webhook(len(kills) % WEBHOOKS)
            finally:
                stop.set()
            assert len(kills) >= 3, "the workers were not killed often enough to prove anything"
            assert acknowledged == set(range(WEBHOOKS))

            time.sleep(1)  # let gunicorn replace the last killed worker
            payments = every(api, "/api/v1/payments")
            assert sorted(p["external_id"] for p in payments) == sorted(f"T{n}" for n in range(WEBHOOKS))
            orders = every(api, "/api/v1/orders")
            assert all((o["status"], o["amount_paid"]) == ("paid", "100.00") for o in orders)

            drained = subprocess.run(
                [str(BIN_DIR / "flux-recon"), "worker", "--until-idle"],
                cwd=REPO_ROOT,
                env=server.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert drained.returncode == 0, drained.stderr
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    delivered = {request.headers["webhook-id"] for request in receiver.requests}
    assert len(delivered) == 2 * WEBHOOKS  # payment.received and order.paid for each, at least once
