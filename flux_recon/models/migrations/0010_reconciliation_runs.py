"""Reconciliation runs and the changes each made; one running run per tenant; open payments by id."""

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, Model, TextField

from flux_recon.models.base import JSONField, UTCDateTimeField


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

    class ReconciliationRun(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        actor = CharField(max_length=200)
        status = CharField(max_length=12, default="running")
        dry_run = BooleanField(default=False)
        provider = CharField(max_length=40, null=True)
        occurred_from = UTCDateTimeField(null=True)
        occurred_to = UTCDateTimeField(null=True)
        examined = IntegerField(default=0)
        matched = IntegerField(default=0)
        changed = IntegerField(default=0)
        still_open = IntegerField(default=0)
        error = TextField(null=True)
        started_at = UTCDateTimeField()
        heartbeat_at = UTCDateTimeField()
        finished_at = UTCDateTimeField(null=True)

        class Meta:
            database = db
            table_name = "reconciliation_run"

    class ReconciliationRunChange(Model):
        run = ForeignKeyField(ReconciliationRun, on_delete="CASCADE")
        payment = ForeignKeyField(Payment, on_delete="CASCADE")
        before = CharField(max_length=20)
        after = CharField(max_length=20)
        order_ids = JSONField(default=list)
        reason = TextField(null=True)

        class Meta:
            database = db
            table_name = "reconciliation_run_change"

    db.create_tables([ReconciliationRun, ReconciliationRunChange])
    db.execute_sql(
        "CREATE UNIQUE INDEX reconciliation_run_one_running ON reconciliation_run (tenant_id) WHERE status = 'running'"
    )
    db.execute_sql("CREATE INDEX payment_tenant_open_id ON payment (tenant_id, reconciliation, id)")


def down(migrator, db):
    db.execute_sql("DROP INDEX payment_tenant_open_id")
    migrator.migrate(migrator.drop_table("reconciliation_run_change"))
    migrator.migrate(migrator.drop_table("reconciliation_run"))
