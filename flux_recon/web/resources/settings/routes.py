"""/api/v1/settings/reconciliation: which strategies run, the customer window, tolerances."""

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import abort

from flux_recon.models import Tenant
from flux_recon.models.audit_log import record_audit
from flux_recon.models.transactions import write_transaction
from flux_recon.reconciliation.records import tenant_settings
from flux_recon.reconciliation.rules import ReconciliationSettings, parse_tolerances
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
        return settings_view(tenant_settings(g.tenant.id))

    @blp.arguments(
        ReconciliationSettingsSchema,
        example={"disabled_strategies": ["amount_customer"], "customer_window_days": 14, "tolerances": {"NGN": "1.00"}},
    )
    @blp.response(200, ReconciliationSettingsSchema)
    @blp.errors(422)
    def patch(self, data):
        """Change your reconciliation settings (only the fields you send)

        Applies to payments reconciled from now on; nothing already allocated changes.
        """
        current = tenant_settings(g.tenant.id).to_json()
        if "disabled_strategies" in data:
            known = set(current_app.extensions["engine"].strategy_names)
            unknown = sorted(set(data["disabled_strategies"]) - known)
            if unknown:
                abort(
                    422,
                    message=f"unknown strategies: {', '.join(unknown)}",
                    errors={"json": {"disabled_strategies": [f"must be among: {', '.join(sorted(known))}"]}},
                )
            current["disabled_strategies"] = sorted(set(data["disabled_strategies"]))
        if "customer_window_days" in data:
            current["customer_window_days"] = data["customer_window_days"]
        if "tolerances" in data:
            try:
                current["tolerances"] = parse_tolerances(data["tolerances"])
            except ValueError as exc:
                abort(422, message=str(exc), errors={"json": {"tolerances": [str(exc)]}})
        with write_transaction():
            Tenant.update(settings=current).where(Tenant.id == g.tenant.id).execute()
            record_audit(g.tenant.id, g.actor, "settings.changed", "tenant", g.tenant.id, current)
        return settings_view(ReconciliationSettings.from_json(current))
