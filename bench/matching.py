"""The reconciliation engine alone: time to record and reconcile one notice with 1k, 10k,
100k and 1M open orders in the database, for each strategy and for a notice that matches
nothing (it runs every strategy). The 1k figure is the baseline: matching must not slow
down as orders accumulate. Query plans are printed when it does (or with --plans).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from .common import app_for, backends, fresh_database, say, table, vacuum_analyze, verdict

TARGET_RATIO = 1.25
KINDS = ("reference", "virtual_account", "amount_customer", "unmatched")
# Orders per customer: the amount + customer strategy looks at one customer's orders.
ORDERS_PER_CUSTOMER = 4
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def amount_minor(n: int) -> int:
    return 100_000 + (n % ORDERS_PER_CUSTOMER) * 1_000 + (n // ORDERS_PER_CUSTOMER % 97) * 10


def order_rows(tenant_id: str, start: int, stop: int):
    created = (NOW - dt.timedelta(days=1)).replace(tzinfo=None)
    for n in range(start, stop):
        reference = f"INV-{n:08d}"
        yield (
            tenant_id,
            reference,
            reference.casefold(),
            f"VA{n:010d}",
            amount_minor(n),
            "NGN",
            0,
            "open",
            f"C-{n // ORDERS_PER_CUSTOMER}",
            created,
            created,
        )


ORDER_COLUMNS = (
    "tenant_id",
    "reference",
    "reference_key",
    "virtual_account",
    "amount_minor",
    "currency",
    "amount_paid_minor",
    "status",
    "customer_id",
    "created_at",
    "updated_at",
)


def insert_orders(backend: str, tenant_id: str, start: int, stop: int) -> None:
    """Bulk load, bypassing the ORM: COPY on PostgreSQL, executemany on SQLite."""
    from flux_recon.models import db

    rows = order_rows(tenant_id, start, stop)
    columns = ", ".join(ORDER_COLUMNS)
    with db.atomic():
        if backend == "postgres":
            connection = db.connection()
            with connection.cursor() as cursor, cursor.copy(f"COPY sales_order ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(ORDER_COLUMNS))
            insert = f"INSERT INTO sales_order ({columns}) VALUES ({marks})"  # noqa: S608 - constant names
            db.cursor().executemany(insert, rows)


def make_notice(kind: str, n: int, serial: str):
    """A notice that the strategy ``kind`` matches to order n (or, for unmatched, nothing)."""
    from flux_recon.providers import Payer, PaymentNotice

    amount = Decimal(amount_minor(n)) / 100
    fields = {"external_id": f"BENCH-{kind}-{serial}", "amount": amount, "currency": "NGN", "occurred_at": NOW}
    if kind == "reference":
        return PaymentNotice(references=(f"INV-{n:08d}",), **fields)
    if kind == "virtual_account":
        return PaymentNotice(destination_account=f"VA{n:010d}", **fields)
    if kind == "amount_customer":
        return PaymentNotice(payer=Payer(customer_id=f"C-{n // ORDERS_PER_CUSTOMER}"), **fields)
    return PaymentNotice(
        references=(f"NOPE-{serial}",),
        destination_account=f"NOPE{serial}",
        payer=Payer(customer_id=f"NOPE-{serial}", email=f"nope{serial}@example.com", phone=f"+234-{serial}"),
        **fields,
    )


class StatementLog(logging.Handler):
    """Collects the (sql, params) peewee runs, to EXPLAIN them."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements = []

    def emit(self, record):
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            self.statements.append(record.msg)


def record_one(engine, tenant_id: str, notice) -> float:
    from flux_recon.models.transactions import write_transaction

    started = time.perf_counter()
    with write_transaction():
        engine.record(tenant_id=tenant_id, provider="bench", notice=notice)
    return time.perf_counter() - started


