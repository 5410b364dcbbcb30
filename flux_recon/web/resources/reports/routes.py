"""/api/v1/reports: the summary (totals by payment state, order status and provider) and the aging of receivables."""

from flask import g
from flask.views import MethodView

from flux_recon.services import reports
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.reports.schemas import AgingArgsSchema, AgingSchema, SummaryArgsSchema, SummarySchema

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


@blp.route("/aging")
class Aging(MethodView):
    @blp.arguments(AgingArgsSchema, location="query")
    @blp.response(200, AgingSchema)
    @blp.errors()
    def get(self, args):
        """Aging of receivables: open and partially paid orders per currency, by days since
        they were created (0-7, 8-30, 31-90, over 90), with counts, outstanding amounts and
        totals. `as_of` ages them at the end of an earlier (or later) day, counting only the
        payments allocated by then."""
        return reports.aging(g.tenant.id, args.get("as_of"))
