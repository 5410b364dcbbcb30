"""/api/v1/audit: the append-only log of every change by the engine or a person."""

from flask import g
from flask.views import MethodView

from flux_recon.services import audit
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.audit.schemas import AuditEntrySchema, AuditQueryArgsSchema

blp = Blueprint("audit", __name__, description="Who changed what, and why. Entries are never edited.")


@blp.route("")
class Audit(MethodView):
    @blp.arguments(AuditQueryArgsSchema, location="query")
    @blp.response(200, AuditEntrySchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors()
    def get(self, args):
        """List audit entries, newest first (filter by object, action, actor)"""
        return audit.list_entries(g.tenant.id, **args)
