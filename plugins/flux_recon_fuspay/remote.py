"""Fuspay's documented way to check a webhook: post it, without its signature, to Fuspay's signing endpoint."""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import time
from typing import Any
from urllib.parse import urlsplit

import urllib3

# The core's SSRF guard (flux_recon.outbound.destinations). A third-party plugin would import
# only the public API; a shipped plugin is released with the core, and the guard's checks
# (private, link-local, metadata, NAT64 and 6to4 addresses; a DNS answer pinned so it cannot
# change before the connection) are better reused than copied.
from flux_recon import AuthUnavailable
from flux_recon.outbound.destinations import DestinationRefused, Target, check_destination

# "https://exchanger-api.fuspay.finance/api/v1/no-auth/PartnerP2P/SignRequestSha512/"
# (docs.fuspay.us, "Webhook Validation & Request Integrity"; docs.fuspay.finance, "Digital
# Signatures"): the base is everything before /PartnerP2P.
DEFAULT_BASE_URL = "https://exchanger-api.fuspay.finance/api/v1/no-auth"
SIGNING_PATH = "/PartnerP2P/SignRequestSha512"
SIGNATURE_FIELD = "signature"
# Fuspay's signing endpoint takes the secret as a body field of the object to sign.
SECRET_FIELD = "secret"  # noqa: S105 - a field name, not a secret
# Fuspay retries a webhook answered 503, so waiting longer than this buys nothing but a held worker.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
DEADLINE = 8.0
MAX_ANSWER_BYTES = 16 * 1024
USER_AGENT = "flux-recon-fuspay/1"
# An operator's opt-in (environment, not a tenant's option): http to a loopback address, for
# a local signing proxy or a test server. Off, a tenant could make this server post to its
# own local ports.
LOOPBACK_SETTING = "FLUX_RECON_FUSPAY_LOOPBACK_SIGNER"


def loopback_allowed() -> bool:
    return os.environ.get(LOOPBACK_SETTING, "").strip().lower() in ("1", "true", "yes")


def base_url_problems(url: Any) -> list[str]:
    """Why ``url`` cannot be the signing endpoint's base (none when it can): https with a
    host name, or, where the operator set FLUX_RECON_FUSPAY_LOOPBACK_SIGNER=1, http to a
    loopback address (a local signing proxy, or a test server)."""
    if not isinstance(url, str) or not url.strip():
        return ["must be a URL such as " + DEFAULT_BASE_URL]
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        return [f"cannot be read as a URL: {exc}"]
    del port  # read only so a bad port is refused here rather than at the first webhook
    problems = []
    if parts.scheme not in ("https", "http") or not parts.hostname:
        problems.append("must be https://host/... (http only to a loopback address)")
    elif parts.scheme == "http" and not _is_loopback(parts.hostname):
        problems.append("must use https: the request carries the integration's secrets")
    elif _is_loopback(parts.hostname) and not loopback_allowed():
        problems.append(f"must not be a loopback address unless the operator sets {LOOPBACK_SETTING}=1")
    if parts.username or parts.password:
        problems.append("must not carry credentials")
    if parts.query or parts.fragment:
        problems.append(f"must be a base URL, without a query or fragment; {SIGNING_PATH} is added to it")
    return problems


def signing_request(body: bytes, secret: str) -> bytes:
    """What Fuspay's signing endpoint is sent: the webhook body as received without its
    top-level ``signature``, fields in their order and numbers exactly as sent, with the
    ``secret`` field Fuspay documents (the key Fuspay signs with) added last."""
    document = json.loads(
        body.decode("utf-8"), object_pairs_hook=_Object, parse_int=_NumberText, parse_float=_NumberText
    )
    if not isinstance(document, _Object):
        raise ValueError("the webhook body is not a JSON object")
    fields = _Object((name, value) for name, value in document if name not in (SIGNATURE_FIELD, SECRET_FIELD))
    fields.append((SECRET_FIELD, secret))
    return _write(fields).encode("utf-8")


