"""Rate limits (Flask-Limiter): webhooks per integration and per source address, the
merchant API per API key and per source address. Storage: memory, or Redis for many workers."""

from __future__ import annotations

import hashlib

from flask import current_app, request
from flask_limiter import Limiter

from ..webhooks.client_ip import client_ip


def _client_address() -> str:
    peer = request.remote_addr or "0.0.0.0"  # noqa: S104 - a key, not an address to bind
    return str(client_ip(peer, request.headers.get("X-Forwarded-For"), current_app.extensions["trusted_proxies"]))


def _webhook_integration() -> str:
    token = (request.view_args or {}).get("token", "")
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
        limiter.limit(_setting("WEBHOOK_RATE_LIMIT_PER_INTEGRATION"), key_func=_webhook_integration)(blueprint)
        limiter.limit(_setting("WEBHOOK_RATE_LIMIT_PER_ADDRESS"), key_func=_webhook_address)(blueprint)
    for blueprint in api_blueprints:
        limiter.limit(_setting("API_RATE_LIMIT_PER_KEY"), key_func=_api_key)(blueprint)
        limiter.limit(_setting("API_RATE_LIMIT_PER_ADDRESS"), key_func=_api_address)(blueprint)
    app.extensions["rate_limiter"] = limiter
    return limiter
