# flux-recon settings file: copy it, edit it, and point FLUX_RECON_SETTINGS at the copy.
#
#   FLUX_RECON_SETTINGS=/etc/flux-recon/settings.py gunicorn -c config/gunicorn.conf.py wsgi:app
#
# Order of precedence: built-in defaults < this file < FLUX_RECON_* environment variables
# (the DATABASE_URL environment variable overrides DATABASE_URL here, and
# FLUX_RECON_DATABASE_URL overrides both). Every setting is shown with its default.

# --- Database -------------------------------------------------------------------------------
# sqlite:///absolute/path/to/file.sqlite3 (the default is a file in the instance folder), or
# postgresql://user:password@host:5432/dbname for production (pooled connections). A URL
# that cannot be used (empty, another scheme, no database name) stops the service: it never
# falls back to the SQLite default.
DATABASE_URL = None
# Most connections one PostgreSQL pool (one gunicorn worker) opens.
DATABASE_MAX_CONNECTIONS = 20
# SQLite only. "normal": commits are flushed at WAL checkpoints, so a power loss (not a
# crash of the service) may lose the last moments of commits, never corrupt the database.
# "full": every commit is flushed first (one disk flush per webhook). See docs/performance.md.
SQLITE_SYNCHRONOUS = "normal"

# --- Secrets --------------------------------------------------------------------------------
# Fernet key that encrypts stored provider and API secrets. Make one with
#   flux-recon secrets generate-key
# Unset: a key is generated into the instance folder (development only; back it up, or
# every stored secret becomes unreadable).
SECRET_KEY = None
# To change SECRET_KEY: put the new key in SECRET_KEY and the old one here (a list, or a
# comma-separated FLUX_RECON_OLD_SECRET_KEYS), run `flux-recon secrets rotate-key`, then
# remove the old key. Until then both decrypt.
OLD_SECRET_KEYS = []
# Bearer token that allows operator-only endpoints (POST /api/v1/tenants). Unset: disabled.
ADMIN_TOKEN = None

# --- Webhooks -------------------------------------------------------------------------------
# Base URL providers reach this service at; used to show each integration's webhook URL.
# Unset: the scheme and host of the request that enabled the integration.
PUBLIC_BASE_URL = None
# CIDRs of your reverse proxies / load balancers. Only a request whose socket peer is in
# one of these has its X-Forwarded-For believed (the right-most address that is not itself
# a trusted proxy). Empty: the socket peer is always the client address.
TRUSTED_PROXIES = []
# Largest request body accepted, in bytes; a larger one is answered 413.
MAX_CONTENT_LENGTH = 1024 * 1024
# How many bytes of each webhook body the inbox keeps. An authenticated webhook answered
# unrecognized or invalid_payload is kept whole (up to MAX_CONTENT_LENGTH), for its replay.
WEBHOOK_INBOX_BODY_LIMIT = 64 * 1024
# Requests refused because their address is not on the allow-list (403): the inbox keeps the
# first of them per integration and address, and per integration, in each window; the rest
# are only counted (flux_recon_webhooks_unrecorded_total), so a stranger cannot fill it.
WEBHOOK_INBOX_REFUSED_SAMPLE_PER_ADDRESS = "10 per hour"
WEBHOOK_INBOX_REFUSED_SAMPLE_PER_INTEGRATION = "100 per hour"
# `flux-recon inbox purge` (run it daily, e.g. from cron) drops the bodies of inbox records
# older than this many days, but those of unrecognized webhooks still open in the review
# queue; the records themselves, with their verdicts, stay.
INBOX_RETENTION_DAYS = 90
# After a credential's secret is regenerated, how many seconds the old secret still verifies
# webhooks, unless the regenerate request sets grace_seconds itself. 0: it stops at once.
CREDENTIAL_ROTATION_GRACE_SECONDS = 0

# --- Rate limits ----------------------------------------------------------------------------
# "N per second|minute|hour|day" (several joined by ";"). Over a limit: 429 with Retry-After.
RATE_LIMIT_ENABLED = True
WEBHOOK_RATE_LIMIT_PER_INTEGRATION = "1200 per minute"
WEBHOOK_RATE_LIMIT_PER_ADDRESS = "1200 per minute"
API_RATE_LIMIT_PER_KEY = "600 per minute"
API_RATE_LIMIT_PER_ADDRESS = "1200 per minute"
# memory:// counts per gunicorn worker; with several workers or hosts use Redis so the
# limit holds across them: "redis://127.0.0.1:6379/0".
RATE_LIMIT_STORAGE_URI = "memory://"

# --- Outbound webhooks ---------------------------------------------------------------------
# Deliveries to private, loopback, link-local or cloud-metadata addresses are refused unless
# this is True (an on-premise receiver); plain http is allowed only for those destinations.
ALLOW_PRIVATE_DESTINATIONS = False
# A subscription whose deliveries keep failing this many hours is disabled (reason shown).
SUBSCRIPTION_DISABLE_AFTER_HOURS = 72

# --- Merchant console (/console/) ---------------------------------------------------------
# A session ends after CONSOLE_IDLE_MINUTES without a request and CONSOLE_ABSOLUTE_HOURS after
# sign-in. Integrations, Outbound webhooks, API keys and Users need a second factor passed in
# the last CONSOLE_SECOND_FACTOR_MINUTES. Sign-in attempts per client address (besides the
# lock-out of an account after five failures in a row).
CONSOLE_IDLE_MINUTES = 30
CONSOLE_ABSOLUTE_HOURS = 12
CONSOLE_SECOND_FACTOR_MINUTES = 15
CONSOLE_SIGN_IN_RATE_LIMIT = "10 per minute"

# --- Logs and metrics ------------------------------------------------------------------------
# One JSON line per request on stderr (request id, method, path with the webhook token cut
# short, status, duration). /metrics serves Prometheus metrics; under gunicorn set
# PROMETHEUS_MULTIPROC_DIR (config/gunicorn.conf.py does) so every worker's counts add up.
JSON_LOGS = True

# --- API documentation ----------------------------------------------------------------------
# The OpenAPI document is served at /api/v1/openapi.json and Swagger UI at /docs.
API_TITLE = "flux-recon"

# --- Plugins --------------------------------------------------------------------------------
# Which installed plugins load is chosen by the environment variable FLUX_RECON_LOAD_PLUGINS
# (comma-separated entry-point names, e.g. "core,monnify"); unset loads all of them. It is
# read before the app exists, so it cannot be set in this file.

# --- gunicorn -------------------------------------------------------------------------------
# Server settings live in config/gunicorn.conf.py and read these environment variables:
# FLUX_RECON_BIND (127.0.0.1:8000), FLUX_RECON_WORKERS (2 x cores + 1 on PostgreSQL; on SQLite as
# many as cores, at least 2), FLUX_RECON_TIMEOUT (30),
# FLUX_RECON_ACCESS_LOG ("-" = stdout), FLUX_RECON_LOG_LEVEL (info).
