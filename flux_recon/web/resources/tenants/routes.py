"""POST /api/v1/tenants: the operator creates a tenant (needs the admin token)."""

from flask.views import MethodView

from flux_recon.services.tenants import create_tenant
from flux_recon.web.api import Blueprint
from flux_recon.web.resources.tenants.schemas import TenantCreatedSchema, TenantCreateSchema

blp = Blueprint("tenants", __name__, auth="admin", description="Tenants (operator only).")


@blp.route("")
class Tenants(MethodView):
    @blp.arguments(TenantCreateSchema, example={"name": "Ada's Pharmacy"})
    @blp.response(201, TenantCreatedSchema)
    @blp.errors()
    def post(self, data):
        """Create a tenant and its first API key

        Needs `Authorization: Bearer <FLUX_RECON_ADMIN_TOKEN>`. The API key is returned
        this once. The CLI equivalent is `flux-recon tenants create --name NAME --json`.
        """
        tenant, api_key = create_tenant(data["name"])
        return {"tenant_id": tenant.id, "name": tenant.name, "api_key": api_key}
