"""The delivery worker against a receiver that trickles its answer, SIGTERM, and a database that goes away."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

from flux_recon.models import Delivery, DeliveryAttempt, OutboundEvent, db
from flux_recon.outbound.worker import Worker
from tests.conftest import POSTGRES_URL, TEST_SECRET_KEY, close_app, make_app
from tests.live_server import BIN_DIR, REPO_ROOT, free_port, service_env
from tests.receiver import start_receiver
from tests.tcp_proxy import TcpProxy

# Generous bounds that only prove "does not hang".
BOUND = 30.0


class TrickleReceiver:
    """A receiver on a real socket. While ``trickle`` is set it answers every request one
    byte every ``interval`` seconds, status line first (a whole answer would take minutes);
    otherwise it answers 200 at once. Counts the connections opened to it."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.trickle = True
        self.connections = 0
        self.webhook_ids: list[str] = []
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        conn.settimeout(BOUND)
        reader = conn.makefile("rb")
        try:
            while not self.closed.is_set():
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = reader.readline()
                    if not line:
                        return
                    head += line
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                reader.read(length)
                with self.lock:
                    self.webhook_ids.append(re.search(rb"(?i)webhook-id: *(\S+)", head).group(1).decode())
                if not self.trickle:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    continue
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000:
                    if self.closed.wait(self.interval):
                        return
                    conn.sendall(bytes([byte]))
        except OSError:
            return
        finally:
            reader.close()
            conn.close()

    def close(self):
        self.closed.set()
        self.listener.close()


@pytest.fixture
def trickling():
    receiver = TrickleReceiver()
    yield receiver
    receiver.close()


