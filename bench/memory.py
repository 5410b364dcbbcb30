"""Memory: resident size of one gunicorn worker after 100k webhooks, beside the bare-Flask
worker's after as many requests. One worker serves them all, so its growth is visible;
it is sampled along the way.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import urllib.request
from functools import partial
from pathlib import Path

from .common import backends, fresh_database, rss_kib, run_wrk, say, service_env, start_gunicorn, table
from .ingest import LUA, SERVICE_SETTINGS, count_results, prepare, refresh_statistics, warm_up


def sampled_load(server, path: str, webhooks, count: int, args, *, answered) -> list[tuple[int, int]]:
    """Send ``count`` webhooks through ``server``'s one worker; returns (requests answered,
    worker RSS KiB) samples every 10 s, the last one after the load."""
    samples: list[tuple[int, int]] = []
    done = threading.Event()
    worker = server.workers()[0]

    def sample():
        while not done.wait(10):
            try:
                samples.append((answered(), rss_kib(worker)))
            except Exception as exc:  # the database briefly unreachable: skip this sample
                say(f"(sample skipped: {exc})")

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    run_wrk(
        server.base + path,
        LUA,
        [str(webhooks.main_file), path, "2", "cycle"],
        connections=4,
        threads=2,
        duration=args.memory_duration,
        until=lambda: answered() >= count,
    )
    done.set()
    sampler.join()
    time.sleep(1)
    samples.append((answered(), rss_kib(worker)))
    return samples


def bare_answered(server) -> int:
    with urllib.request.urlopen(server.base + "/count", timeout=5) as answer:
        return json.loads(answer.read())["answered"]


# The sampler thread and the load's stop check both count; each count binds the models
# to a database of its own and closes it afterwards, so two at once would close each
# other's connection mid-query.
_COUNTING = threading.Lock()


def service_answered(url: str) -> int:
    with _COUNTING:
        return sum(count_results(url)["inbox"].values())


def run_backend(backend: str, args, workdir: Path) -> dict:
    url = fresh_database(backend, workdir)
    say(f"\n[{backend}] preparing {args.memory_webhooks} orders and signed webhooks...")
    webhooks = prepare(url, workdir, args.memory_webhooks + args.memory_webhooks // 20 + 100)

    bare = start_gunicorn("bench.bare_app:app", service_env(), workdir, workers=1, name="bare")
    try:
        start = bare.worker_rss_kib()[0]
        count = args.memory_webhooks
        answered = partial(bare_answered, bare)
        bare_samples = [(0, start)] + sampled_load(bare, "/webhook", webhooks, count, args, answered=answered)
    finally:
        bare.stop()

    service = start_gunicorn("wsgi:app", service_env(url, **SERVICE_SETTINGS), workdir, workers=1, name="flux")
    try:
        start = service.worker_rss_kib()[0]
        # Some payments first, then fresh statistics (see refresh_statistics); these
        # webhooks count towards the total.
        warm_up(service, webhooks.path, webhooks, args)
        refresh_statistics(url)
        answered = partial(service_answered, url)
        samples = [(0, start)] + sampled_load(service, webhooks.path, webhooks, count, args, answered=answered)
    finally:
        service.stop()
    return {"bare": bare_samples, "service": samples}


def main(args) -> list[str]:
    say(f"\n== memory: one gunicorn worker's resident size over {args.memory_webhooks:,} webhooks ==")
    summary = []
    for backend in backends(args.backend):
        with tempfile.TemporaryDirectory(prefix="flux-bench-") as tmp:
            run = run_backend(backend, args, Path(tmp))
        rows = []
        for label, samples in (("bare Flask", run["bare"]), (f"flux-recon ({backend})", run["service"])):
            first, last = samples[0], samples[-1]
            peak = max(kib for _, kib in samples)
            rows.append(
                [label, f"{first[1] / 1024:.1f}", f"{last[0]:,}", f"{last[1] / 1024:.1f}", f"{peak / 1024:.1f}"]
            )
        say(table(["worker", "MiB at start", "requests", "MiB after", "MiB peak"], rows))
        samples = run["service"]
        shown = samples[:: max(1, len(samples) // 10)] + samples[-1:]  # about ten, and the last
        say("flux-recon samples (webhooks answered: MiB): " + ", ".join(f"{n:,}: {k / 1024:.1f}" for n, k in shown))
        bare_after, service_after = run["bare"][-1], run["service"][-1]
        summary.append(
            f"memory/{backend}: flux-recon worker {service_after[1] / 1024:.1f} MiB after {service_after[0]:,} "
            f"webhooks (started at {run['service'][0][1] / 1024:.1f}); bare Flask worker "
            f"{bare_after[1] / 1024:.1f} MiB after {bare_after[0]:,} requests"
        )
        say("  " + summary[-1])
    return summary


def add_arguments(parser) -> None:
    parser.add_argument("--memory-webhooks", type=int, default=100_000)
    parser.add_argument("--memory-duration", type=int, default=1800, help="seconds of load at most")
