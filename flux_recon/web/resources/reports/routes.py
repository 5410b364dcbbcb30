"""/api/v1/reports/summary: totals by payment state, order status and provider, per currency."""

from flask import g
from flask.views import MethodView

from flux_recon.services import reports
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.reports.schemas import SummaryArgsSchema, SummarySchema

blp = Blueprint("reports", __name__, description="Reconciliation reports.")


@blp.route("/summary")
class Summary(MethodView):
    @blp.arguments(SummaryArgsSchema, location="query")
    @blp.response(200, SummarySchema)
    @blp.errors()
    def get(self, args):
        """Totals for a period: payments by reconciliation state, status and provider; orders by
        status; money received but not allocated. Amounts are per currency, never summed across."""
        return reports.summary(g.tenant.id, args.get("from_"), args.get("to"))