def subscribe(app, client, tenant, url) -> int:
    app.config["ALLOW_PRIVATE_DESTINATIONS"] = True
    response = client.post(
        "/api/v1/subscriptions",
        json={
            "label": "slow",
            "url": url,
            "events": ["payment.received"],
            "authentication": {"type": "none"},
            "signature": {"type": "none"},
        },
        headers=tenant["headers"],
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def enqueue(tenant_id: str, subscription_id: int, count: int) -> list[str]:
    """``count`` events due now for the subscription; their event ids (webhook-id)."""
    event_ids = [secrets.token_hex(32) for _ in range(count)]
    for event_id in event_ids:
        event = OutboundEvent.create(
            tenant=tenant_id,
            event_id=event_id,
            event_type="payment.received",
            body=json.dumps({"type": "event", "event_id": event_id}),
        )
        Delivery.create(event=event.id, subscription=subscription_id)
    return event_ids


def run_worker_for(worker: Worker, seconds: float) -> None:
    """Run the worker's loop in a thread for ``seconds``, then stop it (bounded)."""
    stop = threading.Event()
    runner = threading.Thread(target=worker.run, args=(stop, 0.05))
    runner.start()
    time.sleep(seconds)
    stop.set()
    runner.join(timeout=BOUND)
    assert not runner.is_alive(), "the worker did not stop"


def test_a_trickling_receiver_fails_at_the_deadline_on_one_connection(app, client, tenant, trickling):
    subscription_id = subscribe(app, client, tenant, trickling.url)
    with app.app_context():
        enqueue(tenant["tenant_id"], subscription_id, 1)
        worker = Worker(
            app.extensions["secret_box"],
            allow_private=True,
            disable_after=dt.timedelta(hours=72),
            concurrency=4,
            lease=dt.timedelta(seconds=4),
        )
        assert worker.deadline == 2.0  # half the lease
        try:
            # Past the lease: without a deadline the answer would still be trickling in, the
            # lease would have run out and the worker would have sent it a second time.
            run_worker_for(worker, 6.0)
        finally:
            trickling.close()  # cuts an answer still trickling, so a worker without a deadline stops too
            worker.close()
        (delivery,) = Delivery.select()
        attempts = list(DeliveryAttempt.select())
    db.close()
    assert trickling.connections == 1 and len(trickling.webhook_ids) == 1
    assert delivery.status == "pending" and delivery.attempts == 1  # a failure, retried later
    assert delivery.next_attempt_at > delivery.created_at
    assert "deadline" in delivery.last_error
    assert len(attempts) == 1 and attempts[0].latency_ms < 4000  # ended inside the lease


def test_a_worker_never_claims_again_a_delivery_it_is_still_sending(app, client, tenant, trickling):
    """Even when an attempt outlives its lease (here: a deadline longer than the lease)."""
    subscription_id = subscribe(app, client, tenant, trickling.url)
    with app.app_context():
        enqueue(tenant["tenant_id"], subscription_id, 1)
        worker = Worker(
            app.extensions["secret_box"],
            allow_private=True,
            disable_after=dt.timedelta(hours=72),
            concurrency=4,
            lease=dt.timedelta(seconds=1),
            graceful_timeout=0.2,
        )
        worker.deadline = 30.0
        try:
            run_worker_for(worker, 3.5)  # the lease expires (and is looked for) several times
        finally:
            trickling.close()  # cuts an answer still trickling, so a worker without a deadline stops too
            worker.close()
        (delivery,) = Delivery.select()
    db.close()
    assert trickling.connections == 1 and len(trickling.webhook_ids) == 1
    # Cut on stop, unrecorded: another worker takes it once the lease has expired.
    assert delivery.status == "delivering" and delivery.attempts == 0


def worker_env(database_url: str) -> dict:
    env = service_env(database_url, TEST_SECRET_KEY)
    env["FLUX_RECON_ALLOW_PRIVATE_DESTINATIONS"] = "true"
    return env


def wait_for(condition, what: str, timeout: float = BOUND) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sigterm_stops_a_worker_with_a_hanging_delivery_within_its_graceful_timeout(app, client, tenant, trickling):
    subscription_id = subscribe(app, client, tenant, trickling.url)
    with app.app_context():
        (event_id,) = enqueue(tenant["tenant_id"], subscription_id, 1)
    db.close()
    env = worker_env(app.config["DATABASE_URL"])
    command = [str(BIN_DIR / "flux-recon"), "worker", "--poll-interval", "0.1", "--graceful-timeout", "1"]
    process = subprocess.Popen(
        [*command, "--lease-seconds", "4"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: trickling.webhook_ids, "the delivery to reach the receiver")
        process.send_signal(signal.SIGTERM)
        # Without the graceful timeout it would wait for the answer (minutes of trickle).
        output = process.communicate(timeout=15)[0]
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, output
    assert "cut" in output and "Traceback" not in output, output

    # Nothing lost: once its lease has run out, the delivery is sent again and succeeds.
    trickling.trickle = False
    time.sleep(4.5)
    drained = subprocess.run(
        [*command, "--until-idle"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert drained.returncode == 0, drained.stdout + drained.stderr
    with app.app_context():
        assert Delivery.get().status == "succeeded"
    db.close()
    assert trickling.webhook_ids == [event_id, event_id]


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {
        name: float(value)
        for name, value in re.findall(r"^(flux_recon_worker_database_\w+) (\S+)$", text, flags=re.MULTILINE)
    }


@pytest.mark.skipif(not POSTGRES_URL, reason="the outage is made between the worker and PostgreSQL")
def test_the_worker_rides_out_a_database_outage_and_delivers_what_came_meanwhile(postgres_schema):
    app = make_app(postgres_schema)
    receiver = start_receiver()
    url = urlsplit(postgres_schema)
    proxy = TcpProxy(url.hostname, url.port or 5432)
    # A password in the URL (ignored by a server that trusts loopback) that must not be logged.
    password = "pw-" + secrets.token_hex(8)
    proxied = postgres_schema.replace(
        f"{url.netloc}", f"{url.username or 'postgres'}:{password}@127.0.0.1:{proxy.port}", 1
    )
    metrics_port = free_port()
    process = None
    try:
        client = app.test_client()
        with app.app_context():
            from flux_recon.services.tenants import create_tenant

            row, api_key = create_tenant("Outage")
        db.close()
        tenant = {"tenant_id": row.id, "headers": {"Authorization": f"Bearer {api_key}"}}
        subscription_id = subscribe(app, client, tenant, receiver.url)
        with app.app_context():
            before = enqueue(tenant["tenant_id"], subscription_id, 5)
        db.close()

        command = [str(BIN_DIR / "flux-recon"), "worker", "--poll-interval", "0.2", "--metrics-port", str(metrics_port)]
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=worker_env(proxied), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        wait_for(lambda: len(receiver.requests) == 5, "the first deliveries")
        assert scrape(metrics_port)["flux_recon_worker_database_unavailable"] == 0

        proxy.cut()  # the database goes away for about five seconds
        cut_at = time.monotonic()
        with app.app_context():  # events keep coming (the web tier reaches the database directly)
            during = enqueue(tenant["tenant_id"], subscription_id, 5)
        db.close()
        wait_for(lambda: scrape(metrics_port).get("flux_recon_worker_database_unavailable") == 1, "the outage gauge")
        time.sleep(max(0.0, 5.0 - (time.monotonic() - cut_at)))
        assert process.poll() is None, "the worker exited during the outage"
        proxy.restore()

        wait_for(lambda: len(receiver.requests) == 10, "the deliveries made during the outage", timeout=60)
        wait_for(lambda: scrape(metrics_port).get("flux_recon_worker_database_unavailable") == 0, "recovery")
        assert scrape(metrics_port)["flux_recon_worker_database_errors_total"] >= 1
        with app.app_context():
            wait_for(lambda: Delivery.select().where(Delivery.status == "succeeded").count() == 10, "results recorded")
        db.close()
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=BOUND)[0]
        assert process.returncode == 0, output
    finally:
        if process is not None:
            process.kill()
            process.wait()
        proxy.close()
        receiver.server.shutdown()
        receiver.server.server_close()
        close_app(app)
    assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(before + during)
    assert "database unavailable" in output and "reachable again" in output, output
    assert "Traceback" not in output and password not in output, output
