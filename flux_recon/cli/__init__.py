"""The `flux-recon` command group: db, tenants, plugins, secrets, and plugins' own commands."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from flux_recon import create_app
    from flux_recon.models.connections import DatabaseUrlError

    try:
        return create_app()
    except DatabaseUrlError as error:  # a setting to fix, not a bug: no traceback
        raise click.ClickException(str(error)) from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def cli():
    """flux-recon: payment webhooks verified and reconciled with sales orders."""


@cli.group()
def db():
    """Database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply pending migrations."""
    from flux_recon.models.connections import upgrade

    applied = upgrade()
    click.echo("applied: " + ", ".join(applied) if applied else "database is up to date")


@db.command("status")
@with_appcontext
def db_status():
    """Show which migrations are applied; exits 1 while any is pending."""
    from flux_recon.models.connections import migration_status

    rows = migration_status()
    for name, applied in rows:
        click.echo(f"[{'x' if applied else ' '}] {name}")
    if not all(applied for _, applied in rows):
        raise SystemExit(1)


@cli.group()
def tenants():
    """Tenants (merchants)."""


@tenants.command("create")
@click.option("--name", required=True, help="The merchant's name.")
@click.option("--json", "as_json", is_flag=True, help="Print {tenant_id, api_key} as JSON.")
@with_appcontext
def tenants_create(name, as_json):
    """Create a tenant and print its first API key (shown once)."""
    from flux_recon.services.tenants import create_tenant

    tenant, api_key = create_tenant(name)
    if as_json:
        click.echo(json.dumps({"tenant_id": tenant.id, "api_key": api_key}))
    else:
        click.echo(f"tenant_id: {tenant.id}\napi_key:   {api_key}   (shown once: keep it safe)")


@cli.command("plugins")
@click.option("--all", "include_default", is_flag=True, help="Include the core's own default plugins.")
@with_appcontext
def plugins_command(include_default):
    """List loaded plugins, their hooks and versions, as JSON."""
    from flux_recon.plugins import describe_plugins

    pm = current_app.extensions["plugin_manager"]
    click.echo(json.dumps(describe_plugins(pm, include_default=include_default), indent=2))


@cli.group()
def inbox():
    """The webhook inbox."""


@inbox.command("purge")
@click.option(
    "--older-than-days", type=click.IntRange(min=0), default=None, help="Default: the INBOX_RETENTION_DAYS setting."
)
@with_appcontext
def inbox_purge(older_than_days):
    """Drop stored webhook bodies older than N days, but those of unrecognized webhooks still
    open in the review queue; the verdict records stay."""
    from flux_recon.services.inbox import purge_bodies

    days = current_app.config["INBOX_RETENTION_DAYS"] if older_than_days is None else older_than_days
    click.echo(f"purged the bodies of {purge_bodies(days)} webhook events older than {days} days")


@inbox.command("replay")
@click.argument("event_ids", metavar="ID [ID ...]", nargs=-1, required=True, type=click.IntRange(min=1))
@with_appcontext
def inbox_replay(event_ids):
    """Replay stored webhooks (any tenant's) through the pipeline, as the API's replay does.

    Prints one JSON line per replayed event: {"event_id", "replay_event_id", "result"}.
    Exits 1 if any ID is unknown or not replayable (each is named on stderr); the others
    are still replayed.
    """
    from flux_recon.services import inbox as inbox_service
    from flux_recon.services.errors import DomainError, NotFound

    pipeline = current_app.extensions["webhook_pipeline"]
    refused = 0
    for event_id in event_ids:
        try:
            record, result = inbox_service.replay(pipeline, event_id, tenant_id=None)
        except DomainError as error:
            refused += 1
            reason = "not found" if isinstance(error, NotFound) else error.message
            click.echo(f"webhook event {event_id}: {reason}", err=True)
            continue
        click.echo(json.dumps({"event_id": event_id, "replay_event_id": record.id, "result": result}, default=str))
    if refused:
        raise SystemExit(1)


@cli.command("worker")
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=8, show_default=True, help="Deliveries in flight at once."
)
@click.option("--batch-size", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.05, 60),
    default=1.0,
    show_default=True,
    help="Seconds to wait when nothing is due.",
)
@click.option("--until-idle", is_flag=True, help="Exit once nothing is due (for cron or a one-off drain).")
@click.option(
    "--lease-seconds",
    type=click.IntRange(1, 3600),
    default=60,
    show_default=True,
    help="How long a claimed delivery is this worker's; after that another worker retries it. "
    "Each attempt ends within half of it (at most 30 s).",
)
@click.option(
    "--graceful-timeout",
    type=click.FloatRange(0, 3600),
    default=10.0,
    show_default=True,
    help="On SIGTERM, seconds deliveries in flight get to finish; the rest are cut and retried after their lease.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Serve this worker's Prometheus metrics on this port (at /metrics), even while the database is down.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="The address --metrics-port binds.")
@click.option(
    "--reconcile-every",
    type=click.IntRange(min=0),
    default=0,
    envvar="FLUX_RECON_RECONCILE_EVERY",
    help="Also run reconciliation for every tenant with open payments every N seconds (0: never).",
)
@click.option(
    "--sweep-settlements-every",
    type=click.IntRange(min=0),
    default=3600,
    show_default=True,
    envvar="FLUX_RECON_SWEEP_SETTLEMENTS_EVERY",
    help="Mark payments past their provider's settlement cycle not_in_settlement every N seconds (0: never).",
)
@click.option(
    "--pull-settlements-every",
    type=click.IntRange(min=0),
    default=0,
    envvar="FLUX_RECON_PULL_SETTLEMENTS_EVERY",
    help="Also pull settlements from provider APIs every N seconds, for each integration with API "
    "credentials (0: never).",
)
@with_appcontext
def worker_command(
    concurrency,
    batch_size,
    poll_interval,
    until_idle,
    lease_seconds,
    graceful_timeout,
    metrics_port,
    metrics_host,
    reconcile_every,
    sweep_settlements_every,
    pull_settlements_every,
):
    """Deliver outbound event webhooks until stopped (SIGTERM or Ctrl-C)."""
    import datetime as dt
    import logging
    import signal
    import threading

    from flux_recon.outbound.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = current_app.config
    worker = Worker(
        current_app.extensions["secret_box"],
        allow_private=config["ALLOW_PRIVATE_DESTINATIONS"],
        disable_after=dt.timedelta(hours=config["SUBSCRIPTION_DISABLE_AFTER_HOURS"]),
        batch_size=batch_size,
        concurrency=concurrency,
        lease=dt.timedelta(seconds=lease_seconds),
        graceful_timeout=graceful_timeout,
    )
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_host)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"worker started: backlog {worker.backlog_or_unknown()}")
    from flux_recon.cli.reconcile import reconciliation_schedule
    from flux_recon.cli.settlement_pulls import pull_schedule
    from flux_recon.cli.settlement_sweep import sweep_schedule

    app = current_app._get_current_object()
    try:
        with (
            reconciliation_schedule(app, reconcile_every, stop),
            pull_schedule(app, pull_settlements_every, stop),
            sweep_schedule(app, sweep_settlements_every, stop),
        ):
            worker.run(stop, poll_interval, until_idle=until_idle)
    finally:
        worker.close()
    click.echo(f"worker stopped: backlog {worker.backlog_or_unknown()}")


@cli.group()
def secrets():
    """Encryption keys for stored secrets."""


@secrets.command("generate-key")
def secrets_generate_key():
    """Print a new key for FLUX_RECON_SECRET_KEY."""
    from flux_recon.core.secret_box import generate_key

    click.echo(generate_key())


@secrets.command("rotate-key")
@with_appcontext
def secrets_rotate_key():
    """Re-encrypt every stored secret with SECRET_KEY (old ones decrypt via OLD_SECRET_KEYS)."""
    from flux_recon.models.secret_rotation import rotate_stored_secrets

    counted = rotate_stored_secrets(current_app.extensions["secret_box"])
    click.echo(f"re-encrypted {counted} stored secrets with the current SECRET_KEY")


def _register_plugin_commands() -> None:
    from flux_recon.plugins import get_plugin_manager

    get_plugin_manager().hook.flux_recon_register_commands(cli=cli)


_register_plugin_commands()

from flux_recon.cli.send_test_webhook import send_test_webhook  # noqa: E402 - kept beside the plugins' commands

cli.add_command(send_test_webhook)

from flux_recon.cli.users import users  # noqa: E402

cli.add_command(users)

from flux_recon.cli.reconcile import reconcile  # noqa: E402

cli.add_command(reconcile)

from flux_recon.cli.settlements import settlements  # noqa: E402

cli.add_command(settlements)
