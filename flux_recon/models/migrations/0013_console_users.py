"""The merchant console: users, their sessions, recovery codes and invitations; API keys gain a scope."""

from peewee import BigIntegerField, CharField, ForeignKeyField, IntegerField, Model, TextField

from flux_recon.models.base import UTCDateTimeField


def up(migrator, db):
    # None: a key made before scopes, with full access as before.
    migrator.migrate(migrator.add_column("api_key", "scope", CharField(max_length=8, null=True)))

    class Tenant(Model):
        id = CharField(primary_key=True, max_length=40)

        class Meta:
            database = db
            table_name = "tenant"

    class ConsoleUser(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        email = CharField(max_length=320, unique=True)
        password_hash = CharField(max_length=255)
        role = CharField(max_length=16)
        totp_secret_encrypted = TextField(null=True)
        totp_confirmed_at = UTCDateTimeField(null=True)
        totp_last_step = BigIntegerField(null=True)
        failed_sign_ins = IntegerField(default=0)
        second_factor_failures = IntegerField(default=0)
        locked_until = UTCDateTimeField(null=True)
        created_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "console_user"

    class ConsoleSession(Model):
        user = ForeignKeyField(ConsoleUser, on_delete="CASCADE")
        token_hash = CharField(max_length=64, unique=True)
        created_at = UTCDateTimeField()
        last_seen_at = UTCDateTimeField()
        second_factor_at = UTCDateTimeField(null=True)
        revoked_at = UTCDateTimeField(null=True)
        client_ip = CharField(max_length=64, default="")
        user_agent = CharField(max_length=300, default="")

        class Meta:
            database = db
            table_name = "console_session"

    class RecoveryCode(Model):
        user = ForeignKeyField(ConsoleUser, on_delete="CASCADE")
        code_hash = CharField(max_length=64)
        used_at = UTCDateTimeField(null=True)

        class Meta:
            database = db
            table_name = "recovery_code"

    class Invitation(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        token_hash = CharField(max_length=64, unique=True)
        role = CharField(max_length=16)
        created_by = CharField(max_length=200)
        created_at = UTCDateTimeField()
        expires_at = UTCDateTimeField()
        used_at = UTCDateTimeField(null=True)

        class Meta:
            database = db
            table_name = "invitation"

    db.create_tables([ConsoleUser, ConsoleSession, RecoveryCode, Invitation])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table("invitation"),
        migrator.drop_table("recovery_code"),
        migrator.drop_table("console_session"),
        migrator.drop_table("console_user"),
        migrator.drop_column("api_key", "scope"),
    )
