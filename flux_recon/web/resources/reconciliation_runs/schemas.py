"""Schemas of the reconciliation runs resource."""

import marshmallow as ma

from flux_recon.core.states import Reconciliation
from flux_recon.models.reconciliation_run import RUN_STATUSES
from flux_recon.web.resources.fields import UTCDateTime

STATES = [state.value for state in Reconciliation]


class RunCreateSchema(ma.Schema):
    from_ = UTCDateTime(
        data_key="from", metadata={"description": "payments that occurred at or after this time (ISO 8601)"}
    )
    to = UTCDateTime(metadata={"description": "payments that occurred before this time (ISO 8601)"})
    provider = ma.fields.String(
        validate=ma.validate.Length(min=1, max=40), metadata={"description": "only this provider's payments"}
    )
    dry_run = ma.fields.Boolean(
        load_default=False, metadata={"description": "report what would change, and change nothing"}
    )


class RunQueryArgsSchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(RUN_STATUSES))
    dry_run = ma.fields.Boolean()


class ParametersSchema(ma.Schema):
    from_ = UTCDateTime(data_key="from", attribute="occurred_from", allow_none=True)
    to = UTCDateTime(attribute="occurred_to", allow_none=True)
    provider = ma.fields.String(allow_none=True)
    dry_run = ma.fields.Boolean()


class CountsSchema(ma.Schema):
    examined = ma.fields.Integer(metadata={"description": "open payments and orphan refunds retried"})
    matched = ma.fields.Integer(metadata={"description": "now matched (a refund: applied to its payment)"})
    changed = ma.fields.Integer(metadata={"description": "changed otherwise: now ambiguous, or an exception"})
    still_open = ma.fields.Integer(metadata={"description": "still unmatched, ambiguous or orphan"})


class _Self(ma.fields.Nested):
    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return obj


class ChangeSchema(ma.Schema):
    payment_id = ma.fields.Integer(attribute="payment_id")
    before = ma.fields.String(metadata={"enum": STATES})
    after = ma.fields.String(metadata={"enum": STATES})
    order_ids = ma.fields.List(ma.fields.Integer(), metadata={"description": "orders the payment was allocated to"})
    reason = ma.fields.String(allow_none=True)


class RunSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String(
        metadata={"enum": list(RUN_STATUSES), "description": "abandoned: its process stopped before it ended"}
    )
    actor = ma.fields.String(metadata={"description": "who started it: api_key:<prefix>, cli, or schedule"})
    parameters = _Self(ParametersSchema, dump_only=True)
    counts = _Self(CountsSchema, dump_only=True)
    error = ma.fields.String(allow_none=True)
    started_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)


class RunSchema(RunSummarySchema):
    changes = ma.fields.List(
        ma.fields.Nested(ChangeSchema),
        attribute="shown_changes",
        dump_only=True,
        metadata={
            "description": "what the run changed (a dry run: would change), the first 1000; "
            "all of them at /reconciliation-runs/{id}/changes"
        },
    )
