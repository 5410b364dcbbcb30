"""`flux-recon users`: console users, starting with a tenant's first owner."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext


@click.group("users")
def users():
    """Merchant console users."""


@users.command("create")
@click.option("--tenant", "tenant_id", required=True, help="The tenant the user belongs to.")
@click.option("--email", required=True, help="The address the user signs in with.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["owner", "finance", "developer", "viewer"]),
    help="owner: everything and users; finance: money; developer: integrations and webhooks; viewer: read-only.",
)
@click.option(
    "--password-stdin", is_flag=True, required=True, help="Read the password from standard input (never an argument)."
)
@with_appcontext
def users_create(tenant_id, email, role, password_stdin):
    """Create a console user and print {"user_id", "tenant_id", "email", "role"} as JSON."""
    from flux_recon.services.errors import DomainError
    from flux_recon.services.users import create_user

    # One line: a trailing newline from `echo` is not part of the password.
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(tenant_id, email, role, password, actor="cli")
    except DomainError as error:
        problems = "; ".join(f"{field}: {', '.join(messages)}" for field, messages in error.fields.items())
        raise click.ClickException(f"{error.message}{': ' + problems if problems else ''}") from None
    click.echo(json.dumps({"user_id": user.id, "tenant_id": user.tenant_id, "email": user.email, "role": user.role}))
