"""Settlement imports: time and peak resident memory of importing a statement of 1k and of 1M lines
(each line matching a recorded payment), beside a baseline process that loads the app and imports nothing.

Run: ``python -m bench.settlements [--settlement-lines 1000,1000000] [--backend sqlite|postgres]``.
Each measurement runs in a fresh process, so its peak RSS (``ru_maxrss``) is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import app_for, backends, fresh_database, machine_line, say, table

MAPPING = {"columns": {"transaction_id": "Txn", "amount": "Amount", "fee": "Fee"}, "currency": "NGN"}
PAYMENT_BATCH = 5000


def add_arguments(group) -> None:
    group.add_argument("--settlement-lines", default="1000,1000000", help="statement sizes to import, comma-separated")


def write_statement(path: Path, lines: int) -> None:
    """A generic CSV of ``lines`` transactions T0..T<lines-1>, written as it goes."""
    with open(path, "w", newline="") as out:
        out.write("Txn,Amount,Fee\n")
        for number in range(lines):
            out.write(f"T{number},15000.00,225.00\n")


def prepare(url: str, lines: int) -> int:
    """A tenant, a core integration with the CSV mapping, and one recorded payment per line
    (bulk-inserted: setting up, not what is measured). Returns the integration id."""
    import datetime as dt

    from flux_recon.models import Integration, Payment
    from flux_recon.models.transactions import write_transaction
    from flux_recon.services.settlements import save_mapping
    from flux_recon.services.tenants import create_tenant

    with app_for(url):
        tenant, _ = create_tenant("Settlement bench")
        integration = Integration.create(tenant=tenant.id, provider="core", token=f"bench-{time.time_ns()}")
        save_mapping(tenant.id, "bench", integration.id, MAPPING)
        occurred = dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)
        for start in range(0, lines, PAYMENT_BATCH):
            rows = [
                {
                    "tenant": tenant.id,
                    "integration": integration.id,
                    "provider": "core",
                    "external_id": f"T{number}",
                    "status": "succeeded",
                    "amount_minor": 1_500_000,
                    "fee_minor": 22_500,
                    "currency": "NGN",
                    "references": [],
                    "reconciliation": "unmatched",
                    "occurred_at": occurred,
                }
                for number in range(start, min(start + PAYMENT_BATCH, lines))
            ]
            with write_transaction():
                Payment.insert_many(rows).execute()
        return integration.id


def child(url: str, integration_id: int, statement: str | None) -> dict:
    """In a fresh process: load the app; import ``statement`` unless None (the baseline)."""
    from flux_recon.models import Integration
    from flux_recon.services import settlements

    with app_for(url) as app:
        started = time.perf_counter()
        summary = None
        if statement is not None:
            integration = Integration.get_by_id(integration_id)
            with open(statement, "rb") as stream:
                summary = settlements.import_statement(
                    integration.tenant_id,
                    "bench",
                    integration_id,
                    "generic_csv",
                    stream,
                    providers=app.extensions["providers"],
                    engine=app.extensions["engine"],
                    plugin_manager=app.extensions["plugin_manager"],
                    reference=f"BENCH-{integration_id}",
                    settled_at=settlements.utcnow(),
                )
        seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "peak_kib": peak_kib,
        "resident_kib": _resident_kib(),
        "summary": summary.as_dict() if summary else None,
    }


def _resident_kib() -> int:
    """VmRSS now: the peak (ru_maxrss) may be set while the app loads, before any import."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run_child(url: str, integration_id: int, statement: Path | None) -> dict:
    command = [sys.executable, "-m", "bench.settlements", "--child", url, str(integration_id)]
    command += [str(statement)] if statement else []
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the import process failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(args) -> list[str]:
    sizes = [int(size) for size in str(args.settlement_lines).split(",") if size.strip()]
    summary = []
    for backend in backends(getattr(args, "backend", None)):
        rows = []
        for lines in sizes:
            with tempfile.TemporaryDirectory() as workdir:
                url = fresh_database(backend, Path(workdir))
                statement = Path(workdir) / "statement.csv"
                write_statement(statement, lines)
                integration_id = prepare(url, lines)
                baseline = run_child(url, integration_id, None)
                measured = run_child(url, integration_id, statement)
            settled = measured["summary"]["payments_settled"]
            assert settled == lines, measured["summary"]
            rows.append(
                [
                    f"{lines:,}",
                    f"{measured['seconds']:.1f}",
                    f"{lines / measured['seconds']:,.0f}",
                    f"{baseline['peak_kib'] / 1024:.0f}",
                    f"{measured['peak_kib'] / 1024:.0f}",
                    f"{(measured['peak_kib'] - baseline['peak_kib']) / 1024:.0f}",
                    f"{baseline['resident_kib'] / 1024:.0f}",
                    f"{measured['resident_kib'] / 1024:.0f}",
                ]
            )
        say(f"\n== settlement import ({backend}) ==")
        headers = ["lines", "seconds", "lines/s", "baseline peak MiB", "peak MiB", "above baseline MiB"]
        say(table([*headers, "baseline resident MiB", "resident after MiB"], rows))
        summary += [f"settlement import {backend} {row[0]} lines: {row[1]} s, peak {row[4]} MiB" for row in rows]
    return summary


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, integration_id = sys.argv[2], int(sys.argv[3])
        print(json.dumps(child(url, integration_id, sys.argv[4] if len(sys.argv) > 4 else None)))
    else:
        parser = argparse.ArgumentParser(prog="python -m bench.settlements", description=__doc__)
        parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
        add_arguments(parser)
        say(f"flux-recon settlement benchmark on {machine_line()}")
        for line in main(parser.parse_args()):
            say(line)
