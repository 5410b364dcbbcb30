"""Integrations, the developer page: enable a provider, its webhook URL, allow-list, credentials and secrets."""

from __future__ import annotations

import json

from flask import current_app, flash, g, redirect, render_template, request, url_for

from flux_recon.providers import Provider
from flux_recon.services import credentials, integrations
from flux_recon.services.credentials import MAX_GRACE_SECONDS, MAX_SCOPED_CREDENTIALS
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission, can
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires
from flux_recon.web.resources.integrations.routes import webhook_url

# What a regenerated secret's predecessor may keep verifying for, as the form offers it.
GRACE_CHOICES = ((0, "Stop the old secret now"), (3600, "1 hour"), (86400, "24 hours"), (MAX_GRACE_SECONDS, "7 days"))


def _providers():
    return current_app.extensions["providers"]


def _secret_box():
    return current_app.extensions["secret_box"]


def _refused(refused: DomainError) -> None:
    details = "".join(f" {name}: {', '.join(messages)}." for name, messages in refused.fields.items())
    flash(refused.message + details, "error")


def takes_json_options(provider) -> bool:
    """A provider with a configuration of its own (no declared option fields, its own
    check) is configured with a JSON document rather than one input per option."""
    own_check = type(provider).validate_options.__func__ is not Provider.validate_options.__func__
    return own_check and not provider.option_fields


def _options_from_form(provider) -> dict:
    """The options the form posted: a JSON document, or one input per declared option (blank = default)."""
    if takes_json_options(provider):
        text = request.form.get("options_json", "").strip()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _BadForm(f"the options are not valid JSON: {exc}") from None
    options = {}
    for field in provider.option_fields:
        value = request.form.get(f"option.{field.name}", "").strip()
        if value:
            options[field.name] = value
    return options


class _BadForm(Exception):
    """A form the view cannot even hand to the domain (its message is shown as is)."""


def _to_detail(integration_id: int):
    return redirect(url_for("console.integration", integration_id=integration_id))


# Named console.integrations, as the navigation expects (the function name is the service module's).
@bp.route("/integrations", endpoint="integrations")
@requires(Permission.READ, second_factor=True)
def integrations_page():
    enabled = [
        integrations.describe(row, _providers(), webhook_url(row)) for row in integrations.list_enabled(g.tenant.id)
    ]
    taken = {item["provider"] for item in enabled}
    available = [p for p in _providers() if p.name not in taken]
    return render_template(
        "console/integrations.html",
        enabled=enabled,
        available=available,
        takes_json_options=takes_json_options,
        can_develop=can(g.console.user.role, Permission.DEVELOP),
    )


