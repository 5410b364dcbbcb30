"""/api/v1/settings/reconciliation: which strategies run, the customer window, tolerances, the time zone."""

from flask import current_app, g
from flask.views import MethodView

from flux_recon.reconciliation.rules import ReconciliationSettings
from flux_recon.services import tenant_settings
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.settings.schemas import ReconciliationSettingsSchema

blp = Blueprint("settings", __name__, description="Your reconciliation settings.")


def settings_view(settings: ReconciliationSettings) -> dict:
    return {"strategies": current_app.extensions["engine"].strategy_names, **settings.to_api()}


@blp.route("/reconciliation")
class ReconciliationSettingsResource(MethodView):
    @blp.response(200, ReconciliationSettingsSchema)
    @blp.errors()
    def get(self):
        """Show your reconciliation settings"""
        return settings_view(tenant_settings.get_rules(g.tenant.id))

    @blp.arguments(
        ReconciliationSettingsSchema,
        example={
            "disabled_strategies": ["amount_customer"],
            "customer_window_days": 14,
            "tolerances": {"NGN": "1.00"},
            "time_zone": "Africa/Lagos",
        },
    )
    @blp.response(200, ReconciliationSettingsSchema)
    @blp.errors(422)
    def patch(self, data):
        """Change your reconciliation settings (only the fields you send)

        Applies to payments reconciled from now on; nothing already allocated changes. A
        `time_zone` that is not an IANA zone name is refused with 422 naming the field.
        """
        strategy_names = current_app.extensions["engine"].strategy_names
        return settings_view(tenant_settings.update_rules(g.tenant.id, g.actor, data, strategy_names=strategy_names))
