"""Settlement pulls: per integration, the state of the scheduled pulls from its provider's API."""

from peewee import CharField, ForeignKeyField, IntegerField, Model, TextField

from flux_recon.models.base import UTCDateTimeField


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

    class SettlementPull(Model):
        integration = ForeignKeyField(Integration, unique=True, on_delete="CASCADE")
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        status = CharField(max_length=24, default="ok")
        last_attempt_at = UTCDateTimeField(null=True)
        last_success_at = UTCDateTimeField(null=True)
        covered_until = UTCDateTimeField(null=True)
        last_error = TextField(null=True)
        failing_since = UTCDateTimeField(null=True)
        failures = IntegerField(default=0)
        next_attempt_at = UTCDateTimeField(null=True)
        refused_auth_version = IntegerField(null=True)
        updated_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "settlement_pull"

    db.create_tables([SettlementPull])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("settlement_pull"))
