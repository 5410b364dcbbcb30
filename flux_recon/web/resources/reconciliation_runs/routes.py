"""/api/v1/reconciliation-runs: retry every open payment against today's orders, and the runs' records."""

from flask import current_app, g
from flask.views import MethodView

from flux_recon.services import reconciliation_runs as runs
from flux_recon.web.api import Blueprint
from flux_recon.web.pager import PeeweePage
from flux_recon.web.resources.reconciliation_runs.schemas import (
    ChangeSchema,
    RunCreateSchema,
    RunQueryArgsSchema,
    RunSchema,
    RunSummarySchema,
)

URL_PREFIX = "/api/v1/reconciliation-runs"

blp = Blueprint(
    "reconciliation_runs",
    __name__,
    description="Reconciliation runs: open payments matched again against the orders as they are now.",
)


def _with_changes(run):
    run.shown_changes = runs.shown_changes(run)
    return run


@blp.route("")
class Runs(MethodView):
    @blp.arguments(RunQueryArgsSchema, location="query")
    @blp.response(200, RunSummarySchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors()
    def get(self, args):
        """List reconciliation runs, newest first (filter by status, dry run)"""
        return runs.list_runs(g.tenant.id, **args)

    @blp.arguments(RunCreateSchema, example={"from": "2026-11-01T00:00:00Z", "provider": "core", "dry_run": True})
    @blp.response(201, RunSchema)
    @blp.errors(409)
    def post(self, data):
        """Run reconciliation now: retry every open payment against today's orders

        Retries the unmatched and ambiguous payments and the orphan refunds (optionally only
        those that occurred in [`from`, `to`) or came from one `provider`) with the same
        strategies and priorities as a webhook, and answers when the run has ended, with
        its counts and changes. `dry_run` reports what would change and changes nothing.
        One run per tenant at a time: another while one is in progress is refused (409).
        """
        request = runs.RunRequest(
            occurred_from=data.get("from_"),
            occurred_to=data.get("to"),
            provider=data.get("provider"),
            dry_run=data["dry_run"],
        )
        run = runs.run_reconciliation(
            g.tenant.id,
            g.actor,
            current_app.extensions["engine"],
            current_app.extensions["plugin_manager"],
            request,
        )
        return _with_changes(run), 201


@blp.route("/<int:run_id>")
class RunById(MethodView):
    @blp.response(200, RunSchema)
    @blp.errors(404)
    def get(self, run_id):
        """Show a run: its parameters, counts and changes"""
        return _with_changes(runs.get_run(g.tenant.id, run_id))


@blp.route("/<int:run_id>/changes")
class RunChanges(MethodView):
    @blp.response(200, ChangeSchema(many=True))
    @blp.paginate(PeeweePage)
    @blp.errors(404)
    def get(self, run_id):
        """List every change a run made (a dry run: would make), in the order made"""
        return runs.list_changes(g.tenant.id, run_id)
