"""`python -m bench [NAME ...]`: run benchmarks (ingest, matching, delivery, exports, settlements...), print figures."""

from __future__ import annotations

import argparse
import signal
import sys

from . import delivery, exports, ingest, matching, memory, order_matching, settlements
from .common import machine_line, say

BENCHMARKS = {
    "ingest": ingest,
    "matching": matching,
    "order_matching": order_matching,
    "delivery": delivery,
    "memory": memory,
    "exports": exports,
    "settlements": settlements,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"], help="default: both")
    for module in BENCHMARKS.values():
        module.add_arguments(parser.add_argument_group(module.__name__.rsplit(".", 1)[1]))
    args = parser.parse_args()
    # A SIGTERM (a time limit) unwinds like an error, so every server started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    say(f"flux-recon benchmarks on {machine_line()}")
    summary = []
    for name in args.names or list(BENCHMARKS):
        summary += BENCHMARKS[name].main(args)
    say("\n== summary ==")
    for line in summary:
        say(line)


if __name__ == "__main__":
    main()
