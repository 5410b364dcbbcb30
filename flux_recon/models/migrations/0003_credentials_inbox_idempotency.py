"""Credential rotation grace, replayable inbox events, idempotency records."""

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, Model, TextField

from flux_recon.models.base import UTCDateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("credential", "previous_secret_encrypted", TextField(null=True)),
        migrator.add_column("credential", "previous_valid_until", UTCDateTimeField(null=True)),
        migrator.add_column("webhook_event", "authenticated", BooleanField(default=False)),
        migrator.add_column("webhook_event", "replay_of", IntegerField(null=True)),
    )

    class Tenant(Model):
        id = CharField(primary_key=True, max_length=40)

        class Meta:
            database = db
            table_name = "tenant"

    class IdempotencyRecord(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        key = CharField(max_length=200)
        fingerprint = CharField(max_length=64)
        status_code = IntegerField(null=True)
        response_encrypted = TextField(null=True)
        created_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "idempotency_record"
            indexes = ((("tenant", "key"), True),)

    db.create_tables([IdempotencyRecord])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table("idempotency_record"),
        migrator.drop_column("webhook_event", "replay_of"),
        migrator.drop_column("webhook_event", "authenticated"),
        migrator.drop_column("credential", "previous_valid_until"),
        migrator.drop_column("credential", "previous_secret_encrypted"),
    )