def measure(engine, tenant_id: str, scale: int, paid: set, samples: int, rng, label: str) -> dict:
    """Median seconds per notice, by kind, at this many orders. The kinds take turns, so
    noise from the rest of the machine falls on all of them alike. Each notice pays an
    order not paid before (a customer's orders all differ in amount, so amount + customer
    finds exactly one open order)."""
    if len(paid) + samples * (len(KINDS) - 1) > scale:
        raise SystemExit(f"{samples} samples per strategy need more than {scale} orders: lower --matching-samples")
    seconds = {kind: [] for kind in KINDS}
    for serial in range(samples):
        for kind in KINDS:
            n = rng.randrange(scale)
            while n in paid:
                n = rng.randrange(scale)
            if kind != "unmatched":
                paid.add(n)
            seconds[kind].append(record_one(engine, tenant_id, make_notice(kind, n, f"{label}-{serial}")))
    return {kind: statistics.median(values) for kind, values in seconds.items()}


def query_plans(backend: str, engine, tenant_id: str, scale: int) -> str:
    """EXPLAIN every SELECT one notice of each kind runs."""
    from flux_recon.models import db

    out = io.StringIO()
    for kind in KINDS:
        handler = StatementLog()
        logger = logging.getLogger("peewee")
        previous = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        try:
            record_one(engine, tenant_id, make_notice(kind, scale - 1, f"plan-{kind}"))
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous)
        out.write(f"-- {kind}\n")
        for sql, params in handler.statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
            plan = [" ".join(str(c) for c in row) for row in db.execute_sql(explain + sql, params).fetchall()]
            out.write(f"{sql[:160]}...\n    " + "\n    ".join(plan) + "\n")
    return out.getvalue()


def run_backend(backend: str, args, workdir: Path) -> tuple[list, dict]:
    from flux_recon.services.tenants import create_tenant

    url = fresh_database(backend, workdir)
    rng = random.Random(8)
    rows, results = [], {}
    with app_for(url) as app:
        engine = app.extensions["engine"]
        tenant, _ = create_tenant("Bench merchant")
        loaded, paid = 0, set()
        for scale in args.matching_scales:
            started = time.perf_counter()
            insert_orders(backend, tenant.id, loaded, scale)
            vacuum_analyze(url)
            loaded = scale
            say(f"[{backend}] {scale:>9,} orders (loaded in {time.perf_counter() - started:.1f} s)")
            # A first round warms caches and connections; it is not counted.
            measure(engine, tenant.id, scale, paid, 10, rng, f"warm{scale}")
            results[scale] = measure(engine, tenant.id, scale, paid, args.matching_samples, rng, str(scale))
        first, last = args.matching_scales[0], args.matching_scales[-1]
        ratios = {kind: results[last][kind] / results[first][kind] for kind in KINDS}
        if args.plans or any(ratio > TARGET_RATIO for ratio in ratios.values()):
            say(f"query plans at {last:,} orders:\n" + query_plans(backend, engine, tenant.id, last))
    for kind in KINDS:
        rows.append(
            [kind] + [f"{results[scale][kind] * 1000:.2f}" for scale in args.matching_scales] + [f"{ratios[kind]:.2f}x"]
        )
    return rows, ratios


def main(args) -> list[str]:
    scales = args.matching_scales
    say(f"\n== matching: ms per notice (median of {args.matching_samples}) by open orders ==")
    summary = []
    for backend in backends(args.backend):
        with tempfile.TemporaryDirectory(prefix="flux-bench-") as tmp:
            rows, ratios = run_backend(backend, args, Path(tmp))
        headers = ["strategy"] + [f"{s:,}" for s in scales] + [f"{scales[-1]:,} / {scales[0]:,}"]
        say(table(headers, rows))
        for kind, ratio in ratios.items():
            line = (
                f"matching/{backend}/{kind}: {scales[-1]:,} orders {ratio:.2f}x the time at {scales[0]:,} "
                f"(target <= {TARGET_RATIO}x): {verdict(ratio <= TARGET_RATIO)}"
            )
            summary.append(line)
    for line in summary:
        say("  " + line)
    return summary


def add_arguments(parser) -> None:
    parser.add_argument(
        "--matching-scales",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[1_000, 10_000, 100_000, 1_000_000],
        help="comma-separated open-order counts (default 1000,10000,100000,1000000)",
    )
    parser.add_argument("--matching-samples", type=int, default=200, help="notices timed per strategy and scale")
    parser.add_argument("--plans", action="store_true", help="always print the query plans")
