"""The service's Prometheus metrics, counted wherever the work happens and served by the web
app's /metrics (and the worker's --metrics-port)."""

from prometheus_client import Counter, Gauge

WEBHOOKS = Counter("flux_recon_webhooks", "Webhooks received, by provider and verdict", ["provider", "verdict"])
RECONCILIATIONS = Counter(
    "flux_recon_reconciliations", "Payments recorded by the engine, by outcome", ["status", "reconciliation"]
)
DELIVERIES = Counter("flux_recon_deliveries", "Outbound delivery attempts, by resulting state", ["state"])
# The delivery worker's own view of its database (it keeps running through an outage).
WORKER_DATABASE_ERRORS = Counter(
    "flux_recon_worker_database_errors", "Times the delivery worker found its database unavailable and retried"
)
WORKER_DATABASE_UNAVAILABLE = Gauge(
    "flux_recon_worker_database_unavailable",
    "1 while the delivery worker cannot reach its database, else 0",
    multiprocess_mode="livemax",
)

UNRECORDED = Counter(
    "flux_recon_webhooks_unrecorded",
    "Refused webhooks beyond the inbox's sample: counted here, not stored",
    ["provider", "verdict"],
)

# Only counted when FLUX_RECON_COUNT_STATEMENTS=1 (the ingest benchmark's round trips per
# webhook): every statement the app sends, BEGIN and COMMIT included.
DATABASE_STATEMENTS = Counter(
    "flux_recon_database_statements", "Statements sent to the database (only with FLUX_RECON_COUNT_STATEMENTS=1)"
)
# Times the app waited for the database's answer: one per statement, except in PostgreSQL's
# pipeline mode, where one wait collects the answers of every statement sent before it.
DATABASE_ROUND_TRIPS = Counter(
    "flux_recon_database_round_trips", "Waits for the database's answers (only with FLUX_RECON_COUNT_STATEMENTS=1)"
)
