"""The worker's settlement sweep: payments past their provider's cycle with no settlement become not_in_settlement."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def sweep_schedule(app, every: int | None, stop: threading.Event) -> Iterator[None]:
    """While the block runs, sweep every ``every`` seconds in a thread of its own (the first
    round at once); nothing when ``every`` is 0 or None. The sweep is idempotent, so several
    workers sweeping at once only repeat each other's work."""
    if not every:
        yield
        return
    thread = threading.Thread(target=_every, args=(app, every, stop), name="settlement-sweep", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def _every(app, every: int, stop: threading.Event) -> None:
    from flux_recon.models import db
    from flux_recon.models.connections import UNAVAILABLE_ERRORS
    from flux_recon.services.settlements import sweep_unsettled

    waited = 0.0
    while not stop.wait(waited):
        waited = every
        try:
            with app.app_context():
                result = sweep_unsettled(
                    now=dt.datetime.now(dt.UTC),
                    cycles=app.config.get("SETTLEMENT_CYCLES"),
                    grace_hours=app.config.get("SETTLEMENT_GRACE_HOURS"),
                )
            log.info("settlement sweep: %s", result.as_dict())
        except UNAVAILABLE_ERRORS as exc:
            log.warning("settlement sweep skipped: database unavailable (%s)", type(exc).__name__)
        except Exception:
            # A bad SETTLEMENT_CYCLES setting or a bug: logged, and tried again next period.
            log.exception("settlement sweep failed")
        finally:
            db.close()
