"""Payment times for adapters: timezone-aware UTC, within the years a payment can have."""

from __future__ import annotations

import datetime as dt

# No electronic payment happened before 1970 or will after 2200; outside these bounds lies
# only garbage, and times that UTC (or a window around them) cannot hold: 0001-01-01T00:00+01:00.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
OUT_OF_RANGE = "must be between 1970-01-01 and 2200-01-01 (UTC)"


def utc_time(moment: dt.datetime, assume: dt.tzinfo = dt.UTC) -> dt.datetime:
    """``moment`` in UTC; one without an offset is taken to be in ``assume``.

    Raises ``ValueError`` (its message fit for a field error, e.g. ``errors.add(field,
    str(exc))``) for a time outside 1970-2199, including one UTC cannot represent.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=assume)
    try:
        moment = moment.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None
    if not EARLIEST <= moment < LATEST:
        raise ValueError(OUT_OF_RANGE)
    return moment
