"""What the orders, payments and review-queue pages share: filter dates, refusals, where to go next."""

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, g, redirect, request, url_for

from flux_recon.money import CURRENCY_EXPONENTS
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission, can
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import safe_next
from flux_recon.web.console.templating import time_zone

CURRENCIES = sorted(CURRENCY_EXPONENTS)


def date_range(errors: dict, start_name: str = "from", end_name: str = "to") -> tuple[dt.datetime | None, ...]:
    """The query's ``from`` and ``to`` dates (YYYY-MM-DD, both inclusive, in the tenant's
    time zone) as an inclusive start and an exclusive end in UTC; a bad date is noted in ``errors``."""
    bounds = []
    for name, days in ((start_name, 0), (end_name, 1)):
        text = request.args.get(name, "").strip()
        if not text:
            bounds.append(None)
            continue
        try:
            day = dt.date.fromisoformat(text)
            local = dt.datetime.combine(day + dt.timedelta(days=days), dt.time(), tzinfo=time_zone())
            # In UTC, a day at the calendar's edge may fall outside it (0001-01-01 east of Greenwich).
            bounds.append(local.astimezone(dt.UTC))
        except (ValueError, OverflowError):
            errors[name] = ["a date like 2026-01-31"]
            bounds.append(None)
    return tuple(bounds)


def choice(name: str, allowed, errors: dict) -> str | None:
    """A query parameter that must be one of ``allowed`` (empty: no filter)."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        errors[name] = [f"one of {', '.join(allowed)}"]
        return None
    return value


def refused(error: DomainError) -> None:
    """Flash a refusal with the fields it names."""
    details = "".join(f" {name.replace('_', ' ')}: {', '.join(map(str, msgs))}." for name, msgs in error.fields.items())
    flash(error.message + details, "error")


def back(default: str):
    """Redirect to the form's ``next`` (a console path only), or to ``default``."""
    return redirect(safe_next(request.form.get("next"), default))


def done(default: str):
    """After an action succeeded: to the form's ``done`` (where the item went), else ``next``, else ``default``."""
    return redirect(safe_next(request.form.get("done") or request.form.get("next"), default))


def reason_given(name: str = "reason", limit: int = 500) -> str | None:
    """The form's reason or note, trimmed; None (with a flash) when it is missing or too long."""
    text = request.form.get(name, "").strip()
    if not text:
        flash(f"Give a {name}: it is kept in the audit log.", "error")
        return None
    if len(text) > limit:
        flash(f"The {name} is too long (at most {limit} characters).", "error")
        return None
    return text


def endpoint_url(endpoint: str, **values) -> str | None:
    """A link to another section's page, if that section is loaded."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def plugin_manager():
    return current_app.extensions["plugin_manager"]


def matching() -> dict:
    """The engine and plugins an order change matches payments with (as the REST API passes)."""
    extensions = current_app.extensions
    return {"engine": extensions["engine"], "plugin_manager": extensions["plugin_manager"]}


@bp.context_processor
def _money_permission():
    def can_money() -> bool:
        """Whether the signed-in user may change money (owner, finance): the pages hide the
        forms they would be refused, and the server refuses them anyway."""
        signed = g.get("console")
        return signed is not None and can(signed.user.role, Permission.MONEY)

    return {"can_money": can_money}
