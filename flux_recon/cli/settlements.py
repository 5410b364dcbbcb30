"""`flux-recon settlements`: import a statement file, and sweep for payments no settlement covered."""

from __future__ import annotations

import datetime as dt
import json

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group()
def settlements():
    """Settlements: statement imports and the not-in-settlement sweep."""


@settlements.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--integration", "integration_id", type=click.IntRange(min=1), required=True, help="Integration id.")
@click.option("--format", "format_name", required=True, help="generic_csv, or one of the provider's formats.")
@click.option("--reference", default=None, help="The settlement's reference, when the file does not name it.")
@click.option("--settled-at", default=None, help="When it was settled (ISO 8601), when the file does not say.")
@with_appcontext
def settlements_import(file, integration_id, format_name, reference, settled_at):
    """Import a statement FILE for an integration (all of it, or nothing), as the API does.

    Prints what was imported as JSON; a refused file prints each bad line and column on
    stderr and exits 1. Importing the same file again changes nothing.
    """
    from flux_recon.models import Integration
    from flux_recon.providers.settlements import parse_time
    from flux_recon.services import settlements as service
    from flux_recon.services.errors import DomainError

    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        raise click.ClickException(f"integration {integration_id} not found")
    moment = None
    if settled_at is not None:
        moment = parse_time(settled_at)
        if moment is None:
            raise click.BadParameter(f"{settled_at!r} is not an ISO 8601 time", param_hint="--settled-at")
    extensions = current_app.extensions
    try:
        summary = service.import_statement(
            integration.tenant_id,
            "cli",
            integration_id,
            format_name,
            file,
            providers=extensions["providers"],
            engine=extensions["engine"],
            plugin_manager=extensions["plugin_manager"],
            reference=reference,
            settled_at=moment,
        )
    except DomainError as error:
        click.echo(error.message, err=True)
        click.echo(json.dumps(error.fields, indent=2), err=True)
        raise SystemExit(1) from None
    click.echo(json.dumps(summary.as_dict()))


@settlements.command("sweep")
@click.option("--now", "now_text", default=None, help="The time to sweep as of (ISO 8601); default: now.")
@with_appcontext
def settlements_sweep(now_text):
    """Mark succeeded payments awaiting_settlement, and not_in_settlement once their provider's
    cycle (SETTLEMENT_CYCLES) plus SETTLEMENT_GRACE_HOURS has passed. Run it from cron or a timer
    (hourly is plenty); it is safe to run at any time. Prints the counts as JSON."""
    from flux_recon.providers.settlements import parse_time
    from flux_recon.services import settlements as service

    now = None
    if now_text is not None:
        now = parse_time(now_text)
        if now is None:
            raise click.BadParameter(f"{now_text!r} is not an ISO 8601 time", param_hint="--now")
    config = current_app.config
    try:
        result = service.sweep_unsettled(
            now=now or dt.datetime.now(dt.UTC),
            cycles=config.get("SETTLEMENT_CYCLES"),
            grace_hours=config.get("SETTLEMENT_GRACE_HOURS"),
        )
    except ValueError as error:  # a setting to fix
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(result.as_dict()))


from flux_recon.cli.settlement_pulls import settlements_pull  # noqa: E402 - its own module: the API pulls

settlements.add_command(settlements_pull)
