"""Webhook ingest through real gunicorn, loaded by wrk, against a bare Flask baseline.

Every request is a correctly signed core webhook with its own transactionRef paying its
own open order (orders are created in bulk first). Signatures are computed here, because
wrk's Lua has no HMAC; the Lua script only cycles through them. After the run the
database is counted: every webhook must have been accepted and matched, every order paid.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .common import (
    LoadResult,
    app_for,
    backends,
    cpu_seconds,
    database_backend_pids,
    default_workers,
    fresh_database,
    run_wrk,
    say,
    service_env,
    start_gunicorn,
    table,
    vacuum_analyze,
    verdict,
)

LUA = Path(__file__).with_name("webhooks.lua")
AMOUNT = "15000.00"
TARGET_RATIO = {"sqlite": 0.30, "postgres": 0.25}
TARGET_P99_MS = {"sqlite": 30.0, "postgres": 40.0}
# The benchmark measures the service, not its abuse protection: limits are switched off
# (RATE_LIMIT_ENABLED=false), as they would be raised for a known provider in production.
SERVICE_SETTINGS = {"RATE_LIMIT_ENABLED": False}


@dataclass
class Webhooks:
    """Signed webhooks written for wrk, and where to send them."""

    tenant_id: str
    path: str
    warmup_file: Path
    main_file: Path
    count: int


def insert_orders(tenant_id: str, start: int, stop: int, *, batch: int = 2000, **extra) -> None:
    """Open orders INV-<n> for n in [start, stop), inserted in bulk."""
    from flux_recon.models import SalesOrder, db, utcnow

    now = utcnow() - dt.timedelta(days=1)
    minor = int(AMOUNT.replace(".", ""))
    for first in range(start, stop, batch):
        rows = []
        for n in range(first, min(first + batch, stop)):
            reference = f"INV-{n:08d}"
            rows.append(
                {
                    "tenant": tenant_id,
                    "reference": reference,
                    "reference_key": reference.casefold(),
                    "amount_minor": minor,
                    "currency": "NGN",
                    "status": "open",
                    "created_at": now,
                    "updated_at": now,
                    **{name: make(n) for name, make in extra.items()},
                }
            )
        with db.atomic():
            SalesOrder.insert_many(rows).execute()


def webhook_body(tenant_id: str, n: int) -> bytes:
    return json.dumps(
        {
            "tenantId": tenant_id,
            "transactionRef": f"FLX-BENCH-{n:08d}",
            "paymentRef": f"INV-{n:08d}",
            "paymentMethod": "transfer",
            "amount": AMOUNT,
            "currency": "NGN",
            "customer": {"id": f"C-{n}", "name": "Ada Obi", "email": f"c{n}@example.com", "phone": "+2348012345678"},
            "transactionDate": "2026-11-22T10:15:03+01:00",
            "accountNumber": "0123456789",
            "bankName": "Guaranty Trust Bank",
        }
    ).encode()


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def prepare(url: str, workdir: Path, count: int, warmup: int = 1000) -> Webhooks:
    """A tenant, an enabled core integration admitting 127.0.0.1, ``warmup + count``
    open orders, and as many signed webhooks (one per order) in two files."""
    from flux_recon.services.integrations import add_network, enable
    from flux_recon.services.tenants import create_tenant

    with app_for(url) as app:
        tenant, _ = create_tenant("Bench merchant")
        providers, box = app.extensions["providers"], app.extensions["secret_box"]
        integration, shown = enable(tenant.id, "core", providers, box, actor="bench")
        add_network(tenant.id, integration.id, "127.0.0.1/32", "bench", "bench")
        secret = next(iter(shown.values()))
        insert_orders(tenant.id, 0, warmup + count)
        vacuum_analyze(url)
    files = []
    for name, numbers in (("warmup", range(warmup)), ("main", range(warmup, warmup + count))):
        path = workdir / f"webhooks-{name}.tsv"
        with open(path, "w") as out:
            for n in numbers:
                body = webhook_body(tenant.id, n)
                out.write(f"{sign(secret, body)}\t{body.decode()}\n")
        files.append(path)
    return Webhooks(tenant.id, f"/webhooks/core/{integration.token}", files[0], files[1], count)


def count_results(url: str) -> dict:
    """What the database holds after a run."""
    from peewee import fn

    from flux_recon.models import Payment, SalesOrder, WebhookEvent

    with app_for(url):
        verdicts = {
            row.verdict: row.n
            for row in WebhookEvent.select(WebhookEvent.verdict, fn.COUNT(WebhookEvent.id).alias("n"))
            .group_by(WebhookEvent.verdict)
            .objects()
        }
        return {
            "inbox": verdicts,
            "payments": Payment.select().count(),
            "matched": Payment.select().where(Payment.reconciliation == "matched").count(),
            "orders_paid": SalesOrder.select().where(SalesOrder.status == "paid").count(),
        }


def settled_counts(url: str) -> dict:
    """Counts once the server has answered what was still queued when wrk stopped."""
    previous = count_results(url)
    while True:
        time.sleep(0.5)
        current = count_results(url)
        if current == previous:
            return current
        previous = current


def warm_up(server, path: str, webhooks: Webhooks, args) -> None:
    """Two seconds of load with webhooks of their own: every worker has imported and
    connected before the measured run."""
    script_args = [str(webhooks.warmup_file), path, str(args.wrk_threads)]
    run_wrk(server.base + path, LUA, script_args, duration=2, connections=args.connections, threads=args.wrk_threads)


def refresh_statistics(url: str) -> None:
    """ANALYZE once the warm-up has written payments, as autovacuum does in production.

    The bulk load was analyzed while the payment, allocation and inbox tables were still
    empty. Left like that (autovacuum may be off on a benchmark machine, and takes a
    minute to notice otherwise), PostgreSQL keeps the plans it made for empty tables on
    its pooled connections, including its foreign-key checks, and scans every payment
    several times per webhook.
    """
    with app_for(url):
        vacuum_analyze(url)


def load(server, path: str, webhooks: Webhooks, args, *, cycle: bool = False) -> LoadResult:
    script_args = [str(webhooks.main_file), path, str(args.wrk_threads)] + (["cycle"] if cycle else [])
    return run_wrk(
        server.base + path,
        LUA,
        script_args,
        duration=args.duration,
        connections=args.connections,
        threads=args.wrk_threads,
    )


def run_backend(backend: str, args, workdir: Path) -> dict:
    url = fresh_database(backend, workdir)
    say(f"\n[{backend}] preparing {args.webhooks} orders and signed webhooks...")
    webhooks = prepare(url, workdir, args.webhooks)
    sizes = {"workers": args.workers, "threads": args.threads}

    bare = start_gunicorn("bench.bare_app:app", service_env(), workdir, name="bare", **sizes)
    try:
        warm_up(bare, "/webhook", webhooks, args)
        cpu_before = bare.worker_cpu_seconds()
        baseline = load(bare, "/webhook", webhooks, args, cycle=True)
        baseline_cpu = bare.worker_cpu_seconds() - cpu_before
    finally:
        bare.stop()

    settings = {**SERVICE_SETTINGS, "COUNT_STATEMENTS": args.count_statements}
    service = start_gunicorn("wsgi:app", service_env(url, **settings), workdir, name="flux", **sizes)
    try:
        warm_up(service, webhooks.path, webhooks, args)
        refresh_statistics(url)
        before = settled_counts(url)
        # The pool's connections were opened by the warm-up and stay open.
        database_pids = database_backend_pids(url) if backend == "postgres" else []
        start = _usage(service, database_pids, args.count_statements)
        result = load(service, webhooks.path, webhooks, args)
        after = settled_counts(url)
        usage = {k: v - start[k] for k, v in _usage(service, database_pids, args.count_statements).items()}
    finally:
        service.stop()
    counted = {key: after[key] - before[key] for key in ("payments", "matched", "orders_paid")}
    counted["inbox"] = {k: v - before["inbox"].get(k, 0) for k, v in after["inbox"].items()}
    received = sum(counted["inbox"].values()) or 1
    per_webhook = {
        "cpu_ms": usage["cpu"] * 1000 / received,
        "database_cpu_ms": usage["database_cpu"] * 1000 / received if database_pids else None,
        "statements": usage["statements"] / received if args.count_statements else None,
        "round_trips": usage["round_trips"] / received if args.count_statements else None,
    }
    return {
        "backend": backend,
        "baseline": baseline,
        "baseline_cpu_ms": baseline_cpu * 1000 / (baseline.requests or 1),
        "service": result,
        "per_webhook": per_webhook,
        "counted": counted,
        "webhooks": webhooks,
    }


def _usage(server, database_pids: list[int], count_statements: bool) -> dict:
    """CPU seconds of the workers and of the database's server processes, statements sent
    and round trips."""
    counts = server.database_counts() if count_statements else {"statements": 0, "round_trips": 0}
    return {"cpu": server.worker_cpu_seconds(), "database_cpu": cpu_seconds(database_pids), **counts}


def check(run: dict, args) -> list[str]:
    """The targets, each as a line saying met or MISSED."""
    backend, base, svc, counted = run["backend"], run["baseline"], run["service"], run["counted"]
    ratio = svc.rps / base.rps if base.rps else 0.0
    accepted = counted["inbox"].get("accepted", 0)
    received = sum(counted["inbox"].values())
    # wrk counts only answers it read before its clock ran out; up to one request per
    # connection may have been answered after that.
    all_counted = svc.requests <= received <= svc.requests + args.connections
    all_reconciled = accepted == counted["matched"] == counted["orders_paid"] == counted["payments"]
    target, target_p99 = TARGET_RATIO[backend], TARGET_P99_MS[backend]
    return [
        f"throughput {ratio:.2f}x the bare-Flask baseline (target >= {target}x): {verdict(ratio >= target)}",
        f"p99 {svc.p99_ms:.1f} ms at {args.connections} connections (target <= {target_p99:.0f} ms): "
        f"{verdict(svc.p99_ms <= target_p99)}",
        f"errors: {svc.non_2xx} non-2xx, {svc.socket_errors} socket (target 0): {verdict(svc.errors == 0)}",
        f"database: {received} webhooks received, {accepted} accepted, {counted['matched']} payments matched, "
        f"{counted['orders_paid']} orders paid; every webhook reconciled: {verdict(all_counted and all_reconciled)}",
    ]


def main(args) -> list[str]:
    say(
        f"== ingest: wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s, "
        f"{args.threads or 'the default'} thread(s) per gunicorn worker, rate limits off =="
    )
    summary = []
    for backend in backends(args.backend):
        workers = args.workers or default_workers(backend)
        say(f"\n[{backend}] gunicorn with {workers} workers, for both servers")
        with tempfile.TemporaryDirectory(prefix="flux-bench-") as tmp:
            run = run_backend(backend, argparse.Namespace(**{**vars(args), "workers": workers}), Path(tmp))
        base, svc, per = run["baseline"], run["service"], run["per_webhook"]
        rows = [
            [
                "bare Flask",
                f"{base.rps:.0f}",
                f"{base.p50_ms:.1f}",
                f"{base.p99_ms:.1f}",
                base.errors,
                base.requests,
                f"{run['baseline_cpu_ms']:.2f}",
            ],
            [
                f"flux-recon ({backend})",
                f"{svc.rps:.0f}",
                f"{svc.p50_ms:.1f}",
                f"{svc.p99_ms:.1f}",
                svc.errors,
                svc.requests,
                f"{per['cpu_ms']:.2f}",
            ],
        ]
        say(table(["server", "req/s", "p50 ms", "p99 ms", "errors", "requests", "worker CPU ms/req"], rows))
        cpu = f"worker CPU per webhook {per['cpu_ms']:.2f} ms"
        lines = [f"{cpu}, bare Flask {run['baseline_cpu_ms']:.2f} ms per request"]
        if per["database_cpu_ms"] is not None:
            lines.append(f"database server CPU per webhook {per['database_cpu_ms']:.2f} ms")
        if per["statements"] is not None:
            lines.append(
                f"statements per webhook {per['statements']:.2f}, round trips {per['round_trips']:.2f}"
                " (on SQLite every statement is a call into the library, not a round trip)"
            )
        if svc.wrapped:
            say(f"note: {svc.wrapped} wrk thread(s) ran out of distinct webhooks; raise --webhooks")
        lines += check(run, args)
        for line in lines:
            say("  " + line)
        summary += [f"ingest/{backend}: {line}" for line in lines]
    return summary


def add_arguments(parser) -> None:
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--threads", type=int, default=None, help="gunicorn threads per worker (default: the config's)")
    parser.add_argument("--webhooks", type=int, default=60000, help="distinct webhooks prepared (and orders)")
    parser.add_argument(
        "--no-count-statements",
        dest="count_statements",
        action="store_false",
        help="do not count the statements sent per webhook (FLUX_RECON_COUNT_STATEMENTS)",
    )
