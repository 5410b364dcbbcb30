"""POSTing one webhook to a vetted destination: keep-alive pools, timeouts, bounded reads."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from dataclasses import dataclass

import urllib3

from .destinations import Target

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
SNIPPET_BYTES = 512
# Read at most this much of an answer; a receiver sending more gets its connection closed.
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "flux-recon-webhooks/1"


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    latency_ms: int
    snippet: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, from a Retry-After header

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


class Sender:
    """Thread-safe: one connection pool per destination, reused across deliveries."""

    def __init__(
        self, *, connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT, pool_size: int = 8
    ):
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.pool_size = pool_size
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.address, target.port, target.hostname)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                # Connect to the address the guard vetted; name the host for HTTP and TLS.
                if target.scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(
                        target.address,
                        target.port,
                        maxsize=self.pool_size,
                        server_hostname=target.hostname,
                        assert_hostname=target.hostname,
                        cert_reqs="CERT_REQUIRED",
                    )
                else:
                    pool = urllib3.HTTPConnectionPool(target.address, target.port, maxsize=self.pool_size)
                self._pools[key] = pool
            return pool

    def post(self, target: Target, body: bytes, headers: dict[str, str]) -> SendResult:
        default_port = 443 if target.scheme == "https" else 80
        host = target.hostname if target.port == default_port else f"{target.hostname}:{target.port}"
        if ":" in target.hostname and not host.startswith("["):  # an IPv6 literal
            host = f"[{target.hostname}]" + ("" if target.port == default_port else f":{target.port}")
        all_headers = {"Host": host, "User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
        started = time.monotonic()
        try:
            response = self._pool(target).urlopen(
                "POST",
                target.path,
                body=body,
                headers=all_headers,
                retries=False,
                redirect=False,
                timeout=self.timeout,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            return SendResult(None, _ms(started), error=f"{type(exc).__name__}: {exc}"[:300])
        try:
            data = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib3.exceptions.HTTPError as exc:
            response.close()
            return SendResult(response.status, _ms(started), error=f"reading the answer: {exc}"[:300])
        if len(data) > MAX_RESPONSE_BYTES:
            response.close()  # not worth reading the rest; do not reuse this connection
        else:
            response.release_conn()
        return SendResult(
            response.status,
            _ms(started),
            snippet=data[:SNIPPET_BYTES].decode("utf-8", errors="replace"),
            retry_after=parse_retry_after(response.headers.get("Retry-After"), time.time()),
        )

    @staticmethod
    def encode(document: dict) -> bytes:
        """The exact bytes sent (and signed) for an event document."""
        return json.dumps(document, separators=(",", ":")).encode()

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
