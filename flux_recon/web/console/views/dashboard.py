"""The dashboard: what was received, matched and left open, per currency."""

from __future__ import annotations

from flask import g, render_template

from flux_recon.services import reports
from flux_recon.services.users import Permission
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires


@bp.route("/")
@requires(Permission.READ)
def dashboard():
    return render_template("console/dashboard.html", summary=reports.summary(g.tenant.id))
