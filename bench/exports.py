"""Exports: peak memory of streaming the orders CSV with 1k and 1M orders, beside a baseline.

Each export runs in a fresh Python process (the app, one database connection) that writes
the file to /dev/null. Its peak resident size is measured over the export alone: the
kernel's high-water mark (VmHWM) is reset once the app is loaded, then read when the file
is written; the process's resident size before the export is shown beside it. The
baseline is the same process exporting a tenant with no orders (the header alone). A
streamed export holds one page of rows at a time, so 1M rows should need about what 1k
rows need: the target is a peak at most 1.25x the 1k figure.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import REPO, app_for, backends, fresh_database, say, table, vacuum_analyze, verdict
from .matching import insert_orders

TARGET_RATIO = 1.25


def add_arguments(parser) -> None:
    parser.add_argument(
        "--exports-scales",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[1_000, 1_000_000],
        help="comma-separated order counts to export (default 1000,1000000)",
    )


def child() -> None:
    """In the fresh process: export one tenant's orders to /dev/null, print the figures as JSON."""
    url, tenant_id = sys.argv[1], sys.argv[2]
    from flux_recon.services.exports import orders_csv

    with app_for(url):
        before_kib = _status_kib("VmRSS")
        # Peak over the export only: "5" resets VmHWM to the current size (Linux >= 4.0).
        Path("/proc/self/clear_refs").write_text("5")
        started = time.perf_counter()
        lines = 0
        size = 0
        with open(os.devnull, "wb") as sink:
            for chunk in orders_csv(tenant_id):
                sink.write(chunk)
                lines += chunk.count(b"\r\n")
                size += len(chunk)
        seconds = time.perf_counter() - started
        peak_kib = _status_kib("VmHWM")
    figures = {"rows": lines - 1, "bytes": size, "seconds": seconds, "peak_kib": peak_kib, "before_kib": before_kib}
    figures["lifetime_peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps(figures))


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"/proc/self/status has no {field}")


def export_in_a_fresh_process(url: str, tenant_id: str) -> dict:
    code = "from bench.exports import child; child()"
    result = subprocess.run(
        [sys.executable, "-c", code, url, tenant_id], cwd=REPO, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"the export failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_backend(backend: str, args, workdir: Path) -> list[dict]:
    from flux_recon.services.tenants import create_tenant

    url = fresh_database(backend, workdir)
    with app_for(url):
        tenant = create_tenant("bench exports")[0].id
        empty = create_tenant("bench no orders")[0].id
    figures = [{"label": "baseline (no rows)", **export_in_a_fresh_process(url, empty)}]
    loaded = 0
    for scale in sorted(args.exports_scales):
        say(f"[{backend}] loading orders up to {scale}...")
        with app_for(url):
            insert_orders(backend, tenant, loaded, scale)
            vacuum_analyze(url)
        loaded = scale
        say(f"[{backend}] exporting {scale} orders...")
        figures.append({"label": f"{scale} rows", **export_in_a_fresh_process(url, tenant)})
    return figures


def main(args) -> list[str]:
    summary = []
    with tempfile.TemporaryDirectory(prefix="flux-recon-bench-exports-") as tmp:
        for backend in backends(args.backend):
            figures = run_backend(backend, args, Path(tmp))
            say(f"\n[{backend}] orders CSV export, each in a fresh process")
            rows = [
                [
                    f["label"],
                    f["rows"],
                    f"{f['bytes'] / 2**20:.1f}",
                    f"{f['seconds']:.1f}",
                    f"{f['rows'] / f['seconds']:.0f}" if f["rows"] else "-",
                    f"{f['before_kib'] / 1024:.1f}",
                    f"{f['peak_kib'] / 1024:.1f}",
                    f"{(f['peak_kib'] - f['before_kib']) / 1024:.1f}",
                ]
                for f in figures
            ]
            headers = ["export", "rows", "MiB written", "seconds", "rows/s", "RSS before", "peak RSS MiB", "growth"]
            say(table(headers, rows))
            smallest, largest = figures[1], figures[-1]
            ratio = largest["peak_kib"] / smallest["peak_kib"]
            line = (
                f"exports [{backend}]: peak RSS {largest['peak_kib'] / 1024:.1f} MiB for {largest['rows']} rows, "
                f"{smallest['peak_kib'] / 1024:.1f} MiB for {smallest['rows']}, baseline "
                f"{figures[0]['peak_kib'] / 1024:.1f} MiB: {ratio:.2f}x (target <= {TARGET_RATIO}x, "
                f"{verdict(ratio <= TARGET_RATIO)})"
            )
            say(line)
            summary.append(line)
    return summary
