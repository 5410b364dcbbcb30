"""/healthz (the process is up) and /readyz (the database answers)."""

import marshmallow as ma

from flux_recon.models import db
from flux_recon.web.api import Blueprint

blp = Blueprint("health", __name__, auth=None, description="Liveness and readiness probes.")


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})


@blp.route("/healthz")
@blp.response(200, HealthSchema)
def healthz():
    """Liveness: the process answers (touches no database)"""
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200, HealthSchema)
@blp.errors(503)
def readyz():
    """Readiness: the database answers a query (503 when it does not)"""
    db.execute_sql("SELECT 1")
    return {"status": "ok"}
