"""Matching from the order's side: time to create one order (which looks up the open
payments it may be for) with 1k and 1M unmatched payments in the database. The 1k figure
is the baseline measured in the same run: creating an order must not slow down as
unmatched payments accumulate (target: at most 1.25x).

Kinds: ``no_payment`` is an order with a reference, payment reference, virtual account,
customer and a common amount that no waiting payment has (every lookup runs and finds
nothing: the usual case); ``reference``, ``virtual_account`` and ``amount_customer`` each
find one waiting payment by that strategy and allocate it.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from .common import app_for, backends, fresh_database, say, table, vacuum_analyze, verdict

TARGET_RATIO = 1.25
KINDS = ("no_payment", "reference", "virtual_account", "amount_customer")
# Payments per customer, each of another amount; amounts repeat across customers (a
# shop's prices), so the amount alone is never a selective lookup.
PAYMENTS_PER_CUSTOMER = 4
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def amount_minor(n: int) -> int:
    return 100_000 + (n % PAYMENTS_PER_CUSTOMER) * 1_000 + (n // PAYMENTS_PER_CUSTOMER % 97) * 10


PAYMENT_COLUMNS = (
    "id",
    "tenant_id",
    "provider",
    "external_id",
    "kind",
    "status",
    "method",
    "amount_minor",
    "currency",
    "allocated_minor",
    "refunded_minor",
    "references",
    "destination_account",
    "payer_customer_id",
    "payer_email",
    "reconciliation",
    "reconciliation_reason",
    "occurred_at",
    "received_at",
    "updated_at",
)
KEY_COLUMNS = ("tenant_id", "payment_id", "kind", "value")


def payment_rows(tenant_id: str, start: int, stop: int):
    occurred = (NOW - dt.timedelta(days=1)).replace(tzinfo=None)
    for n in range(start, stop):
        yield (
            n + 1,
            tenant_id,
            "bench",
            f"BENCH-{n:08d}",
            "payment",
            "succeeded",
            "bank_transfer",
            amount_minor(n),
            "NGN",
            0,
            0,
            json.dumps([f"PAY-{n:08d}"]),
            f"VA{n:010d}",
            f"C-{n // PAYMENTS_PER_CUSTOMER}",
            f"c{n // PAYMENTS_PER_CUSTOMER}@example.com",
            "unmatched",
            "no order matches this payment",
            occurred,
            occurred,
            occurred,
        )


def key_rows(tenant_id: str, start: int, stop: int):
    """The match keys recording these payments writes (reconciliation.records)."""
    for n in range(start, stop):
        customer = n // PAYMENTS_PER_CUSTOMER
        yield (tenant_id, n + 1, "reference", f"pay-{n:08d}")
        yield (tenant_id, n + 1, "customer_id", f"C-{customer}")
        yield (tenant_id, n + 1, "email", f"c{customer}@example.com")


def insert_payments(backend: str, tenant_id: str, start: int, stop: int) -> None:
    """Bulk load, bypassing the ORM: COPY on PostgreSQL, executemany on SQLite."""
    from flux_recon.models import db

    tables = (("payment", PAYMENT_COLUMNS, payment_rows), ("payment_match_key", KEY_COLUMNS, key_rows))
    with db.atomic():
        for name, columns, rows in tables:
            names = ", ".join(f'"{c}"' for c in columns)
            if backend == "postgres":
                with db.connection().cursor() as cursor, cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
                    for row in rows(tenant_id, start, stop):
                        copy.write_row(row)
            else:
                marks = ", ".join("?" * len(columns))
                insert = f"INSERT INTO {name} ({names}) VALUES ({marks})"  # noqa: S608 - constant names
                db.cursor().executemany(insert, rows(tenant_id, start, stop))
        if backend == "postgres":
            db.execute_sql("SELECT setval('payment_id_seq', (SELECT max(id) FROM payment))")


def order_fields(kind: str, n: int, serial: str) -> dict:
    """An order that finds waiting payment n by ``kind`` (or, for no_payment, none)."""
    fields = {"reference": f"SO-{serial}", "currency": "NGN", "amount": Decimal(amount_minor(n)) / 100}
    if kind == "reference":
        return {**fields, "payment_reference": f"PAY-{n:08d}", "amount": Decimal("1.00")}
    if kind == "virtual_account":
        return {**fields, "virtual_account": f"VA{n:010d}"}
    if kind == "amount_customer":
        return {**fields, "customer": {"id": f"C-{n // PAYMENTS_PER_CUSTOMER}"}}
    return {
        **fields,
        "payment_reference": f"NOPE-{serial}",
        "virtual_account": f"NOPE{serial}",
        "customer": {"id": f"NEW-{serial}", "email": f"new{serial}@example.com", "phone": f"+234-{serial}"},
    }


def create_one(engine, tenant_id: str, fields: dict) -> float:
    from flux_recon.services.orders import create_order

    started = time.perf_counter()
    create_order(tenant_id, "bench", engine=engine, **fields)
    return time.perf_counter() - started


def measure(engine, tenant_id: str, scale: int, taken: set, samples: int, rng, label: str) -> dict:
    """Median seconds per order created, by kind; the kinds take turns so the machine's
    noise falls on all alike. Each matching order takes a payment no earlier one took."""
    seconds = {kind: [] for kind in KINDS}
    for serial in range(samples):
        for kind in KINDS:
            n = rng.randrange(scale)
            while n in taken:
                n = rng.randrange(scale)
            if kind != "no_payment":
                taken.add(n)
            seconds[kind].append(create_one(engine, tenant_id, order_fields(kind, n, f"{label}-{serial}-{kind}")))
    return {kind: statistics.median(values) for kind, values in seconds.items()}


def run_backend(backend: str, args, workdir: Path) -> tuple[list, dict]:
    from flux_recon.models import Allocation
    from flux_recon.services.tenants import create_tenant

    url = fresh_database(backend, workdir)
    rng = random.Random(16)
    results = {}
    with app_for(url) as app:
        engine = app.extensions["engine"]
        tenant, _ = create_tenant("Bench merchant")
        loaded, taken = 0, set()
        for scale in args.order_matching_scales:
            started = time.perf_counter()
            insert_payments(backend, tenant.id, loaded, scale)
            vacuum_analyze(url)
            loaded = scale
            say(f"[{backend}] {scale:>9,} unmatched payments (loaded in {time.perf_counter() - started:.1f} s)")
            measure(engine, tenant.id, scale, taken, 10, rng, f"warm{scale}")
            results[scale] = measure(engine, tenant.id, scale, taken, args.order_matching_samples, rng, str(scale))
        allocated = Allocation.select().count()
    first, last = args.order_matching_scales[0], args.order_matching_scales[-1]
    ratios = {kind: results[last][kind] / results[first][kind] for kind in KINDS}
    expected = len(taken)
    if allocated != expected:
        say(f"[{backend}] WARNING: {allocated} allocations, expected {expected} (one per matching order)")
    rows = [
        [kind] + [f"{results[s][kind] * 1000:.2f}" for s in args.order_matching_scales] + [f"{ratios[kind]:.2f}x"]
        for kind in KINDS
    ]
    return rows, ratios


def main(args) -> list[str]:
    scales = args.order_matching_scales
    say(f"\n== order matching: ms per order created (median of {args.order_matching_samples}) by unmatched payments ==")
    summary = []
    for backend in backends(args.backend):
        with tempfile.TemporaryDirectory(prefix="flux-bench-") as tmp:
            rows, ratios = run_backend(backend, args, Path(tmp))
        headers = ["order finds"] + [f"{s:,}" for s in scales] + [f"{scales[-1]:,} / {scales[0]:,}"]
        say(table(headers, rows))
        for kind, ratio in ratios.items():
            summary.append(
                f"order_matching/{backend}/{kind}: {scales[-1]:,} unmatched payments {ratio:.2f}x the time at "
                f"{scales[0]:,} (target <= {TARGET_RATIO}x): {verdict(ratio <= TARGET_RATIO)}"
            )
    for line in summary:
        say("  " + line)
    return summary


def add_arguments(parser) -> None:
    parser.add_argument(
        "--order-matching-scales",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[1_000, 1_000_000],
        help="comma-separated unmatched-payment counts (default 1000,1000000)",
    )
    parser.add_argument("--order-matching-samples", type=int, default=100, help="orders timed per kind and scale")
