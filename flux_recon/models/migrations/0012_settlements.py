"""Settlements, their lines and breaks, statement column mappings, and each payment's settlement state."""

from peewee import BigIntegerField, BooleanField, CharField, ForeignKeyField, IntegerField, Model, TextField

from flux_recon.models.base import JSONField, UTCDateTimeField

PAYMENT_COLUMNS = ("settlement_state", "settlement_line_id", "recovered_from")
SWEEP_INDEX = "payment_settlement_state_occurred_at"


def up(migrator, db):
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=40)

        class Meta:
            database = db
            table_name = "tenant"

    class Integration(Model):
        class Meta:
            database = db
            table_name = "integration"

    class Payment(Model):
        class Meta:
            database = db
            table_name = "payment"

    class Settlement(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        integration = ForeignKeyField(Integration, null=True, on_delete="SET NULL")
        provider = CharField(max_length=40)
        reference = CharField(max_length=200)
        settled_at = UTCDateTimeField()
        currency = CharField(max_length=3)
        gross_minor = BigIntegerField()
        fees_minor = BigIntegerField()
        net_minor = BigIntegerField()
        totals_from_lines = BooleanField(default=False)
        destination_account = CharField(max_length=64, null=True)
        destination_bank = CharField(max_length=200, null=True)
        destination_name = CharField(max_length=200, null=True)
        status = CharField(max_length=20, default="awaiting_lines")
        source = CharField(max_length=12)
        sources = JSONField(default=list)
        line_count = IntegerField(default=0)
        period_start = UTCDateTimeField(null=True)
        break_count = IntegerField(default=0)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "settlement"
            indexes = ((("tenant", "provider", "reference"), True), (("tenant", "settled_at"), False))

    class SettlementLine(Model):
        settlement = ForeignKeyField(Settlement, on_delete="CASCADE")
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        provider = CharField(max_length=40)
        transaction_id = CharField(max_length=200)
        reference = CharField(max_length=200, null=True)
        amount_minor = BigIntegerField()
        fee_minor = BigIntegerField()
        net_minor = BigIntegerField()
        currency = CharField(max_length=3)
        paid_at = UTCDateTimeField(null=True)
        payer_email = CharField(max_length=320, null=True)
        payment = ForeignKeyField(Payment, null=True, on_delete="SET NULL")
        recovered = BooleanField(default=False)
        created_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "settlement_line"
            indexes = ((("settlement", "transaction_id"), True), (("tenant", "provider", "transaction_id"), False))

    class SettlementBreak(Model):
        settlement = ForeignKeyField(Settlement, on_delete="CASCADE")
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        kind = CharField(max_length=32)
        line = ForeignKeyField(SettlementLine, null=True, on_delete="CASCADE")
        payment = ForeignKeyField(Payment, null=True, on_delete="SET NULL")
        settlement_value = CharField(max_length=64, null=True)
        ledger_value = CharField(max_length=64, null=True)
        message = TextField()
        created_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "settlement_break"

    class StatementMapping(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        integration = ForeignKeyField(Integration, unique=True, on_delete="CASCADE")
        mapping = JSONField()
        updated_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "statement_mapping"

    db.create_tables([Settlement, SettlementLine, SettlementBreak, StatementMapping])
    migrator.migrate(
        migrator.add_column("payment", "settlement_state", CharField(max_length=20, null=True)),
        migrator.add_column("payment", "settlement_line_id", IntegerField(null=True)),
        migrator.add_column("payment", "recovered_from", CharField(max_length=64, null=True)),
        migrator.add_index("payment", ("settlement_state", "occurred_at"), False),
    )


def down(migrator, db):
    # SQLite drops a column in place (3.35+) once no index names it; nothing is rebuilt,
    # so no cascade reaches the payments' allocations.
    migrator.migrate(migrator.drop_index("payment", SWEEP_INDEX))
    migrator.migrate(*(migrator.drop_column("payment", column) for column in PAYMENT_COLUMNS))
    migrator.migrate(
        migrator.drop_table("statement_mapping"),
        migrator.drop_table("settlement_break"),
        migrator.drop_table("settlement_line"),
        migrator.drop_table("settlement"),
    )
