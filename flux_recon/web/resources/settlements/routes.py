"""/api/v1/settlements: providers' payouts with their lines and breaks; statement imports; CSV column mappings."""

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import abort

from flux_recon.services import settlements
from flux_recon.services.errors import Invalid
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.settlements.schemas import (
    SHOWN_INLINE,
    ImportArgsSchema,
    ImportResultSchema,
    MappingSchema,
    SettlementBreakSchema,
    SettlementDetailSchema,
    SettlementLineSchema,
    SettlementQueryArgsSchema,
    SettlementSchema,
)

blp = Blueprint(
    "settlements",
    __name__,
    description="Settlements: what providers paid out, line by line, matched to payments and orders.",
)

# A statement may be far larger than a webhook: its own body limit (SETTLEMENT_IMPORT_MAX_BYTES).
DEFAULT_IMPORT_MAX_BYTES = 512 * 1024 * 1024
BODY_TYPES = ("text/csv", "application/json")
IMPORT_BODY = {
    "required": True,
    "description": "The statement file as the body, or as the `file` field of a multipart form.",
    "content": {
        "text/csv": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
    },
}


@blp.route("")
class Settlements(MethodView):
    @blp.arguments(SettlementQueryArgsSchema, location="query")
    @blp.response(200, SettlementSchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors()
    def get(self, args):
        """List settlements, latest first (filter by provider, integration, status, settlement time)"""
        return settlements.list_settlements(g.tenant.id, **args)


@blp.route("/<int:settlement_id>")
class SettlementById(MethodView):
    @blp.response(200, SettlementDetailSchema)
    @blp.errors(404)
    def get(self, settlement_id):
        """Show a settlement with its lines and breaks"""
        settlement = settlements.get_settlement(g.tenant.id, settlement_id)
        settlement.lines = list(settlements.settlement_lines(g.tenant.id, settlement_id).limit(SHOWN_INLINE))
        settlement.breaks = list(settlements.settlement_breaks(g.tenant.id, settlement_id).limit(SHOWN_INLINE))
        return settlement


@blp.route("/<int:settlement_id>/lines")
class SettlementLines(MethodView):
    @blp.response(200, SettlementLineSchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors(404)
    def get(self, settlement_id):
        """List a settlement's lines: each transaction paid out, and the payment it is matched to"""
        return settlements.settlement_lines(g.tenant.id, settlement_id)


@blp.route("/<int:settlement_id>/breaks")
class SettlementBreaks(MethodView):
    @blp.response(200, SettlementBreakSchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors(404)
    def get(self, settlement_id):
        """List a settlement's breaks: where it disagrees with the ledger or with itself"""
        return settlements.settlement_breaks(g.tenant.id, settlement_id)


@blp.route("/imports")
class SettlementImports(MethodView):
    @blp.arguments(ImportArgsSchema, location="query")
    @blp.response(200, ImportResultSchema)
    @blp.doc(requestBody=IMPORT_BODY)
    @blp.errors(404, 413, 415, 422)
    def post(self, args):
        """Import a statement file (all of it, or nothing)

        Send the file as the body (`text/csv` or `application/json`) or as the `file` field of
        a `multipart/form-data` form. A file with bad values is refused whole with 422 naming
        each bad line and column (`errors.statement`). Importing the same file again changes
        nothing: a settlement is one row per provider reference, a line one per transaction.
        """
        request.max_content_length = current_app.config.get("SETTLEMENT_IMPORT_MAX_BYTES", DEFAULT_IMPORT_MAX_BYTES)
        stream, content_type = _statement_body()
        try:
            summary = settlements.import_statement(
                g.tenant.id,
                g.actor,
                args["integration_id"],
                args["format"],
                stream,
                providers=current_app.extensions["providers"],
                engine=current_app.extensions["engine"],
                plugin_manager=current_app.extensions["plugin_manager"],
                content_type=content_type,
                reference=args.get("reference"),
                settled_at=args.get("settled_at"),
            )
        except settlements.StatementRefused as error:
            abort(422, message=error.message, errors={"statement": error.fields})
        except Invalid as error:  # the format or the content type, named by the query
            abort(422, message=error.message, errors={"query": error.fields})
        return summary.as_dict()


def _statement_body():
    """The file's binary stream and its content type, read as it arrives (never whole in memory)."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            abort(422, message="send the statement as the form field 'file'", errors={"file": ["is required"]})
        declared = upload.mimetype
        return upload.stream, declared if declared in BODY_TYPES else None
    if request.mimetype not in BODY_TYPES:
        abort(415, message=f"send the statement as text/csv, application/json or multipart/form-data, "
              f"not {request.mimetype or 'no content type'}")  # fmt: skip
    return request.stream, request.mimetype


@blp.route("/mappings/<int:integration_id>")
class StatementMappingById(MethodView):
    @blp.response(200, MappingSchema)
    @blp.errors(404)
    def get(self, integration_id):
        """Show the integration's column mapping for generic_csv statements"""
        return settlements.get_mapping(g.tenant.id, integration_id)

    @blp.arguments(
        MappingSchema,
        example={
            "columns": {
                "transaction_id": "Transaction Ref",
                "amount": "Amount",
                "fee": "Fee",
                "reference": "Payment Ref",
                "paid_at": "Paid On",
                "settlement_reference": "Batch",
                "settled_at": "Settled On",
            },
            "currency": "NGN",
            "amounts_in": "major",
            "utc_offset": "+01:00",
        },
    )
    @blp.response(200, MappingSchema)
    @blp.errors(404, 422)
    def put(self, data, integration_id):
        """Save the integration's column mapping for generic_csv statements (replaces the last one)"""
        return settlements.save_mapping(g.tenant.id, g.actor, integration_id, data)
