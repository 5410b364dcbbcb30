"""The dashboard: 30 days per currency and per day, the review queue, settlement coverage; the time zone."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from flux_recon.reconciliation.rules import known_time_zones
from flux_recon.services import dashboard as figures
from flux_recon.services import tenant_settings
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission, can
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.chart import stacked_bars
from flux_recon.web.console.guard import requires
from flux_recon.web.console.templating import time_zone


@bp.route("/")
@requires(Permission.READ)
def dashboard():
    overview = figures.overview(g.tenant.id, time_zone().key)
    chart = stacked_bars([day.date for day in overview.days], overview.per_day, figures.CHART_STATES)
    owner = can(g.console.user.role, Permission.USERS)
    return render_template(
        "console/dashboard.html",
        overview=overview,
        chart=chart,
        states=figures.CHART_STATES,
        state_totals={state: sum(day.get(state, 0) for day in overview.per_day) for state in figures.CHART_STATES},
        coverage_states=(*figures.COVERAGE_STATES, figures.NOT_TRACKED),
        queue_link="console.queue" in current_app.view_functions,
        zones=sorted(known_time_zones()) if owner else None,
    )


@bp.route("/settings/time-zone", methods=["POST"])
@requires(Permission.USERS)
def save_time_zone():
    """Owners only: the zone every page of the tenant shows times in (the REST settings' time_zone)."""
    engine = current_app.extensions["engine"]
    try:
        settings = tenant_settings.update_rules(
            g.tenant.id, g.actor, {"time_zone": request.form.get("time_zone", "")}, strategy_names=engine.strategy_names
        )
    except DomainError as refused:
        flash(f"{refused.message}. Nothing was changed.", "error")
    else:
        flash(f"Times are now shown in {settings.time_zone}.", "success")
    return redirect(url_for("console.dashboard"))
