"""Rate limits (Flask-Limiter): webhooks per integration and per source address, the
merchant API per API key and per source address. Storage: memory, or Redis for many workers."""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time

from flask import current_app, request
from flask_limiter import Limiter
from flask_smorest import abort
from limits import parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from flux_recon.web.client_ip import client_ip

log = logging.getLogger(__name__)


def _client_address() -> str:
    peer = request.remote_addr or "0.0.0.0"  # noqa: S104 - a key, not an address to bind
    return str(client_ip(peer, request.headers.get("X-Forwarded-For"), current_app.extensions["trusted_proxies"]))


def _webhook_integration(token: str) -> str:
    # A digest of the token: the limiter's storage never holds a usable webhook URL.
    return "webhook:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def _webhook_address() -> str:
    return "webhook-ip:" + _client_address()


def _api_key() -> str:
    credential = request.headers.get("Authorization", "")
    return "api-key:" + hashlib.sha256(credential.encode()).hexdigest()[:32]


def _api_address() -> str:
    return "api-ip:" + _client_address()


def _setting(name: str):
    return lambda: current_app.config[name]


@functools.lru_cache(maxsize=16)
def _limits(setting: str):
    return parse_many(setting)


def admit_webhook(token: str) -> None:
    """Called by the webhook pipeline once a webhook to the integration at ``token`` has
    passed its auth checks: only then does it spend the integration's budget (a refused one
    counts against its address only), so forged requests cannot use up a genuine provider's
    limit. 429 once it is spent."""
    limiter = current_app.extensions["rate_limiter"]
    if not limiter.enabled:
        return
    # The limiter's own strategy and storage (its in-memory fallback while Redis is down);
    # one atomic hit per window, like the limits applied before the request.
    strategy = limiter.limiter
    key = (
        current_app.config.get("RATELIMIT_KEY_PREFIX") or "flux-recon",
        "webhook-integration",
        _webhook_integration(token),
    )
    for item in _limits(current_app.config["WEBHOOK_RATE_LIMIT_PER_INTEGRATION"]):
        try:
            if strategy.hit(item, *key):
                continue
            wait = math.ceil(strategy.get_window_stats(item, *key).reset_time - time.time())
        except Exception:
            log.warning("rate limit storage failed; webhook let through", exc_info=True)
            return
        abort(
            429,
            message=f"this integration's limit ({item}) is spent; retry later",
            headers={"Retry-After": str(max(1, wait))},
        )


def init_app(app, webhook_blueprints, api_blueprints) -> Limiter:
    """Attach the limiter; limits are read from settings at request time."""
    app.config["RATELIMIT_STORAGE_URI"] = app.config["RATE_LIMIT_STORAGE_URI"]
    app.config["RATELIMIT_ENABLED"] = app.config["RATE_LIMIT_ENABLED"]
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # If Redis goes away, count in memory rather than fail every request.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter = Limiter(key_func=_client_address, app=app)
    for blueprint in webhook_blueprints:
        # The integration's limit is spent in the handler, by admit_webhook().
        limiter.limit(_setting("WEBHOOK_RATE_LIMIT_PER_ADDRESS"), key_func=_webhook_address)(blueprint)
    for blueprint in api_blueprints:
        limiter.limit(_setting("API_RATE_LIMIT_PER_KEY"), key_func=_api_key)(blueprint)
        limiter.limit(_setting("API_RATE_LIMIT_PER_ADDRESS"), key_func=_api_address)(blueprint)
    app.extensions["rate_limiter"] = limiter
    return limiter


class RefusalSample:
    """Which refused webhooks the inbox keeps: the first few per integration and source
    address, and per integration, in each window (``WEBHOOK_INBOX_REFUSED_SAMPLE_*``).

    Counted where the rate limits are (memory per worker, or Redis shared by all), so a
    stranger who learns a webhook URL cannot fill the inbox from any number of addresses.
    """

    def __init__(self, config):
        self.per_address = parse_many(config["WEBHOOK_INBOX_REFUSED_SAMPLE_PER_ADDRESS"])
        self.per_integration = parse_many(config["WEBHOOK_INBOX_REFUSED_SAMPLE_PER_INTEGRATION"])
        self.prefix = config.get("RATELIMIT_KEY_PREFIX") or "flux-recon"
        self._counter = FixedWindowRateLimiter(storage_from_string(config["RATE_LIMIT_STORAGE_URI"]))
        self._fallback = FixedWindowRateLimiter(MemoryStorage())

    def keep(self, integration_id: int, address) -> bool:
        """Whether this refusal is still inside the sample (and so counts towards it)."""
        try:
            return self._keep(self._counter, integration_id, address)
        except Exception:
            # Redis unreachable: sample in this worker's memory rather than fail the answer.
            return self._keep(self._fallback, integration_id, address)

    def _keep(self, counter, integration_id, address) -> bool:
        integration = f"inbox-refused:{integration_id}"
        # An address past its own sample does not use up the integration's.
        return all(counter.hit(item, self.prefix, integration, str(address)) for item in self.per_address) and all(
            counter.hit(item, self.prefix, integration) for item in self.per_integration
        )
