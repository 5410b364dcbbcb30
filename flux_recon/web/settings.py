"""Settings: DefaultConfig, then the file named by FLUX_RECON_SETTINGS, then DATABASE_URL and FLUX_RECON_* env."""

from __future__ import annotations

import os


class DefaultConfig:
    # Database: sqlite:///path (default: a file in the instance folder) or postgresql://...
    DATABASE_URL = None
    DATABASE_MAX_CONNECTIONS = 20
    # SQLite only: "normal" (WAL; a power loss may drop the last commits, never corrupt) or
    # "full" (every commit flushed to disk). See docs/performance.md.
    SQLITE_SYNCHRONOUS = "normal"
    # Fernet key encrypting stored secrets; the development default is generated into
    # the instance folder. Set it explicitly in production.
    SECRET_KEY = None
    # Previous keys, still accepted for decryption while `flux-recon secrets rotate-key`
    # re-encrypts everything with SECRET_KEY.
    OLD_SECRET_KEYS: list[str] = []
    # Bearer token for operator endpoints (POST /api/v1/tenants); unset = disabled.
    ADMIN_TOKEN = None
    # Base URL merchants' providers reach this service at, used to show webhook URLs.
    # Unset: taken from the request that enabled the integration.
    PUBLIC_BASE_URL = None
    # CIDRs of reverse proxies whose X-Forwarded-For may be believed (DESIGN §8).
    TRUSTED_PROXIES: list[str] = []
    # Largest request body accepted (bytes); larger answers 413.
    MAX_CONTENT_LENGTH = 1024 * 1024
    # How much of each webhook body the inbox keeps (bytes); an authenticated unrecognized or
    # invalid_payload one is kept whole, for its replay.
    WEBHOOK_INBOX_BODY_LIMIT = 64 * 1024
    # Requests refused because their address is not on the allow-list (403): the inbox keeps
    # the first of them per integration and address, and per integration, in each window
    # (counted where the rate limits are); the rest are only counted, in
    # flux_recon_webhooks_unrecorded_total, so a stranger cannot fill the inbox.
    WEBHOOK_INBOX_REFUSED_SAMPLE_PER_ADDRESS = "10 per hour"
    WEBHOOK_INBOX_REFUSED_SAMPLE_PER_INTEGRATION = "100 per hour"
    # `flux-recon inbox purge` drops webhook bodies older than this many days, but those of
    # unrecognized webhooks still open in the review queue (the verdict rows stay, for the audit).
    INBOX_RETENTION_DAYS = 90
    # After a credential is regenerated, how long its old secret still verifies (seconds),
    # unless the request says otherwise. 0: the old secret stops at once.
    CREDENTIAL_ROTATION_GRACE_SECONDS = 0

    # Rate limits ("N per second|minute|hour|day", several joined by ";"). A provider that
    # is limited gets 429 with Retry-After and retries later.
    RATE_LIMIT_ENABLED = True
    # Every webhook counts against its address; only one that passed the auth checks counts
    # against its integration, so forged requests cannot use up a provider's budget.
    WEBHOOK_RATE_LIMIT_PER_INTEGRATION = "1200 per minute"
    WEBHOOK_RATE_LIMIT_PER_ADDRESS = "1200 per minute"
    API_RATE_LIMIT_PER_KEY = "600 per minute"
    API_RATE_LIMIT_PER_ADDRESS = "1200 per minute"
    # Where the counters live: memory:// (each worker counts alone) or redis://host:6379/0
    # (shared by every worker and host).
    RATE_LIMIT_STORAGE_URI = "memory://"

    # Outbound webhooks to private, loopback or link-local addresses (an on-premise receiver,
    # tests) are refused unless this is set: no server-side request forgery.
    ALLOW_PRIVATE_DESTINATIONS = False
    # A subscription whose deliveries keep failing this long is disabled, with the reason.
    SUBSCRIPTION_DISABLE_AFTER_HOURS = 72

    # The merchant console (/console/): a session ends after this long without a request,
    # and this long after sign-in whatever happens; the Integrations, Outbound webhooks,
    # API keys and Users sections need a second factor passed within the last
    # CONSOLE_SECOND_FACTOR_MINUTES. Sign-in attempts are limited per address too.
    CONSOLE_IDLE_MINUTES = 30
    CONSOLE_ABSOLUTE_HOURS = 12
    CONSOLE_SECOND_FACTOR_MINUTES = 15
    CONSOLE_SIGN_IN_RATE_LIMIT = "10 per minute"

    # One JSON line per request (and per log record) on stderr, with the request id.
    JSON_LOGS = True

    API_TITLE = "flux-recon"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "api/v1/openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Swagger UI's files are served by this app (no CDN): see resources/docs_assets.
    OPENAPI_SWAGGER_UI_URL = "/docs/assets/"
    API_SPEC_OPTIONS = {
        "info": {
            "description": (
                "Payment reconciliation: provider webhooks verified and matched to sales orders. "
                "Authenticate with `Authorization: Bearer <api key>` "
                "(`flux-recon tenants create --name NAME --json` prints one). "
                "Every error has the shape `{code, status, message, errors}`."
            )
        },
        "servers": [{"url": "/", "description": "this server"}],
    }


def load_settings(app, test_config: dict | None = None) -> None:
    """Fill ``app.config``: defaults, settings file, environment, then ``test_config``."""
    _layer(app.config)
    if test_config:
        app.config.update(test_config)


def _layer(config) -> None:
    config.from_object(DefaultConfig)
    settings_file = os.environ.get("FLUX_RECON_SETTINGS")
    if settings_file:
        config.from_pyfile(os.path.abspath(settings_file))
    # FLUX_RECON_DATABASE_URL -> DATABASE_URL; values are read as JSON when they parse.
    config.from_prefixed_env("FLUX_RECON")
    # DATABASE_URL is the name hosting platforms and operators set: honour it (below
    # FLUX_RECON_DATABASE_URL, above the settings file), or a host would silently keep books
    # of its own in the SQLite default.
    if "DATABASE_URL" in os.environ and "FLUX_RECON_DATABASE_URL" not in os.environ:
        config["DATABASE_URL"] = os.environ["DATABASE_URL"]


def configured(name: str):
    """One setting as the app will see it, for code that runs before there is an app (the
    gunicorn config)."""
    from flask import Config

    config = Config(os.getcwd())
    _layer(config)
    return config.get(name)


def default_workers(database_url: str | None, cores: int) -> int:
    """gunicorn workers when FLUX_RECON_WORKERS is unset (docs/performance.md).

    PostgreSQL: ``2 × cores + 1``, the usual. SQLite (also the default when no URL is set):
    as many as cores, at least 2. Its write transactions take turns, and with more workers
    than cores the one holding the write lock is often descheduled while the rest wait for
    it: on 2 cores, 5 workers answered fewer webhooks than 2, with a worse p99.
    """
    if database_url is None or database_url.startswith("sqlite"):
        return max(2, cores)
    return 2 * cores + 1
