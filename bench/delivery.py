"""Outbound delivery: one `flux-recon worker` draining a backlog of events to a local
receiver that answers 200, against the same receiver driven by wrk (the baseline: what the
receiver can take, so it is shown not to be the bottleneck). The receiver counts every
delivery by its webhook-id: none may be lost or duplicated. The worker's resident memory
is sampled while it drains: it must stay flat.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from .common import (
    BIN,
    REPO,
    app_for,
    backends,
    free_port,
    fresh_database,
    rss_kib,
    run_wrk,
    say,
    service_env,
    table,
    verdict,
)

LUA = Path(__file__).with_name("delivery.lua")
TARGET_RATE = 500
# Peak resident memory may exceed the first sample taken after the first batch by this
# much and still count as flat.
FLAT_TOLERANCE = 1.10


def event_body(n: int) -> dict:
    """A payment as GET /api/v1/payments/{id} shows it (the usual event body)."""
    return {
        "id": n,
        "provider": "core",
        "external_id": f"FLX-BENCH-{n:08d}",
        "kind": "payment",
        "status": "succeeded",
        "method": "bank_transfer",
        "amount": "15000.00",
        "currency": "NGN",
        "allocated": "15000.00",
        "references": [f"INV-{n:08d}"],
        "payer": {"name": "Ada Obi", "email": f"c{n}@example.com", "phone": "+2348012345678", "customer_id": f"C-{n}"},
        "reconciliation": "matched",
        "reconciliation_reason": f"matched to order INV-{n:08d} by reference",
        "occurred_at": "2026-11-22T09:15:03Z",
        "received_at": "2026-11-22T09:15:04Z",
    }


def prepare(url: str, receiver_url: str, events: int) -> str:
    """A tenant subscribed (with a signing key) to its receiver, and ``events`` events,
    each with one pending delivery. Returns one encoded event, for the baseline."""
    from flux_recon.models import Delivery, OutboundEvent, Subscription, db, utcnow
    from flux_recon.outbound.outbox import event_document
    from flux_recon.outbound.sender import Sender
    from flux_recon.outbound.signing import new_signing_key
    from flux_recon.services.tenants import create_tenant

    with app_for(url) as app:
        tenant, _ = create_tenant("Bench merchant")
        subscription = Subscription.create(
            tenant=tenant.id,
            label="bench receiver",
            url=receiver_url,
            events=["payment.received"],
            signing_key_encrypted=app.extensions["secret_box"].encrypt(new_signing_key()),
        )
        now = utcnow()
        encoded = ""
        for first in range(0, events, 1000):
            rows = []
            for n in range(first, min(first + 1000, events)):
                encoded = Sender.encode(event_document("payment.received", event_body(n))).decode()
                rows.append(
                    {
                        "tenant": tenant.id,
                        "event_id": f"{n:064x}",
                        "event_type": "payment.received",
                        "body": encoded,
                        "created_at": now,
                    }
                )
            with db.atomic():
                OutboundEvent.insert_many(rows).execute()
                ids = [
                    row.id
                    for row in OutboundEvent.select(OutboundEvent.id).where(
                        OutboundEvent.event_id.in_([r["event_id"] for r in rows])
                    )
                ]
                Delivery.insert_many(
                    [
                        {"event": i, "subscription": subscription.id, "next_attempt_at": now, "created_at": now}
                        for i in ids
                    ]
                ).execute()
        return encoded


class Receiver:
    """The receiver in a process of its own (it stops by itself after ``lifetime``)."""

    def __init__(self, lifetime: int):
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(BIN / "python"), "-m", "bench.receiver", str(self.port), str(lifetime)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.process.stdout.readline()  # "listening on ..."

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=5) as answer:
            return json.loads(answer.read())

    def reset(self) -> None:
        urllib.request.urlopen(f"http://127.0.0.1:{self.port}/reset", timeout=5).close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def drain(url: str, args) -> dict:
    """Run one worker until nothing is due; time it from its "worker started" line and
    sample its resident memory every 100 ms."""
    env = service_env(url, ALLOW_PRIVATE_DESTINATIONS=True)
    command = [
        str(BIN / "flux-recon"),
        "worker",
        "--until-idle",
        "--concurrency",
        str(args.delivery_concurrency),
        "--batch-size",
        str(args.delivery_batch_size),
    ]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    samples: list[tuple[float, int]] = []
    started = threading.Event()
    marks = {}

    def read_output():
        for line in process.stdout:
            if line.startswith("worker started"):
                marks["start"] = time.monotonic()
                started.set()
            marks["last"] = line.strip()

    reader = threading.Thread(target=read_output, daemon=True)
    reader.start()
    deadline = time.monotonic() + args.delivery_timeout
    while process.poll() is None and time.monotonic() < deadline:
        if started.is_set():
            samples.append((time.monotonic() - marks["start"], rss_kib(process.pid)))
        time.sleep(0.1)
    if process.poll() is None:
        process.terminate()
    process.wait(timeout=30)
    ended = time.monotonic()
    reader.join(timeout=5)
    return {"seconds": ended - marks.get("start", ended), "rss": samples, "exit": process.returncode}


def run_backend(backend: str, args, workdir: Path) -> dict:
    from flux_recon.models import Delivery

    url = fresh_database(backend, workdir)
    lifetime = args.delivery_timeout + 120
    receiver = Receiver(lifetime)
    try:
        say(f"\n[{backend}] preparing {args.delivery_events} events with one delivery each...")
        body = prepare(url, receiver.url, args.delivery_events)
        body_file = workdir / "event.json"
        body_file.write_text(body)
        baseline = run_wrk(
            receiver.url, LUA, [str(body_file)], connections=args.delivery_concurrency, threads=1, duration=5
        )
        receiver.reset()
        drained = drain(url, args)
        received = receiver.stats()
    finally:
        receiver.stop()
    with app_for(url):
        succeeded = Delivery.select().where(Delivery.status == "succeeded").count()
    return {"baseline": baseline, "drained": drained, "received": received, "succeeded": succeeded}


def memory_line(samples: list[tuple[float, int]]) -> tuple[str, bool]:
    """First sample after one second (the worker has claimed and connected), peak, last."""
    if not samples:
        return "no samples", False
    settled = [kib for at, kib in samples if at >= 1.0] or [samples[-1][1]]
    first, peak, last = settled[0], max(settled), settled[-1]
    flat = peak <= first * FLAT_TOLERANCE
    return f"{first / 1024:.1f} MiB after 1 s, peak {peak / 1024:.1f} MiB, at the end {last / 1024:.1f} MiB", flat


def main(args) -> list[str]:
    say(
        f"\n== delivery: one worker (--concurrency {args.delivery_concurrency} --batch-size "
        f"{args.delivery_batch_size}) draining {args.delivery_events} events to a local receiver =="
    )
    summary = []
    for backend in backends(args.backend):
        with tempfile.TemporaryDirectory(prefix="flux-bench-") as tmp:
            run = run_backend(backend, args, Path(tmp))
        events = args.delivery_events
        drained, received, base = run["drained"], run["received"], run["baseline"]
        rate = events / drained["seconds"] if drained["seconds"] else 0.0
        lost = events - received["distinct"]
        say(
            table(
                ["sender", "deliveries/s", "received", "distinct", "duplicated"],
                [
                    ["wrk (baseline)", f"{base.rps:.0f}", base.requests, "-", "-"],
                    [
                        f"flux-recon worker ({backend})",
                        f"{rate:.0f}",
                        received["requests"],
                        received["distinct"],
                        received["duplicated"],
                    ],
                ],
            )
        )
        memory, flat = memory_line(drained["rss"])
        lines = [
            f"{rate:.0f} deliveries/s, {rate / base.rps:.3f}x what the receiver takes from wrk "
            f"(target >= {TARGET_RATE}/s): {verdict(rate >= TARGET_RATE)}",
            f"{lost} lost, {received['duplicated']} duplicated, {run['succeeded']} marked succeeded "
            f"(target 0 lost, 0 duplicated): {verdict(lost == 0 and received['duplicated'] == 0)}",
            f"worker memory {memory}: {verdict(flat)} (flat = peak within {FLAT_TOLERANCE - 1:.0%} of the first)",
        ]
        if drained["exit"] != 0:
            lines.append(f"the worker exited with {drained['exit']}")
        for line in lines:
            say("  " + line)
        summary += [f"delivery/{backend}: {line}" for line in lines]
    return summary


def add_arguments(parser) -> None:
    parser.add_argument("--delivery-events", type=int, default=20_000)
    parser.add_argument("--delivery-concurrency", type=int, default=8)
    parser.add_argument("--delivery-batch-size", type=int, default=100)
    parser.add_argument("--delivery-timeout", type=int, default=600, help="seconds before the worker is stopped")
