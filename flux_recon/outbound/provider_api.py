"""The HTTP session a provider's SettlementApi calls through: vetted base URL, timeouts, retries with backoff."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3

from flux_recon.outbound.destinations import DestinationRefused, Target, check_destination
from flux_recon.providers.settlement_api import (
    ProviderApiError,
    ProviderAuthRefused,
    ProviderUnavailable,
    api_base_url_problems,
    is_loopback_host,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
RETRIES = 3  # after the first attempt
BACKOFF = 0.5  # seconds before the first retry, doubled each time
MAX_BACKOFF = 8.0
MAX_ANSWER_BYTES = 32 * 1024 * 1024
USER_AGENT = "flux-recon-settlements/1"
RETRIED_STATUSES = (429, 500, 502, 503, 504)


class HttpSession:
    """One provider API base URL, called by one pull. Loopback hosts (allowed only by the
    operator's FLUX_RECON_PROVIDER_API_LOOPBACK=1) are used as written; any other host is
    resolved once and vetted by the SSRF guard, and the vetted address is what is connected
    to (TLS still checks the host's certificate)."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        retries: int = RETRIES,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ):
        problems = api_base_url_problems(base_url)
        if problems:
            raise ProviderApiError(f"the API base URL {problems[0]}")
        self.base_url = base_url.strip().rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.target = _target(self.base_url)
        self.pool = self.target.pool(timeout=self.timeout)
        self.base_path = urlsplit(self.base_url).path.rstrip("/")

    def close(self) -> None:
        self.pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get_json(
        self, path: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:  # noqa: E501
        return self.request("GET", path, params=params, headers=headers)

    def post_json(self, path: str, *, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        return self.request("POST", path, body=body, headers=headers)

    def request(self, method: str, path: str, *, params=None, body=None, headers=None) -> Any:
        url = self.base_path + "/" + path.lstrip("/")
        if params:
            url += "?" + urlencode({k: v for k, v in params.items() if v is not None})
        sent = {
            "Host": self.target.host_header,
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        }
        data = None
        if body is not None:
            data = json.dumps(body, default=str).encode()
            sent["Content-Type"] = "application/json"
        where = f"{self.target.hostname} {method} {path.split('?')[0]}"
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                status, answer, retry_after = self._once(method, url, data, sent)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if last:
                    raise ProviderUnavailable(f"{where}: {_why(exc)}") from None
                self._wait(attempt, None, f"{where}: {_why(exc)}")
                continue
            if status in (401, 403):
                raise ProviderAuthRefused(f"{where}: HTTP {status}, the API credentials were refused", status)
            if status in RETRIED_STATUSES:
                if last:
                    raise ProviderUnavailable(f"{where}: HTTP {status} after {self.retries + 1} attempts", status)
                self._wait(attempt, retry_after, f"{where}: HTTP {status}")
                continue
            if not 200 <= status < 300:
                raise ProviderApiError(f"{where}: HTTP {status}", status)
            try:
                return json.loads(answer.decode("utf-8"), parse_float=Decimal)
            except (ValueError, UnicodeError, RecursionError):
                raise ProviderApiError(f"{where}: the answer is not JSON", status) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method, url, data, headers) -> tuple[int, bytes, float | None]:
        response = self.pool.urlopen(
            method,
            url,
            body=data,
            headers=headers,
            retries=False,
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            answer = _read(response)
        finally:
            response.release_conn()
        return response.status, answer, _retry_after(response.headers.get("Retry-After"))

    def _wait(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = min(MAX_BACKOFF, self.backoff * (2**attempt))
        if retry_after is not None:
            delay = min(MAX_BACKOFF, max(delay, retry_after))
        log.info("provider API: %s; retrying in %.1f s", why, delay)
        self.sleep(delay)


def _target(base_url: str) -> Target:
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if is_loopback_host(parts.hostname):
        # Loopback is named as a literal address, never looked up: nothing can redirect it.
        return Target(parts.scheme, parts.hostname, parts.hostname.strip("[]"), port, parts.path or "/")
    try:
        return check_destination(base_url, allow_private=False)
    except DestinationRefused as exc:
        raise ProviderApiError(f"the API base URL cannot be used: {exc}") from None


def _read(response) -> bytes:
    chunks, size = [], 0
    while True:
        chunk = response.read(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise urllib3.exceptions.ProtocolError(f"an answer longer than {MAX_ANSWER_BYTES} bytes")


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff applies


def _why(exc: Exception) -> str:
    """A short reason; never a body (requests carry secrets)."""
    if isinstance(exc, (urllib3.exceptions.TimeoutError, urllib3.exceptions.ReadTimeoutError)):
        return "timed out"
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return _why(exc.reason)
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "connection refused or unreachable"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "TLS handshake failed (certificate or protocol)"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return f"broken answer ({exc})"
    return type(exc).__name__
