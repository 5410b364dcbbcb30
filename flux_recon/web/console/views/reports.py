"""Reports: the summary and the aging of receivables with date filters, settlement totals, and CSV exports."""

from __future__ import annotations

import datetime as dt
from itertools import chain

from flask import Response, abort, g, render_template, request, stream_with_context

from flux_recon.models import utcnow
from flux_recon.money import format_minor
from flux_recon.services import exceptions, exports, reports, settlements
from flux_recon.services.users import Permission, can
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires
from flux_recon.web.console.templating import time_zone

EXPORTS = ("payments", "orders", "exceptions", "audit")
# The settlement report's amounts, in minor units, shown as decimal strings.
MINOR_COLUMNS = ("gross", "fees", "net", "awaiting", "not_in_settlement")
SETTLED_DAYS = 30


def _day(name: str, errors: dict) -> dt.date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        day = None
    # A day with a day either side: its start and end exist in UTC whatever the tenant's zone.
    if day is None or not dt.date.min < day < dt.date.max:
        errors[name] = ["a date like 2026-01-31"]
        return None
    return day


def period(errors: dict) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``from`` and ``to`` (days, both inclusive, in the tenant's time zone) as a UTC start
    (inclusive) and end (exclusive); a bad date is named in ``errors`` and left out."""
    zone = time_zone()
    first, last = _day("from", errors), _day("to", errors)
    start = None if first is None else dt.datetime.combine(first, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = None
    if last is not None:
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    if start is not None and end is not None and end <= start:
        errors["to"] = ["on or after the first day"]
        return None, None
    return start, end


# The endpoint is "console.reports", as the nav expects (the function's name is the module's).
@bp.route("/reports", endpoint="reports")
@requires(Permission.READ)
def reports_page():
    errors: dict[str, list[str]] = {}
    start, end = period(errors)
    as_of = _day("as_of", errors)
    settled = [
        {**row, **{f"{name}_amount": format_minor(row[f"{name}_minor"], row["currency"]) for name in MINOR_COLUMNS}}
        # Per day: bounded to the last 30 days when no period is chosen.
        for row in settlements.report(g.tenant.id, start or utcnow() - dt.timedelta(days=SETTLED_DAYS), end)
    ]
    return (
        render_template(
            "console/reports.html",
            summary=reports.summary(g.tenant.id, start, end),
            aging=reports.aging(g.tenant.id, as_of),
            settled=settled,
            settled_days=None if start else SETTLED_DAYS,
            zone=time_zone().key,
            errors=errors,
            may_export=can(g.console.user.role, Permission.MONEY),
            filters={name: request.args.get(name, "") for name in ("from", "to", "as_of")},
        ),
        422 if errors else 200,
    )


def _csv(name: str, chunks) -> Response:
    """The file as an attachment, streamed as the REST export streams it. The first chunk is
    read now, so a refused query or a database outage is still an error page."""
    first = next(chunks)
    response = Response(stream_with_context(chain([first], chunks)), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@bp.route("/exports/<name>.csv")
@requires(Permission.MONEY)
def export_csv(name):
    """The same files as GET /api/v1/exports/<name>.csv, for the signed-in user: payments and
    orders of the report's period (or all), the open exception queue, the audit log."""
    if name not in EXPORTS:
        abort(404)
    errors: dict[str, list[str]] = {}
    start, end = period(errors)
    if errors:
        abort(422, description="; ".join(f"{field}: {', '.join(messages)}" for field, messages in errors.items()))
    tenant_id = g.tenant.id
    if name == "payments":
        chunks = exports.payments_csv(tenant_id, received_from=start, received_to=end)
    elif name == "orders":
        chunks = exports.orders_csv(tenant_id, created_from=start, created_to=end)
    elif name == "exceptions":
        chunks = exports.exceptions_csv(tenant_id, exceptions.Filters())
    else:
        chunks = exports.audit_csv(tenant_id)
    return _csv(name, chunks)