@bp.route("/integrations", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def enable_integration():
    provider = _providers().get(request.form.get("provider", ""))
    try:
        options = _options_from_form(provider) if provider is not None else {}
        integration, secrets = integrations.enable(
            g.tenant.id, request.form.get("provider", ""), _providers(), _secret_box(), g.actor, options=options
        )
    except _BadForm as bad:
        flash(str(bad), "error")
        return redirect(url_for("console.integrations"))
    except DomainError as refused:
        _refused(refused)
        return redirect(url_for("console.integrations"))
    shown = integrations.describe(integration, _providers(), webhook_url(integration), secrets)
    return render_template("console/integration_secrets.html", integration=shown, title="Integration enabled")


@bp.route("/integrations/<int:integration_id>")
@requires(Permission.READ, second_factor=True)
def integration(integration_id):
    row = integrations.get_integration(g.tenant.id, integration_id)
    provider = integrations.provider_of(row, _providers())
    described = integrations.describe(row, _providers(), webhook_url(row))
    generated = next((f for f in provider.credentials if f.generated), None)
    scoped = sum(1 for c in described["credentials"] if c["scope"] == "scoped")
    return render_template(
        "console/integration.html",
        integration=described,
        provider=provider,
        generated=generated,
        scoped=scoped,
        max_scoped=MAX_SCOPED_CREDENTIALS,
        grace_choices=GRACE_CHOICES,
        default_grace=current_app.config["CREDENTIAL_ROTATION_GRACE_SECONDS"],
        json_options=takes_json_options(provider),
        options_text=json.dumps(described["options"], indent=2, default=str),
        can_develop=can(g.console.user.role, Permission.DEVELOP),
    )


@bp.route("/integrations/<int:integration_id>/allowlist", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def add_allowed_network(integration_id):
    try:
        entry = integrations.add_network(
            g.tenant.id,
            integration_id,
            request.form.get("cidr", ""),
            request.form.get("label", "").strip()[:200],
            g.actor,
        )
    except DomainError as refused:
        _refused(refused)
    else:
        flash(f"{entry.cidr} may now send webhooks to this URL.", "success")
    return _to_detail(integration_id)


@bp.route("/integrations/<int:integration_id>/allowlist/<int:entry_id>/remove", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def remove_allowed_network(integration_id, entry_id):
    try:
        integrations.remove_network(g.tenant.id, integration_id, entry_id, g.actor)
    except DomainError as refused:
        _refused(refused)
    else:
        flash("Address removed from the allow-list.", "success")
    return _to_detail(integration_id)


@bp.route("/integrations/<int:integration_id>/credentials", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def add_credential(integration_id):
    label = request.form.get("label", "").strip()
    if not label or len(label) > 200:
        flash("A credential needs a label (at most 200 characters) saying who sends with it.", "error")
        return _to_detail(integration_id)
    try:
        made = credentials.add_scoped(g.tenant.id, integration_id, label, _providers(), _secret_box(), g.actor)
    except DomainError as refused:
        _refused(refused)
        return _to_detail(integration_id)
    return render_template(
        "console/integration_credential.html", integration_id=integration_id, credential=made, title="Credential added"
    )


@bp.route("/integrations/<int:integration_id>/credentials/<int:credential_id>/regenerate", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def regenerate_credential(integration_id, credential_id):
    try:
        grace = int(request.form.get("grace_seconds", ""))
    except ValueError:
        grace = -1
    if not 0 <= grace <= MAX_GRACE_SECONDS:
        flash(f"The grace period is a whole number of seconds from 0 to {MAX_GRACE_SECONDS}.", "error")
        return _to_detail(integration_id)
    try:
        made = credentials.regenerate(g.tenant.id, integration_id, credential_id, grace, _secret_box(), g.actor)
    except DomainError as refused:
        _refused(refused)
        return _to_detail(integration_id)
    return render_template(
        "console/integration_credential.html",
        integration_id=integration_id,
        credential=made,
        title="Secret regenerated",
    )


@bp.route("/integrations/<int:integration_id>/credentials/<int:credential_id>/delete", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def delete_credential(integration_id, credential_id):
    try:
        credentials.delete_scoped(g.tenant.id, integration_id, credential_id, g.actor)
    except DomainError as refused:
        _refused(refused)
    else:
        flash("Credential deleted: webhooks signed with it are refused from now on.", "success")
    return _to_detail(integration_id)


@bp.route("/integrations/<int:integration_id>/secrets/<name>", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def set_secret(integration_id, name):
    value = request.form.get("value", "").strip()
    if not value or len(value) > 500:
        flash("Paste the secret from the provider's dashboard (1 to 500 characters).", "error")
        return _to_detail(integration_id)
    try:
        status = credentials.set_supplied_secret(
            g.tenant.id, integration_id, name, value, _providers(), _secret_box(), g.actor
        )
    except DomainError as refused:
        _refused(refused)
    else:
        flash(f"{status['title']} saved. It is stored encrypted and never shown again.", "success")
    return _to_detail(integration_id)


@bp.route("/integrations/<int:integration_id>/secrets/<name>/clear", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def clear_secret(integration_id, name):
    try:
        credentials.clear_supplied_secret(g.tenant.id, integration_id, name, _providers(), g.actor)
    except DomainError as refused:
        _refused(refused)
    else:
        flash(f"{name} cleared.", "success")
    return _to_detail(integration_id)


@bp.route("/integrations/<int:integration_id>/options", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def set_integration_options(integration_id):
    row = integrations.get_integration(g.tenant.id, integration_id)
    try:
        options = _options_from_form(integrations.provider_of(row, _providers()))
        integrations.set_options(g.tenant.id, integration_id, options, _providers(), g.actor)
    except _BadForm as bad:
        flash(str(bad), "error")
    except DomainError as refused:
        _refused(refused)
    else:
        flash("Options saved.", "success")
    return _to_detail(integration_id)


@bp.route("/integrations/<int:integration_id>/disable", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def disable_integration(integration_id):
    try:
        integrations.disable(g.tenant.id, integration_id, g.actor)
    except DomainError as refused:
        _refused(refused)
        return redirect(url_for("console.integrations"))
    flash("Integration disabled and deleted: its URL, credentials and allow-list are gone.", "success")
    return redirect(url_for("console.integrations"))
