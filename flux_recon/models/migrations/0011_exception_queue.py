"""Exception queue and suggestions: decisions on queue items, declined suggestions, and the
indexes they read (orders by compact reference and open orders by amount for suggestions,
unrecognized webhooks for the queue)."""

from peewee import BigIntegerField, CharField, ForeignKeyField, Model, TextField

from flux_recon.models.base import UTCDateTimeField

SEPARATORS = ("-", " ", "_", "/", ".", "#", ":")


def _compact(column):
    expression = column
    for separator in SEPARATORS:
        expression = f"REPLACE({expression}, '{separator}', '')"
    return expression


INDEXES = {
    "sales_order_reference_compact": f"sales_order (tenant_id, {_compact('reference_key')})",
    "sales_order_payment_reference_compact": f"sales_order (tenant_id, {_compact('payment_reference_key')})",
    "sales_order_open_amount": "sales_order (tenant_id, currency, amount_minor) WHERE status = 'open'",
    "webhook_event_unrecognized": (
        "webhook_event (tenant_id, received_at) WHERE verdict = 'unrecognized' AND replay_of IS NULL"
    ),
    # A webhook's replays: the queue drops one whose replay was understood, and a replay
    # finds its own record, without walking the inbox.
    "webhook_event_replay_of": "webhook_event (replay_of) WHERE replay_of IS NOT NULL",
}


def up(migrator, db):
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=40)

        class Meta:
            database = db
            table_name = "tenant"

    class Payment(Model):
        class Meta:
            database = db
            table_name = "payment"

    class SalesOrder(Model):
        class Meta:
            database = db
            table_name = "sales_order"

    class ExceptionDecision(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        source = CharField(max_length=40)
        subject_id = BigIntegerField()
        status = CharField(max_length=12)
        reason = CharField(max_length=40)
        fingerprint = TextField()
        note = TextField()
        actor = CharField(max_length=200)
        decided_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "exception_decision"
            indexes = ((("tenant", "source", "subject_id"), True),)

    class SuggestionDecline(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        payment = ForeignKeyField(Payment, on_delete="CASCADE")
        order = ForeignKeyField(SalesOrder, on_delete="CASCADE")
        note = TextField(default="")
        actor = CharField(max_length=200)
        declined_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "suggestion_decline"
            indexes = ((("payment", "order"), True),)

    db.create_tables([ExceptionDecision, SuggestionDecline])
    for name, target in INDEXES.items():
        db.execute_sql(f"CREATE INDEX {name} ON {target}")


def down(migrator, db):
    for name in reversed(INDEXES):
        db.execute_sql(f"DROP INDEX {name}")
    migrator.migrate(migrator.drop_table("suggestion_decline"))
    migrator.migrate(migrator.drop_table("exception_decision"))