def fetch_signature(base_url: str, request_body: bytes) -> str:
    """POST ``request_body`` to ``<base_url>/PartnerP2P/SignRequestSha512`` and return the
    signature Fuspay answers with. Every way it can fail to answer (refused address, no
    connection, timeout, a non-2xx status, an answer without a signature) raises
    AuthUnavailable, whose message never holds the body (it carries the secret)."""
    target = _target(base_url)
    where = target.hostname
    # Connect to the address the guard vetted; the certificate must name the host.
    pool = target.pool(timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT))
    started = time.monotonic()
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=request_body,
            headers={
                "Host": target.host_header,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            retries=False,
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            answer = _read(response, started)
        finally:
            response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise AuthUnavailable(f"Fuspay's signing endpoint ({where}) did not answer: {_why(exc)}") from None
    finally:
        pool.close()
    if not 200 <= response.status < 300:
        raise AuthUnavailable(f"Fuspay's signing endpoint ({where}) answered HTTP {response.status}")
    signature = signature_in(answer)
    if signature is None:
        raise AuthUnavailable(f"Fuspay's signing endpoint ({where}) answered without a signature")
    return signature


def signature_in(answer: bytes) -> str | None:
    """The signature in the signing endpoint's answer. Fuspay does not document the answer's
    shape: a JSON string, or ``signature`` at the top level or inside ``data`` (``data`` may
    also be the signature itself), are all read."""
    try:
        document = json.loads(answer.decode("utf-8"))
    except (ValueError, UnicodeError, RecursionError):
        return None
    candidates = [document]
    if isinstance(document, dict):
        data = document.get("data")
        candidates = [
            document.get(SIGNATURE_FIELD),
            data,
            data.get(SIGNATURE_FIELD) if isinstance(data, dict) else None,
        ]
    for value in candidates:
        if isinstance(value, str) and _is_hex_signature(value):
            return value.strip()
    return None


def same_signature(provided: str, returned: str) -> bool:
    """Hex signatures equal in any case, compared in constant time."""
    return hmac.compare_digest(provided.strip().lower().encode("utf-8"), returned.strip().lower().encode("utf-8"))


class _NumberText(str):
    """A JSON number kept as the exact characters it was sent as."""


class _Object(list):
    """A JSON object as its (name, value) pairs, in the order they were sent."""


def _write(value: Any) -> str:
    if isinstance(value, _Object):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_write(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_write(item) for item in value) + "]"
    if isinstance(value, _NumberText):
        return str(value)
    return json.dumps(value, ensure_ascii=False)  # strings, true, false, null


def _is_loopback(hostname: str) -> bool:
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere, so it goes through the guard


def _target(base_url: str) -> Target:
    problems = base_url_problems(base_url)
    if problems:
        raise AuthUnavailable(f"the integration's signing_base_url {problems[0]}")
    url = base_url.strip().rstrip("/") + SIGNING_PATH
    parts = urlsplit(url)
    if _is_loopback(parts.hostname):
        # Loopback is named as a literal address, never looked up: nothing can redirect it.
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return Target(parts.scheme, parts.hostname, parts.hostname, port, parts.path)
    try:
        return check_destination(url, allow_private=False)
    except DestinationRefused as exc:
        raise AuthUnavailable(f"Fuspay's signing endpoint cannot be used: {exc}") from None


def _read(response, started: float) -> bytes:
    """The answer, at most MAX_ANSWER_BYTES, read one receive at a time so that a peer
    trickling bytes is cut at the deadline (each receive waits at most READ_TIMEOUT)."""
    chunks, size = [], 0
    while True:
        if time.monotonic() - started > DEADLINE:
            raise urllib3.exceptions.ReadTimeoutError(None, None, f"no complete answer within {DEADLINE:g} s")
        chunk = response.read1(4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise urllib3.exceptions.ProtocolError(f"an answer longer than {MAX_ANSWER_BYTES} bytes")


def _why(exc: Exception) -> str:
    """A short reason; the exception's own text may quote the address, never the body."""
    if isinstance(exc, (urllib3.exceptions.TimeoutError, urllib3.exceptions.ReadTimeoutError)):
        return "timed out"
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        return _why(exc.reason)
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "connection refused or unreachable"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "TLS handshake failed (certificate or protocol)"
    return type(exc).__name__


def _is_hex_signature(value: str) -> bool:
    text = value.strip()
    return bool(text) and len(text) <= 256 and all(c in "0123456789abcdefABCDEF" for c in text)


__all__ = [
    "DEFAULT_BASE_URL",
    "SIGNING_PATH",
    "base_url_problems",
    "fetch_signature",
    "same_signature",
    "signature_in",
    "signing_request",
]
