"""/api/v1/reports/settlements: per provider and day, what was settled and what is still owed."""

from flask import g
from flask.views import MethodView

from flux_recon.services import settlements
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.settlement_reports.schemas import SettlementReportArgsSchema, SettlementReportSchema

URL_PREFIX = "/api/v1/reports/settlements"
blp = Blueprint("settlement_reports", __name__, description="Settlement report.")


@blp.route("")
class SettlementReport(MethodView):
    @blp.arguments(SettlementReportArgsSchema, location="query")
    @blp.response(200, SettlementReportSchema)
    @blp.errors()
    def get(self, args):
        """Per provider, day and currency: settlements (count, lines, gross, fees, net), missing
        webhooks recovered, payments awaiting settlement and not in any settlement"""
        return {"rows": settlements.report(g.tenant.id, args.get("from_"), args.get("to"))}
