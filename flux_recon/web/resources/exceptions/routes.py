"""/api/v1/exceptions: the queue of items a person must look at, and the decisions taken on them."""

from flask import g
from flask.views import MethodView

from flux_recon.services import exceptions
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.exceptions.schemas import (
    BulkResolveResultSchema,
    BulkResolveSchema,
    ExceptionQueryArgsSchema,
    ExceptionSchema,
    ReopenSchema,
    ResolveSchema,
)

blp = Blueprint(
    "exceptions",
    __name__,
    description="Everything a person must look at: payments no order takes, ambiguous or refused matches, "
    "orphan refunds, under- and overpaid orders, unrecognized webhooks. Resolving records a decision; "
    "it never changes money.",
)


@blp.route("")
class Exceptions(MethodView):
    @blp.arguments(ExceptionQueryArgsSchema, location="query")
    @blp.response(200, ExceptionSchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors(422)
    def get(self, args):
        """List the exception queue (open items, oldest first, by default)

        Filter by reason, provider, currency, age (`7d`, `12h`, `90`) and amount at stake
        (with a currency); sort by age or amount (amounts are grouped by currency). A
        resolved item is hidden until its state changes, or listed with `status=resolved`.
        """
        filters = exceptions.Filters(
            reasons=args.get("reason"),
            provider=args.get("provider"),
            currency=args.get("currency"),
            min_age=args.get("min_age"),
            max_age=args.get("max_age"),
            min_amount=args.get("min_amount"),
            max_amount=args.get("max_amount"),
            status=args["status"],
            sort=args["sort"],
            descending=args["order"] == "desc",
        )
        return exceptions.list_exceptions(g.tenant.id, filters)


@blp.route("/<string:item_id>")
class ExceptionById(MethodView):
    @blp.response(200, ExceptionSchema)
    @blp.errors(404)
    def get(self, item_id):
        """Show one item of the queue"""
        return exceptions.get_exception(g.tenant.id, item_id)


@blp.route("/<string:item_id>/resolve")
class ExceptionResolve(MethodView):
    @blp.arguments(ResolveSchema, example={"note": "customer paid the rest in cash; receipt 1182"})
    @blp.response(200, ExceptionSchema)
    @blp.errors(404, 409)
    def post(self, data, item_id):
        """Resolve an item with a note

        Records your decision (audited) and hides the item until its state changes; no
        money moves. 409 if it is already resolved.
        """
        return exceptions.resolve(g.tenant.id, g.actor, item_id, data["note"])


@blp.route("/<string:item_id>/reopen")
class ExceptionReopen(MethodView):
    @blp.arguments(ReopenSchema, example={"note": "the customer disputes it"})
    @blp.response(200, ExceptionSchema)
    @blp.errors(404, 409)
    def post(self, data, item_id):
        """Re-open a resolved item (409 if it is not resolved)"""
        return exceptions.reopen(g.tenant.id, g.actor, item_id, data["note"])


@blp.route("/resolve")
class ExceptionsBulkResolve(MethodView):
    @blp.arguments(BulkResolveSchema, example={"ids": ["payment:42", "order:12"], "note": "month-end review"})
    @blp.response(200, BulkResolveResultSchema)
    @blp.errors()
    def post(self, data):
        """Resolve several items with one note (at most 200)

        One transaction; items no longer in the queue or already resolved are listed in
        `skipped` with the reason, the others in `resolved`.
        """
        return exceptions.resolve_many(g.tenant.id, g.actor, data["ids"], data["note"])
