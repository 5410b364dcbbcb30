"""What the console's templates use besides Flask's own: times in the tenant's zone, money, navigation."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from flask import g

from flux_recon.money import format_minor
from flux_recon.reconciliation.rules import DEFAULT_TIME_ZONE
from flux_recon.web.console.nav import nav_sections


def time_zone() -> zoneinfo.ZoneInfo:
    """The signed-in tenant's time zone (its settings' time_zone, set by an owner on the dashboard or
    through PATCH /api/v1/settings/reconciliation), Africa/Lagos by default."""
    tenant = g.get("tenant")
    name = ((tenant.settings or {}) if tenant is not None else {}).get("time_zone") or DEFAULT_TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE)


def localtime(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(time_zone())
    return f"{local.strftime(fmt)} {local.tzname()}"


def money(minor: int | None, currency: str) -> str:
    return "—" if minor is None else f"{format_minor(minor, currency)} {currency}"


def init_app(app) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["money"] = money
    app.jinja_env.globals["nav_sections"] = nav_sections
