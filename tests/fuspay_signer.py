"""A real HTTP server on 127.0.0.1 that plays Fuspay's signing endpoint (PartnerP2P/SignRequestSha512)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flux_recon import encode_json
from flux_recon_fuspay.signature import canonical_json

PATH = "/api/v1/no-auth/PartnerP2P/SignRequestSha512"


class Signer:
    """What the server does is chosen per test: ``mode`` is "sign" (Fuspay's algorithm as the
    plugin computes it locally, so both modes agree), "wrong" (a valid-looking signature of
    something else), "slow" (answers after ``delay`` seconds), "error" (HTTP 500).
    ``received`` keeps every request body, to see what was sent."""

    def __init__(self):
        self.mode = "sign"
        self.delay = 0.0
        self.received: list[bytes] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/no-auth"

    def answer(self, body: bytes) -> tuple[int, bytes]:
        self.received.append(body)
        if self.mode == "error":
            return 500, b'{"status": "error", "message": "internal error"}'
        if self.mode == "slow":
            time.sleep(self.delay)
        document = json.loads(body, parse_float=Decimal)  # numbers stay as they were sent
        secret = document.pop("secret")
        unsigned = encode_json(document)
        signature = hmac.new(secret.encode(), canonical_json(unsigned), hashlib.sha512).hexdigest()
        if self.mode == "wrong":
            signature = hashlib.sha512(b"something else").hexdigest()
        return 200, json.dumps({"status": "success", "data": {"signature": signature}}).encode()


@contextmanager
def running_signer():
    signer = Signer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server hook's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.rstrip("/") != PATH:
                status, answer = 404, b'{"message": "not found"}'
            else:
                status, answer = signer.answer(body)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the slow mode's point)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signer.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield signer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
