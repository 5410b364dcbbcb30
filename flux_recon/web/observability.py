"""Metrics (/metrics, Prometheus; multiprocess-safe under gunicorn) and JSON request logs
with a request id echoed in X-Request-ID. Neither ever carries a secret."""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid

from flask import Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from flux_recon.core.states import DeliveryStatus

LATENCY = Histogram(
    "flux_recon_request_seconds",
    "Request latency",
    ["area"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The webhook token in a path is a locator that must not reach logs in full.
TOKEN_IN_PATH = re.compile(r"(/webhooks/[^/]+/)([^/?]{4})[^/?]*")

request_log = logging.getLogger("flux_recon.requests")
log = logging.getLogger(__name__)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class DatabaseCollector:
    """Gauges read from the database at each scrape: whether it answered, and the backlog.

    /metrics opens no connection per request (see database.py); this opens its own, so an
    outage costs these gauges only: the process counters are still served, with
    ``flux_recon_database_up 0`` saying why the backlog is missing.
    """

    def collect(self):
        up = GaugeMetricFamily("flux_recon_database_up", "1 if the database answered this scrape, else 0")
        try:
            backlog = _backlog()
            failing = _pulls_failing()
        except Exception as exc:  # an outage, or anything else: the counters must still answer
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        gauge = GaugeMetricFamily(
            "flux_recon_delivery_backlog",
            "Outbound deliveries due now and not being delivered: pending ones whose time has come, "
            "and leased ones whose lease expired (their worker died or stalled); enabled subscriptions only",
        )
        gauge.add_metric([], backlog)
        yield gauge
        pulls = GaugeMetricFamily(
            "flux_recon_settlement_pulls_failing",
            "Integrations whose settlement pulls from the provider's API are failing (retried with backoff) or "
            "whose API credentials were refused (not retried until they change)",
            labels=["provider", "status"],
        )
        for (provider, status), count in sorted(failing.items()):
            pulls.add_metric([provider, status], count)
        yield pulls


def _backlog() -> int:
    """What a delivery worker would claim now (see ``Worker.backlog``)."""
    from flux_recon.models import Delivery, Subscription, db, utcnow

    now = utcnow()
    due = (
        (Delivery.status == DeliveryStatus.PENDING) & (Delivery.next_attempt_at <= now),
        (Delivery.status == DeliveryStatus.DELIVERING) & (Delivery.lease_until < now),
    )
    database = db.obj
    # A test or CLI caller may already hold this thread's connection: leave it open then.
    opened = database.is_closed()
    if opened:
        database.connect()
    try:
        return sum(Delivery.select().join(Subscription).where(Subscription.enabled & state).count() for state in due)
    finally:
        if opened:
            database.close()


def _pulls_failing() -> dict[tuple[str, str], int]:
    """Failing settlement pulls by provider and status (services.settlement_pulls keeps them)."""
    from flux_recon.models import Integration, SettlementPull, db
    from flux_recon.models.settlement_pull import PullStatus

    database = db.obj
    opened = database.is_closed()
    if opened:
        database.connect()
    try:
        query = (
            SettlementPull.select(Integration.provider, SettlementPull.status)
            .join(Integration)
            .where(SettlementPull.status != PullStatus.OK)
        )
        counts: dict[tuple[str, str], int] = {}
        for provider, status in query.tuples():
            counts[(provider, status)] = counts.get((provider, status), 0) + 1
        return counts
    finally:
        if opened:
            database.close()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # every gunicorn worker's counts, summed
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    return registry


def _area() -> str:
    return "webhook" if request.path.startswith("/webhooks/") else "api"


def _start():
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish(response):
    elapsed = time.perf_counter() - getattr(g, "started", time.perf_counter())
    response.headers["X-Request-ID"] = getattr(g, "request_id", "")
    if request.endpoint not in ("metrics", "docs_assets.asset"):
        LATENCY.labels(_area()).observe(elapsed)
    request_log.info(
        "request",
        extra={
            "fields": {
                "request_id": getattr(g, "request_id", None),
                "method": request.method,
                "path": TOKEN_IN_PATH.sub(r"\g<1>\g<2>…", request.path),
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
                "remote": request.remote_addr,
            }
        },
    )
    return response


def init_app(app) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    logger = logging.getLogger("flux_recon")
    if not logger.handlers and app.config["JSON_LOGS"]:
        handler = logging.StreamHandler()
        handler.setFormatter(JSONFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    registry = _registry()
    from_database = CollectorRegistry(auto_describe=False)
    from_database.register(DatabaseCollector())

    @app.route("/metrics")
    def metrics():
        """Prometheus metrics (text format)."""
        body = generate_latest(registry) + generate_latest(from_database)
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
