"""Slow peers against real gunicorn: clients trickling requests and receivers trickling answers
hold up neither a provider's webhook nor the health check."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from flux_recon.services.subscriptions import TEST_DEADLINE
from tests.conftest import core_payload, core_signature
from tests.live_server import HOST, Server, api, create_tenant, live_server, request

# "Answered, not hung": the slow peers below go on for far longer than this.
WITHIN = 5.0
SLOW_CLIENTS = 3
BODY_BYTES = 200  # a slow client's declared body: it never sends it all


class SlowClient:
    """Sends a webhook request one byte a second: all of the headers at once and then the
    body, or the headers too (``headers=True``). Stops when told, or when cut off."""

    def __init__(self, port: int, path: str, *, headers: bool = False):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {BODY_BYTES}\r\n\r\n"
        ).encode()
        self._upfront, self._trickled = (b"", head + b"{" * BODY_BYTES) if headers else (head, b"{" * BODY_BYTES)
        self.sock = socket.create_connection((HOST, port), timeout=10)
        self.stopped = threading.Event()
        self.cut_off = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.sock.sendall(self._upfront)
            for byte in self._trickled[:-1]:  # never the last one: the request stays open
                self.sock.sendall(bytes([byte]))
                self.sent += 1
                if self.stopped.wait(1.0):
                    return
        except OSError:
            self.cut_off.set()

    def closed_by_server(self, within: float) -> bool:
        """Whether the server closes the connection within ``within`` seconds."""
        self.sock.settimeout(within)
        try:
            while self.sock.recv(4096):
                pass  # an answer (say, 400 for the cut body) before the close
            return True
        except ConnectionError:
            return True
        except TimeoutError:
            return False

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(timeout=5)
        self.sock.close()


def start_slow_clients(port: int, path: str) -> list[SlowClient]:
    clients = [SlowClient(port, path, headers=n == 0) for n in range(SLOW_CLIENTS)]
    # Long enough for each to be read by a worker (and to have trickled a few bytes).
    deadline = time.monotonic() + 10
    while min(client.sent for client in clients) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    return clients


def setup_webhook(server: Server) -> tuple[str, str, str, str]:
    """A tenant with a core integration that admits 127.0.0.1, and an order to pay: the
    tenant's id and API key, the webhook path and its secret."""
    tenant = create_tenant(server)
    integration = api(server, tenant["api_key"], "POST", "/api/v1/integrations", {"provider": "core"}).json
    allowed = api(
        server, tenant["api_key"], "POST", f"/api/v1/integrations/{integration['id']}/allowlist", {"cidr": f"{HOST}/32"}
    )
    assert allowed.status == 201, allowed.body
    order = {"reference": "INV-1001", "amount": "15000.00", "currency": "NGN"}
    assert api(server, tenant["api_key"], "POST", "/api/v1/orders", order).status == 201
    path, secret = urlsplit(integration["webhook_url"]).path, integration["credentials"][0]["secret"]
    return tenant["tenant_id"], tenant["api_key"], path, secret


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def post_webhook(server: Server, tenant_id: str, path: str, secret: str):
    body = json.dumps(core_payload(tenant_id)).encode()
    headers = {"Content-Type": "application/json", "Signature": core_signature(body, secret)}
    return request(server.port, "POST", path, body=body, headers=headers)


def test_slow_clients_do_not_delay_a_webhook_or_the_health_check(database_url, tmp_path):
    with live_server(database_url, tmp_path) as server:
        tenant_id, _, path, secret = setup_webhook(server)
        clients = start_slow_clients(server.port, path)
        try:
            health, took = timed(lambda: request(server.port, "GET", "/healthz"))
            assert health.status == 200 and took < WITHIN, (health.status, took)
            webhook, took = timed(lambda: post_webhook(server, tenant_id, path, secret))
            assert webhook.status == 200 and took < WITHIN, (webhook.status, took, webhook.body)
            assert webhook.json["reconciliation"] == "matched", webhook.json
            # The slow clients were still being read all along, not dropped.
            assert not any(client.cut_off.is_set() for client in clients)
        finally:
            for client in clients:
                client.stop()


def test_a_request_still_running_after_the_timeout_has_its_connection_cut(database_url, tmp_path):
    # A peer that keeps trickling would otherwise keep its thread for as long as it likes.
    with live_server(database_url, tmp_path, settings={"TIMEOUT": 3}) as server:
        tenant_id, _, path, secret = setup_webhook(server)
        clients = start_slow_clients(server.port, path)
        try:
            for client in clients:
                assert client.closed_by_server(within=10), "a slow client kept its connection past the timeout"
            # The threads are free again.
            webhook, took = timed(lambda: post_webhook(server, tenant_id, path, secret))
            assert webhook.status == 200 and took < WITHIN, (webhook.status, took, webhook.body)
        finally:
            for client in clients:
                client.stop()
        server.stop()
        # A cut request ends like a client that hung up (a short body fails its signature).
        assert "Traceback" not in server.log(), server.log()


class TricklingReceiver:
    """A webhook receiver on loopback that answers one byte a second, for as long as it is
    let (each read of it succeeds, so per-read timeouts never fire)."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"

    def __init__(self):
        self.listener = socket.create_server((HOST, 0))
        self.listener.settimeout(0.2)
        self.stopped = threading.Event()
        self.connections = 0
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.listener.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._trickle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                conn.recv(65536)  # the request (small enough for one read)
                for byte in self.ANSWER:
                    conn.sendall(bytes([byte]))
                    if self.stopped.wait(1.0):
                        return
            except OSError:
                pass  # the sender hung up, as it should

    def stop(self) -> None:
        self.stopped.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.listener.close()


def test_test_pings_to_a_trickling_receiver_end_at_their_deadline(database_url, tmp_path):
    receiver = TricklingReceiver()
    try:
        with live_server(database_url, tmp_path, settings={"ALLOW_PRIVATE_DESTINATIONS": "true"}) as server:
            tenant_id, key, path, secret = setup_webhook(server)
            subscription = {
                "label": "slow",
                "url": receiver.url,
                "events": ["payment.received"],
                "authentication": {"type": "none"},
                "signature": {"type": "none"},
            }
            created = api(server, key, "POST", "/api/v1/subscriptions", subscription)
            assert created.status == 201, created.body
            ping = f"/api/v1/subscriptions/{created.json['id']}/test"

            with ThreadPoolExecutor(max_workers=SLOW_CLIENTS) as pool:
                pings = [pool.submit(timed, lambda: api(server, key, "POST", ping)) for _ in range(SLOW_CLIENTS)]
                time.sleep(1)  # all three are waiting on the receiver now
                webhook, took = timed(lambda: post_webhook(server, tenant_id, path, secret))
                assert webhook.status == 200 and took < WITHIN, (webhook.status, took, webhook.body)
                for future in pings:
                    answer, took = future.result(timeout=TEST_DEADLINE + WITHIN)
                    assert answer.status == 200, answer.body
                    # Cut at the deadline (give or take the machine's load), documented shape.
                    assert took < TEST_DEADLINE + WITHIN, took
                    assert answer.json["ok"] is False, answer.json
                    assert "deadline" in answer.json["error"], answer.json
                    assert answer.json["latency_ms"] >= TEST_DEADLINE * 1000 - 100, answer.json
            assert receiver.connections == SLOW_CLIENTS
    finally:
        receiver.stop()
