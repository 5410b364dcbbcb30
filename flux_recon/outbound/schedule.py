"""When a failed delivery is tried again: exponential backoff with jitter over about a day."""

from __future__ import annotations

import datetime as dt
import random

# After attempt n fails, wait RETRY_DELAYS[n-1] (±10%) before attempt n+1. 11 attempts over
# about 22 hours; after the last, the delivery is failed (and can be redelivered by hand).
RETRY_DELAYS = (
    dt.timedelta(seconds=10),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=15),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=1),
    dt.timedelta(hours=2),
    dt.timedelta(hours=4),
    dt.timedelta(hours=6),
    dt.timedelta(hours=8),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A Retry-After longer than this is capped: the schedule must still end within about a day.
MAX_RETRY_AFTER = dt.timedelta(hours=8)


def next_delay(attempts: int, rng: random.Random | None = None) -> dt.timedelta | None:
    """The wait after ``attempts`` failed attempts, or None when there is no retry left."""
    if attempts >= MAX_ATTEMPTS:
        return None
    base = RETRY_DELAYS[attempts - 1]
    return base * (rng or random).uniform(0.9, 1.1)
