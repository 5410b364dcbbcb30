"""The generic provider's verification: HMAC, a token, Basic auth or Standard Webhooks, as each integration says."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook

from flux_recon import AuthCheck, AuthFailure, CredentialValue, WebhookRequest

SECRET = "secret"  # noqa: S105 - the credential's name, not a secret
STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
# A Unix time in seconds or milliseconds: ASCII digits, no sign, no fraction, bounded.
TIMESTAMP = re.compile(r"[0-9]{1,16}", re.ASCII)
MAX_WEBHOOK_ID = 256

Clock = Callable[[], float]


class ConfiguredVerification(AuthCheck):
    """Verifies a webhook the way the integration's ``verification`` option says.

    The secret (HMAC key, shared token, Basic-auth password or Standard Webhooks key) is the
    integration's supplied credential ``secret``; every secret still valid (a rotation's
    grace) is tried, each compared in constant time on the raw body bytes.

    :param clock: the current Unix time in seconds, for the timestamp windows (tests pass a fixed one).
    """

    # Headers that commonly carry a signature, a token or a password: the inbox keeps them
    # redacted. (A header the merchant names in the configuration is not kept at all.)
    sensitive_headers = ("Authorization", "X-Signature", "webhook-signature")

    def __init__(self, clock: Clock = time.time):
        self.clock = clock

    def describe(self) -> dict[str, Any]:
        return {"type": "configured", "modes": ["none", "hmac", "token", "basic", "standard_webhooks"]}

    def verify(self, request: WebhookRequest, context) -> CredentialValue | None:
        config = _configuration(context.options)
        mode = config["mode"]
        if mode == "none":
            return None
        secrets = [c for c in context.credentials if c.name == SECRET]
        if not secrets:
            raise AuthFailure(
                "no secret is set for this integration: set it with PUT /api/v1/integrations/{id}/secrets/secret"
            )
        return getattr(self, f"_verify_{mode}")(request, config, secrets)

    # -- HMAC ---------------------------------------------------------------------------

    def _verify_hmac(self, request, config, secrets):
        header = config["header"]
        provided = request.header(header)
        if not provided:
            raise AuthFailure(f"missing signature (header {header})")
        provided = provided.strip()
        prefix = config["prefix"]
        if prefix:
            if not provided.startswith(prefix):
                raise AuthFailure(f"signature (header {header}) does not start with {prefix!r}")
            provided = provided[len(prefix) :]
        if config["encoding"] == "hex":
            provided = provided.lower()  # hex digests are written in either case
        message = self._signed_message(request, config)
        candidate = _ascii(provided)
        for credential in secrets:
            expected = _encode(_mac(config["algorithm"], credential.secret.encode(), message), config["encoding"])
            if candidate is not None and hmac.compare_digest(candidate, expected):
                return credential
        raise AuthFailure(f"signature (header {header}) does not match")

    def _signed_message(self, request, config) -> bytes:
        if config["signed_content"] == "body":
            return request.body
        stamp = request.header(config["timestamp_header"])
        self._fresh(stamp, config["timestamp_header"], config["tolerance_seconds"], config["timestamp_unit"])
        return stamp.strip().encode("ascii") + config["separator"].encode("utf-8") + request.body

    def _fresh(self, stamp: str | None, header: str, tolerance: int, unit: str = "seconds") -> int:
        """The timestamp in whole seconds, refused when missing, malformed or outside the window."""
        if not stamp:
            raise AuthFailure(f"missing timestamp (header {header})")
        if not TIMESTAMP.fullmatch(stamp.strip()):
            raise AuthFailure(f"timestamp (header {header}) must be a Unix time in {unit}")
        value = int(stamp.strip())
        seconds = value // 1000 if unit == "milliseconds" else value
        if abs(self.clock() - (value / 1000 if unit == "milliseconds" else value)) > tolerance:
            raise AuthFailure(
                f"timestamp (header {header}) is more than {tolerance} seconds from now: a stale or replayed request"
            )
        return seconds

    # -- a shared token -----------------------------------------------------------------

    def _verify_token(self, request, config, secrets):
        header = config["header"]
        provided = request.header(header)
        if not provided:
            raise AuthFailure(f"missing token (header {header})")
        prefix = config["prefix"]
        if prefix:
            if not provided.startswith(prefix):
                raise AuthFailure(f"token (header {header}) does not start with {prefix!r}")
            provided = provided[len(prefix) :]
        candidate = _utf8(provided.strip())
        for credential in secrets:
            expected = _utf8(credential.secret)
            if candidate is not None and expected is not None and hmac.compare_digest(candidate, expected):
                return credential
        raise AuthFailure(f"token (header {header}) does not match")

    # -- Basic auth ---------------------------------------------------------------------

    def _verify_basic(self, request, config, secrets):
        provided = request.header("Authorization")
        if not provided:
            raise AuthFailure("missing Basic credentials (header Authorization)")
        scheme, _, encoded = provided.strip().partition(" ")
        if scheme.lower() != "basic":
            raise AuthFailure("the Authorization header must use the Basic scheme")
        try:
            username, colon, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            raise AuthFailure("the Basic credentials are not Base64 of username:password") from None
        if not colon:
            raise AuthFailure("the Basic credentials are not Base64 of username:password")
        user_ok = hmac.compare_digest(username.encode(), config["username"].encode())
        for credential in secrets:
            expected = _utf8(credential.secret) or b""
            # Both halves compared every time, so the timing tells nothing about which is wrong.
            if hmac.compare_digest(password.encode(), expected) and user_ok:
                return credential
        raise AuthFailure("the Basic credentials do not match")

    # -- Standard Webhooks --------------------------------------------------------------

    def _verify_standard_webhooks(self, request, config, secrets):
        msg_id, stamp, signatures = (request.header(name) for name in STANDARD_HEADERS)
        for name, value in zip(STANDARD_HEADERS, (msg_id, stamp, signatures), strict=True):
            if not value:
                raise AuthFailure(f"missing header {name} (Standard Webhooks)")
        if len(msg_id) > MAX_WEBHOOK_ID:
            raise AuthFailure(f"header webhook-id is longer than {MAX_WEBHOOK_ID} characters")
        seconds = self._fresh(stamp, "webhook-timestamp", config["tolerance_seconds"])
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthFailure("the body is not UTF-8, so its Standard Webhooks signature cannot match") from None
        provided = [_ascii(entry) for entry in signatures.split(" ") if entry]
        usable = False
        for credential in secrets:
            expected = _standard_signature(credential.secret, msg_id, seconds, text)
            if expected is None:
                continue
            usable = True
            if any(p is not None and hmac.compare_digest(p, expected) for p in provided):
                return credential
        if not usable:
            raise AuthFailure("the secret set for this integration is not a Standard Webhooks key (whsec_ and Base64)")
        raise AuthFailure("signature (header webhook-signature) does not match")

    # -- signing, for the conformance kit, tests and the docs ---------------------------

    def sign(self, webhook: WebhookRequest, credentials) -> WebhookRequest:
        """The request as the platform sends it under the integration's configuration
        (``webhook.options``), signed with the credential ``secret``; unchanged without one."""
        config = _configuration(webhook.options)
        secret = next((c.secret for c in credentials if c.name == SECRET), None)
        if config["mode"] == "none" or secret is None:
            return webhook
        headers = dict(webhook.headers)
        now = int(self.clock())
        if config["mode"] == "hmac":
            message = webhook.body
            if config["signed_content"] == "timestamp_and_body":
                stamp = str(now * 1000 if config["timestamp_unit"] == "milliseconds" else now)
                headers[config["timestamp_header"]] = stamp
                message = stamp.encode() + config["separator"].encode("utf-8") + webhook.body
            mac = _encode(_mac(config["algorithm"], secret.encode(), message), config["encoding"]).decode()
            headers[config["header"]] = config["prefix"] + mac
        elif config["mode"] == "token":
            headers[config["header"]] = config["prefix"] + secret
        elif config["mode"] == "basic":
            pair = f"{config['username']}:{secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        else:
            msg_id = "msg_" + hashlib.sha256(webhook.body).hexdigest()[:24]
            headers["webhook-id"] = msg_id
            headers["webhook-timestamp"] = str(now)
            signature = _standard_signature(secret, msg_id, now, webhook.body.decode("utf-8"))
            if signature is None:
                raise ValueError("the secret is not a Standard Webhooks key (whsec_ and Base64)")
            headers["webhook-signature"] = signature.decode()
        return WebhookRequest(body=webhook.body, headers=headers, options=webhook.options)


def _configuration(options: Mapping[str, Any]) -> Mapping[str, Any]:
    config = options.get("verification") if isinstance(options, Mapping) else None
    if not isinstance(config, Mapping) or config.get("mode") is None:
        raise AuthFailure("this integration has no verification configured: set its options first")
    return config


def _mac(algorithm: str, key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, getattr(hashlib, algorithm)).digest()


def _encode(mac: bytes, encoding: str) -> bytes:
    return base64.b64encode(mac) if encoding == "base64" else mac.hex().encode()


def _utf8(text: str) -> bytes | None:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: nothing a real secret or header holds
        return None


def _ascii(text: str) -> bytes | None:
    try:
        return text.strip().encode("ascii")
    except UnicodeEncodeError:
        return None


def _standard_signature(secret: str, msg_id: str, seconds: int, text: str) -> bytes | None:
    """``v1,<Base64 HMAC-SHA256 of id.timestamp.body>`` made by the standardwebhooks package;
    None when ``secret`` is not a Standard Webhooks key."""
    try:
        signer = Webhook(secret)
    except Exception:  # noqa: BLE001 - bad Base64, or the package's own error for an empty key
        return None
    at = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return signer.sign(msg_id, at, text).encode("ascii")
