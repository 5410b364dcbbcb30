"""Settlement pulls: per integration, the state of the scheduled pulls from its provider's API; a settlement's
stated net (a header-only settlement webhook), checked against its lines when they come."""

from peewee import BigIntegerField, CharField, ForeignKeyField, IntegerField, Model, TextField

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
    migrator.migrate(migrator.add_column("settlement", "stated_net_minor", BigIntegerField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("settlement", "stated_net_minor"), migrator.drop_table("settlement_pull"))
