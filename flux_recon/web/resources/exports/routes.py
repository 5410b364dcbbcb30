"""/api/v1/exports: payments, orders, the exception queue and the audit log as CSV files, streamed."""

from itertools import chain

from flask import Response, g, stream_with_context
from flask.views import MethodView

from flux_recon.services import exceptions, exports
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.audit.schemas import AuditQueryArgsSchema
from flux_recon.web.resources.exceptions.schemas import ExceptionQueryArgsSchema
from flux_recon.web.resources.orders.schemas import OrderQueryArgsSchema
from flux_recon.web.resources.payments.schemas import PaymentQueryArgsSchema

URL_PREFIX = "/api/v1/exports"

blp = Blueprint(
    "exports",
    __name__,
    description="CSV files for spreadsheets and accounting tools: UTF-8 with a header row, money as decimal "
    "strings, cells a spreadsheet would run as a formula prefixed with an apostrophe.",
)


def _csv_response(name: str, chunks) -> Response:
    """The file as an attachment, streamed. Its first chunk (the header and the first page)
    is read now, so a refused query or a database outage is still an error answer (503)."""
    first = next(chunks)
    response = Response(stream_with_context(chain([first], chunks)), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


def csv_documented(columns: tuple[str, ...]):
    return blp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type="text/csv",
        description="a CSV file; columns: " + ", ".join(columns),
    )


@blp.route("/payments.csv")
class PaymentsCsv(MethodView):
    @blp.arguments(PaymentQueryArgsSchema, location="query")
    @csv_documented(exports.PAYMENTS.header)
    @blp.errors()
    def get(self, args):
        """Export payments as CSV (the filters of GET /payments), newest first"""
        return _csv_response("payments", exports.payments_csv(g.tenant.id, **args))


@blp.route("/orders.csv")
class OrdersCsv(MethodView):
    @blp.arguments(OrderQueryArgsSchema, location="query")
    @csv_documented(exports.ORDERS.header)
    @blp.errors()
    def get(self, args):
        """Export orders as CSV (the filters of GET /orders), newest first"""
        return _csv_response("orders", exports.orders_csv(g.tenant.id, **args))


@blp.route("/exceptions.csv")
class ExceptionsCsv(MethodView):
    @blp.arguments(ExceptionQueryArgsSchema, location="query")
    @csv_documented(exports.EXCEPTIONS_HEADER)
    @blp.errors(422)
    def get(self, args):
        """Export the exception queue as CSV (the filters and sort of GET /exceptions)"""
        filters = exceptions.Filters(
            reasons=args.get("reason"),
            provider=args.get("provider"),
            currency=args.get("currency"),
            min_age=args.get("min_age"),
            max_age=args.get("max_age"),
            min_amount=args.get("min_amount"),
            max_amount=args.get("max_amount"),
            status=args["status"],
            sort=args["sort"],
            descending=args["order"] == "desc",
        )
        return _csv_response("exceptions", exports.exceptions_csv(g.tenant.id, filters))


@blp.route("/audit.csv")
class AuditCsv(MethodView):
    @blp.arguments(AuditQueryArgsSchema, location="query")
    @csv_documented(exports.AUDIT.header)
    @blp.errors()
    def get(self, args):
        """Export the audit log as CSV (the filters of GET /audit), newest first"""
        return _csv_response("audit", exports.audit_csv(g.tenant.id, **args))
