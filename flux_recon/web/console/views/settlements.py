"""Settlements: the payouts providers made, their lines and breaks, and importing a statement file."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from flux_recon.models.settlement import SettlementStatus
from flux_recon.services import integrations, settlements
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission, can
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires
from flux_recon.web.console.paging import Page
from flux_recon.web.resources.settlements.routes import BODY_TYPES, DEFAULT_IMPORT_MAX_BYTES

IMPORT_ENDPOINT = "console.import_settlement"


def statement_choices() -> list[dict]:
    """Each enabled integration with each statement format it can import, for the import form."""
    providers = current_app.extensions["providers"]
    choices = []
    for integration in integrations.list_enabled(g.tenant.id):
        provider = providers.get(integration.provider)
        if provider is None:
            continue
        for name in sorted(settlements.statement_formats(provider)):
            choices.append(
                {
                    "value": f"{integration.id}:{name}",
                    "label": f"{integration.provider} (integration {integration.id}): {name.replace('_', ' ')}",
                }
            )
    return choices


def _list_page(*, errors: dict | None = None, refused: str | None = None, status: int = 200):
    filters = {"provider": request.args.get("provider") or None}
    chosen = request.args.get("status") or None
    if chosen in {s.value for s in SettlementStatus}:
        filters["status"] = chosen
    page = Page(settlements.list_settlements(g.tenant.id, **filters), "console.settlements")
    may_import = can(g.console.user.role, Permission.MONEY)
    return (
        render_template(
            "console/settlements.html",
            page=page,
            statuses=[s.value for s in SettlementStatus],
            choices=statement_choices() if may_import else None,
            import_errors=errors,
            refused=refused,
        ),
        status,
    )


# The endpoint is "console.settlements", as the nav expects (the function's name is the module's).
@bp.route("/settlements", endpoint="settlements")
@requires(Permission.READ)
def settlements_page():
    return _list_page()


@bp.before_app_request
def _statement_size_limit():
    # A statement may be far larger than the app's body limit: the import has its own
    # (SETTLEMENT_IMPORT_MAX_BYTES, as for the REST import), set before anything (the CSRF
    # check included) reads the form.
    if request.endpoint == IMPORT_ENDPOINT:
        request.max_content_length = current_app.config.get("SETTLEMENT_IMPORT_MAX_BYTES", DEFAULT_IMPORT_MAX_BYTES)


@bp.route("/settlements/imports", methods=["POST"])
@requires(Permission.MONEY)
def import_settlement():
    """The same import as POST /api/v1/settlements/imports: the whole file, or nothing."""
    integration_id, _, format_name = request.form.get("statement", "").partition(":")
    upload = request.files.get("file")
    if not integration_id.isdigit() or not format_name:
        flash("Choose which statement the file is.", "error")
        return redirect(url_for("console.settlements"))
    if upload is None or not upload.filename:
        flash("Choose the statement file to import.", "error")
        return redirect(url_for("console.settlements"))
    try:
        summary = settlements.import_statement(
            g.tenant.id,
            g.actor,
            int(integration_id),
            format_name,
            upload.stream,
            providers=current_app.extensions["providers"],
            engine=current_app.extensions["engine"],
            plugin_manager=current_app.extensions["plugin_manager"],
            content_type=upload.mimetype if upload.mimetype in BODY_TYPES else None,
            reference=request.form.get("reference", "").strip() or None,
        )
    except settlements.StatementRefused as refused:
        return _list_page(errors=_by_line(refused.fields), refused=refused.message, status=422)
    except DomainError as refused:
        details = "".join(f" {name}: {', '.join(map(str, messages))}." for name, messages in refused.fields.items())
        flash(f"Nothing was imported: {refused.message}.{details}", "error")
        return redirect(url_for("console.settlements"))
    flash(
        f"Imported {upload.filename}: {summary.lines_read} lines read, {summary.lines_added} new, "
        f"{summary.lines_known} already known; {summary.payments_settled} payments settled, "
        f"{summary.payments_recovered} recovered from missing webhooks, {summary.breaks_found} breaks.",
        "success",
    )
    if len(summary.settlements) == 1:
        return redirect(url_for("console.settlement", settlement_id=summary.settlements[0]))
    return redirect(url_for("console.settlements"))


def _by_line(fields: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """A refused file's errors as (where, [(column, message)]) in the file's order."""
    listed = []
    for where, found in fields.items():
        if isinstance(found, dict):
            pairs = [(column, "; ".join(map(str, messages))) for column, messages in found.items()]
        else:
            pairs = [("", "; ".join(map(str, found if isinstance(found, list) else [found])))]
        listed.append((where, pairs))
    return listed


@bp.route("/settlements/<int:settlement_id>")
@requires(Permission.READ)
def settlement(settlement_id):
    try:
        found = settlements.get_settlement(g.tenant.id, settlement_id)
    except DomainError:
        abort(404)  # another tenant's settlement, or none: the same answer
    lines = Page(settlements.settlement_lines(g.tenant.id, settlement_id), "console.settlement",
                 param="lines", settlement_id=settlement_id)  # fmt: skip
    breaks = Page(settlements.settlement_breaks(g.tenant.id, settlement_id), "console.settlement",
                  param="breaks", settlement_id=settlement_id)  # fmt: skip
    return render_template(
        "console/settlements_detail.html",
        settlement=found,
        lines=lines,
        breaks=breaks,
        payment_link="console.payment" in current_app.view_functions,
    )
