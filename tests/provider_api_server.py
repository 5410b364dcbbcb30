"""A real local HTTP server playing a provider's API (Monnify, Paystack): scripted answers, recorded requests."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeProviderApi:
    """Answers ``(method, path)`` with the scripted answers in turn (the last one repeats):
    each ``(status, json body, delay seconds)``. Unknown paths are 404. Every request is kept
    as ``(method, path, query, headers)``."""

    def __init__(self):
        self.scripts: dict[tuple[str, str], list[tuple[int, object, float]]] = {}
        self.requests: list[tuple[str, str, dict, dict]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def answer(self, method: str, path: str, *answers) -> None:
        """``answers``: bodies (200), or ``(status, body)`` / ``(status, body, delay)``."""
        script = []
        for item in answers:
            if isinstance(item, tuple):
                status, body, *rest = item
                script.append((status, body, rest[0] if rest else 0.0))
            else:
                script.append((200, item, 0.0))
        with self.lock:
            self.scripts[(method, path)] = script

    def paths(self, method: str | None = None) -> list[str]:
        return [path for m, path, _, _ in self.requests if method is None or m == method]

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _next(self, method: str, path: str):
        with self.lock:
            script = self.scripts.get((method, path))
            if not script:
                return 404, {"status": False, "message": "not found"}, 0.0
            return script.pop(0) if len(script) > 1 else script[0]


@contextmanager
def fake_provider_api():
    fake = FakeProviderApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with fake.lock:
                fake.requests.append((self.command, parts.path, parse_qs(parts.query), dict(self.headers)))
            status, body, delay = fake._next(self.command, parts.path)
            if delay:
                time.sleep(delay)
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def monnify_login(token: str = "eyJ.test.token") -> dict:  # noqa: S107 - a fake bearer token
    """Monnify's answer to POST /api/v1/auth/login (its documented shape)."""
    return {
        "requestSuccessful": True,
        "responseMessage": "success",
        "responseCode": "0",
        "responseBody": {"accessToken": token, "expiresIn": 3599},
    }


def paystack_settlements(*payouts: dict, page: int = 1, page_count: int = 1) -> dict:
    """Paystack's answer to GET /settlement (its documented shape; amounts in kobo)."""
    return {
        "status": True,
        "message": "Settlements retrieved",
        "data": list(payouts),
        "meta": {"total": len(payouts), "skipped": 0, "perPage": 100, "page": page, "pageCount": page_count},
    }


def paystack_payout(payout_id: int, day: str, processed: int, fees: int, status: str = "success") -> dict:
    return {
        "id": payout_id,
        "domain": "test",
        "status": status,
        "currency": "NGN",
        "integration": 463433,
        "total_amount": processed - fees,
        "effective_amount": processed - fees,
        "total_fees": fees,
        "total_processed": processed,
        "deductions": None,
        "settlement_date": f"{day}T00:00:00.000Z",
        "settled_by": None,
        "createdAt": f"{day}T03:01:42.000Z",
        "updatedAt": f"{day}T07:15:53.000Z",
    }


def paystack_transactions(*charges: tuple[str, int, int]) -> dict:
    """GET /settlement/:id/transactions: the charges (reference, amount kobo, fees kobo)."""
    return {
        "status": True,
        "message": "Transactions retrieved",
        "data": [
            {
                "id": 4099260516 + i,
                "domain": "test",
                "status": "success",
                "reference": reference,
                "amount": amount,
                "fees": fees,
                "currency": "NGN",
                "channel": "card",
                "paid_at": "2026-11-22T09:15:03.000Z",
                "created_at": "2026-11-22T09:14:50.000Z",
                "customer": {"email": "ada@example.com"},
            }
            for i, (reference, amount, fees) in enumerate(charges)
        ],
        "meta": {"total": len(charges), "skipped": 0, "perPage": 100, "page": 1, "pageCount": 1},
    }
