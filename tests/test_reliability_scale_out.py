"""Past one machine: two service instances and two workers on one PostgreSQL database take
one interleaved stream (duplicates sent to both) and behave exactly as one instance would."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import POSTGRES_URL
from tests.live_server import BIN_DIR, REPO_ROOT, live_server
from tests.receiver import start_receiver
from tests.test_reliability_faults import setup_core
from tests.test_reliability_kill import every

WEBHOOKS = 60


@pytest.mark.skipif(not POSTGRES_URL, reason="instances share PostgreSQL")
def test_two_instances_and_two_workers_behave_as_one(postgres_schema, tmp_path):
    receiver = start_receiver()
    try:
        settings = {"ALLOW_PRIVATE_DESTINATIONS": "true"}
        with live_server(postgres_schema, tmp_path, workers=2, settings=settings) as first:
            secret_key = first.env["FLUX_RECON_SECRET_KEY"]
            with live_server(
                postgres_schema, tmp_path, workers=2, settings=settings, prepare=False, secret_key=secret_key
            ) as second:
                api, webhook = setup_core(first, orders=WEBHOOKS)
                api(
                    "POST",
                    "/api/v1/subscriptions",
                    {
                        "label": "x",
                        "url": receiver.url,
                        "events": ["order.paid"],
                        "authentication": {"type": "none"},
                        "signature": {"type": "signing_key"},
                    },
                )

                def send(job):
                    n, server = job
                    return webhook(n, server.port).json["status"]

                # Every webhook goes to both instances, at the same time, in one interleaved stream.
                jobs = [(n, server) for n in range(WEBHOOKS) for server in (first, second)]
                with ThreadPoolExecutor(max_workers=8) as pool:
                    statuses = list(pool.map(send, jobs))
                assert statuses.count("accepted") == WEBHOOKS and statuses.count("duplicate") == WEBHOOKS

                workers = [
                    subprocess.Popen(
                        [str(BIN_DIR / "flux-recon"), "worker", "--until-idle"],
                        cwd=REPO_ROOT,
                        env=first.env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    for _ in range(2)
                ]
                assert all(w.wait(timeout=120) == 0 for w in workers)

                # Read through the other instance: one database, one truth.
                payments = every(lambda method, path: api(method, path, port=second.port), "/api/v1/payments")
                assert sorted(p["external_id"] for p in payments) == sorted(f"T{n}" for n in range(WEBHOOKS))
                orders = every(api, "/api/v1/orders")
                assert all((o["status"], o["amount_paid"]) == ("paid", "100.00") for o in orders)
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == WEBHOOKS
