"""`flux-recon reconcile`, and the reconciliation schedule `flux-recon worker --reconcile-every` runs."""

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

log = logging.getLogger("flux_recon.reconcile")


class UTCTime(click.ParamType):
    """An ISO 8601 time; one without an offset is taken as UTC."""

    name = "time"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.datetime):
            return value
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time (e.g. 2026-11-01 or 2026-11-01T00:00:00+01:00)", param, ctx)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        try:
            return moment.astimezone(dt.UTC)
        except OverflowError:
            self.fail(f"{value!r} is out of range", param, ctx)


@click.command("reconcile")
@click.option("--tenant", "tenant_id", required=True, help="The tenant whose open payments are retried.")
@click.option("--from", "occurred_from", type=UTCTime(), help="Payments that occurred at or after this time.")
@click.option("--to", "occurred_to", type=UTCTime(), help="Payments that occurred before this time.")
@click.option("--provider", help="Only this provider's payments.")
@click.option("--dry-run", is_flag=True, help="Report what would change, and change nothing.")
@with_appcontext
def reconcile(tenant_id, occurred_from, occurred_to, provider, dry_run):
    """Retry a tenant's open payments (unmatched, ambiguous, orphan refunds) against today's
    orders, as POST /api/v1/reconciliation-runs does; prints the stored run as JSON.

    Exits 1 if another run of the tenant is in progress, or if the run failed."""
    from flux_recon.models import Tenant
    from flux_recon.services import reconciliation_runs as runs
    from flux_recon.services.errors import DomainError
    from flux_recon.web.resources.reconciliation_runs.schemas import RunSchema

    if Tenant.get_or_none(Tenant.id == tenant_id) is None:
        raise click.ClickException(f"tenant {tenant_id} not found")
    request = runs.RunRequest(occurred_from=occurred_from, occurred_to=occurred_to, provider=provider, dry_run=dry_run)
    try:
        run = runs.run_reconciliation(
            tenant_id, "cli", current_app.extensions["engine"], current_app.extensions["plugin_manager"], request
        )
    except DomainError as error:
        raise click.ClickException(error.message) from None
    run.shown_changes = runs.shown_changes(run)
    click.echo(json.dumps(RunSchema().dump(run)))
    if run.status != "completed":
        raise SystemExit(1)


@contextmanager
def reconciliation_schedule(app, every: int | None, stop: threading.Event) -> Iterator[None]:
    """While the block runs, a round of reconciliation runs (every tenant with open payments)
    every ``every`` seconds in a thread of its own; nothing when ``every`` is None or 0. On
    leaving, the round in progress stops after the payment in hand."""
    if not every:
        yield
        return
    thread = threading.Thread(target=_every, args=(app, every, stop), name="reconciliation-schedule", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def _every(app, every: int, stop: threading.Event) -> None:
    from flux_recon.models import db
    from flux_recon.models.connections import UNAVAILABLE_ERRORS
    from flux_recon.services.reconciliation_runs import run_for_every_tenant

    engine, plugin_manager = app.extensions["engine"], app.extensions["plugin_manager"]
    while not stop.wait(every):
        try:
            totals = run_for_every_tenant(engine, plugin_manager, stop=stop)
            log.info(
                "reconciliation round: %(runs)d runs, %(skipped)d tenants skipped (a run in progress), "
                "%(examined)d payments examined, %(matched)d matched",
                totals,
            )
        except UNAVAILABLE_ERRORS as exc:
            log.warning("reconciliation round skipped: database unavailable (%s)", type(exc).__name__)
        except Exception:
            log.exception("reconciliation round failed")
        finally:
            try:
                db.close()
            except Exception:  # a broken connection: the next round opens a fresh one
                db.obj._state.reset()
