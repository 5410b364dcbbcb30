"""`flux-recon settlements pull`, and the worker's schedule of settlement pulls from provider APIs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger(__name__)


@click.command("pull")
@click.option("--integration", "integration_id", type=click.IntRange(min=1), required=True, help="Integration id.")
@click.option("--since", "since_text", default=None, help="Start of the window (ISO 8601); default: the last pull.")
@click.option("--until", "until_text", default=None, help="End of the window (ISO 8601); default: now.")
@with_appcontext
def settlements_pull(integration_id, since_text, until_text):
    """Pull an integration's settlements from its provider's API once, and record them.

    Prints the result as JSON; exits 1 when the provider could not be asked or refused the
    credentials (the integration's pull state says so too)."""
    from flux_recon.models import Integration
    from flux_recon.providers.settlements import parse_time
    from flux_recon.services.errors import DomainError
    from flux_recon.services.settlement_pulls import pull_integration

    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        raise click.ClickException(f"integration {integration_id} not found")
    window = {}
    for name, text in (("since", since_text), ("until", until_text)):
        if text is not None:
            window[name] = parse_time(text)
            if window[name] is None:
                raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint=f"--{name}")
    extensions = current_app.extensions
    try:
        result = pull_integration(
            integration.tenant_id,
            integration.id,
            providers=extensions["providers"],
            engine=extensions["engine"],
            plugin_manager=extensions["plugin_manager"],
            secret_box=extensions["secret_box"],
            **window,
        )
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(json.dumps(result.as_dict(), default=str))
    if result.status != "ok":
        raise SystemExit(1)


@contextmanager
def pull_schedule(app, every: int | None, stop: threading.Event) -> Iterator[None]:
    """While the block runs, every ``every`` seconds pull each integration that is due (its
    provider has a settlement API, its API credentials are set, its last pull is ``every``
    old and any backoff is over) in a thread of its own; nothing when ``every`` is 0 or None."""
    if not every:
        yield
        return
    thread = threading.Thread(target=_every, args=(app, every, stop), name="settlement-pulls", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def _every(app, every: int, stop: threading.Event) -> None:
    from flux_recon.models import db
    from flux_recon.models.connections import UNAVAILABLE_ERRORS
    from flux_recon.services.settlement_pulls import pull_due

    extensions = app.extensions
    # The first round at once: a worker started to pull (or a test) need not wait a period.
    waited = 0.0
    while not stop.wait(waited):
        waited = every
        try:
            with app.app_context():
                results = pull_due(
                    extensions["providers"],
                    extensions["engine"],
                    extensions["plugin_manager"],
                    extensions["secret_box"],
                    every=dt.timedelta(seconds=every),
                    stop=stop,
                )
            for result in results:
                log.info("settlement pull: integration %s %s %s", result.integration_id, result.status, result.error)
        except UNAVAILABLE_ERRORS as exc:
            log.warning("settlement pulls skipped: database unavailable (%s)", type(exc).__name__)
        except Exception:
            log.exception("settlement pull round failed")
        finally:
            try:
                db.close()
            except Exception:  # a broken connection: the next round opens a fresh one
                db.obj._state.reset()
