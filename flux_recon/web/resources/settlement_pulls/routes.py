"""/api/v1/integrations/{id}/settlement-pulls: the state of an integration's pulls from its provider's API."""

from flask import current_app, g
from flask.views import MethodView

from flux_recon.services import settlement_pulls
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.settlement_pulls.schemas import (
    SettlementPullArgsSchema,
    SettlementPullResultSchema,
    SettlementPullStateSchema,
)

URL_PREFIX = "/api/v1/integrations"
blp = Blueprint("settlement_pulls", __name__, description="Settlement pulls from provider APIs.")


@blp.route("/<int:integration_id>/settlement-pulls")
class SettlementPulls(MethodView):
    @blp.response(200, SettlementPullStateSchema)
    @blp.errors(404)
    def get(self, integration_id):
        """The integration's settlement pulls: last success, and whether they are failing"""
        extensions = current_app.extensions
        return settlement_pulls.pull_state(
            g.tenant.id, integration_id, providers=extensions["providers"], secret_box=extensions["secret_box"]
        )

    @blp.arguments(SettlementPullArgsSchema, location="query")
    @blp.response(200, SettlementPullResultSchema)
    @blp.errors(404, 422)
    def post(self, args, integration_id):
        """Pull the integration's settlements from its provider's API now (the answer says whether it worked)"""
        extensions = current_app.extensions
        result = settlement_pulls.pull_integration(
            g.tenant.id,
            integration_id,
            providers=extensions["providers"],
            engine=extensions["engine"],
            plugin_manager=extensions["plugin_manager"],
            secret_box=extensions["secret_box"],
            since=args["since"],
            until=args["until"],
        )
        return result.as_dict()
