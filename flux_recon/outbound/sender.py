"""POSTing one webhook to a vetted destination: keep-alive pools, timeouts, a deadline per
attempt, bounded reads."""

from __future__ import annotations

import contextvars
import heapq
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import InvalidHeader
from urllib3.util import Retry

from flux_recon.outbound.destinations import Target
from flux_recon.outbound.schedule import MAX_RETRY_AFTER

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


# urllib3 reads the header (whole seconds or an HTTP date; never negative) and caps it at the
# longest wait the retry schedule allows.
_RETRY_AFTER = Retry(retry_after_max=int(MAX_RETRY_AFTER.total_seconds()))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header, at most MAX_RETRY_AFTER; None when it is
    absent or unreadable (the retry schedule applies)."""
    if not value:
        return None
    try:
        return float(_RETRY_AFTER.parse_retry_after(value))
    except (InvalidHeader, ValueError, OverflowError):  # too many digits for int(), a year past 9999
        return None


class _Attempt:
    """One POST under a deadline: the connection it uses is cut when the time is up."""

    def __init__(self, deadline: float):
        self.deadline = deadline  # time.monotonic()
        self.connection: HTTPConnection | None = None
        self.expired = False
        self.done = False
        self._lock = threading.Lock()

    def cut(self) -> bool:
        """Shut the socket down (a blocked read or write returns at once); False while
        there is no socket yet, to be tried again."""
        with self._lock:
            if self.done:
                return True
            self.expired = True
            sock = getattr(self.connection, "sock", None)
        if sock is None:
            return False
        try:
            # socket.socket's own shutdown, also for TLS: the SSL object stays for the reader.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
        return True

    def finish(self) -> bool:
        """Stop watching; True if the deadline cut the attempt."""
        with self._lock:
            self.done = True
            return self.expired


# The attempt running in this thread, for the connection to register itself with.
_current_attempt: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar("flux_recon_attempt", default=None)


class _Watched:
    """Connection mixin: the attempt in progress learns which connection (and socket) it uses,
    whether the pool opened it now or kept it alive from an earlier delivery."""

    def request(self, *args, **kwargs):
        attempt = _current_attempt.get()
        if attempt is not None:
            attempt.connection = self
        return super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _Watchdog:
    """One thread cutting the attempts whose deadline passed. Socket timeouts alone cannot
    do it: they bound each read, and a receiver trickling a byte at a time never trips one."""

    RETRY = 0.05  # seconds until a cut is tried again when the socket was not there yet

    def __init__(self):
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Attempt]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, attempt: _Attempt) -> None:
        with self._cond:
            heapq.heappush(self._heap, (attempt.deadline, next(self._order), attempt))
            # Started on first use, and again in a forked child (threads do not survive fork).
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, attempt = heapq.heappop(self._heap)
                if not attempt.cut():
                    heapq.heappush(self._heap, (time.monotonic() + self.RETRY, next(self._order), attempt))


_watchdog = _Watchdog()


class Sender:
    """Thread-safe: one connection pool per destination, reused across deliveries."""

    def __init__(
        self, *, connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT, pool_size: int = 8
    ):
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.pool_size = pool_size
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()
        self._attempts: set[_Attempt] = set()  # those with a deadline, running now
        self._aborted = False

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.address, target.port, target.hostname)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = target.pool(maxsize=self.pool_size)
                pool.ConnectionCls = _WatchedHTTPSConnection if target.scheme == "https" else _WatchedHTTPConnection
                self._pools[key] = pool
            return pool

    def post(
        self, target: Target, body: bytes, headers: dict[str, str], *, deadline: float | None = None
    ) -> SendResult:
        """One POST. ``deadline``: seconds for the whole attempt (connect, send, answer and
        its body); when it passes the connection is cut and the result says so."""
        if deadline is None:
            return self._post(target, body, headers, self.timeout, None)
        attempt = _Attempt(time.monotonic() + deadline)
        with self._lock:
            if self._aborted:
                return SendResult(None, 0, error="not sent: the sender was stopped")
            self._attempts.add(attempt)
        timeout = urllib3.Timeout(
            connect=min(self.timeout.connect_timeout, deadline), read=min(self.timeout.read_timeout, deadline)
        )
        token = _current_attempt.set(attempt)
        _watchdog.watch(attempt)
        try:
            result = self._post(target, body, headers, timeout, attempt)
        finally:
            _current_attempt.reset(token)
            expired = attempt.finish()
            with self._lock:
                self._attempts.discard(attempt)
        # A silent receiver trips the read timeout (itself no longer than the deadline) first.
        if expired or (result.error and time.monotonic() >= attempt.deadline):
            message = f"no complete answer within {deadline:g} s (the deadline for the whole attempt)"
            result = SendResult(result.status_code, result.latency_ms, snippet=result.snippet, error=message)
        return result

    def _post(
        self, target: Target, body: bytes, headers: dict[str, str], timeout: urllib3.Timeout, attempt: _Attempt | None
    ) -> SendResult:
        all_headers = {
            "Host": target.host_header,
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            **headers,
        }
        started = time.monotonic()
        try:
            response = self._pool(target).urlopen(
                "POST",
                target.path,
                body=body,
                headers=all_headers,
                retries=False,
                redirect=False,
                timeout=timeout,
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
        if len(data) > MAX_RESPONSE_BYTES or (attempt is not None and attempt.expired):
            response.close()  # not worth reading the rest, or cut by the deadline: do not reuse it
        else:
            response.release_conn()
        return SendResult(
            response.status,
            _ms(started),
            snippet=data[:SNIPPET_BYTES].decode("utf-8", errors="replace"),
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def abort(self) -> None:
        """Cut every attempt with a deadline now, and send no more (the caller is stopping)."""
        with self._lock:
            self._aborted = True
            attempts = list(self._attempts)
        for attempt in attempts:
            attempt.deadline = time.monotonic()
            _watchdog.watch(attempt)

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
