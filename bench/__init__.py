"""Benchmarks (not tests): ingest throughput, matching at scale, outbound delivery, memory.

Run them with ``make bench`` (or ``python -m bench [ingest|matching|delivery|memory]``).
Every figure is printed beside a baseline measured in the same run, because absolute
times on a shared machine are noise. See docs/performance.md.
"""
