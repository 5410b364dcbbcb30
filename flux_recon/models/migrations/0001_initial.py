"""Initial schema: tenants, integrations, orders, payments, allocations, inbox, audit log."""
from peewee import *
from flux_recon.models.base import JSONField
from flux_recon.models.base import UTCDateTimeField

def up(migrator, db):
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=40)
        name = CharField(max_length=200)
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'tenant'
    db.create_tables([Tenant])

    class Integration(Model):
        tenant = ForeignKeyField(Tenant, on_delete='CASCADE')
        provider = CharField(max_length=40)
        token = CharField(unique=True, max_length=64)
        created_at = UTCDateTimeField()
        disabled_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'integration'
    db.create_tables([Integration])

    class Payment(Model):
        tenant = ForeignKeyField(Tenant, on_delete='CASCADE')
        integration = ForeignKeyField(Integration, null=True, on_delete='SET NULL')
        provider = CharField(max_length=40)
        external_id = CharField(max_length=200)
        kind = CharField(max_length=16, default='payment')
        status = CharField(max_length=16)
        method = CharField(max_length=20, default='other')
        amount_minor = BigIntegerField()
        currency = CharField(max_length=3)
        allocated_minor = BigIntegerField(default=0)
        fee_minor = BigIntegerField(null=True)
        settlement_minor = BigIntegerField(null=True)
        references = JSONField(default=list)
        destination_account = CharField(null=True, max_length=64)
        parent_external_id = CharField(null=True, max_length=200)
        payer_name = CharField(null=True, max_length=200)
        payer_email = CharField(null=True, max_length=320)
        payer_phone = CharField(null=True, max_length=40)
        payer_customer_id = CharField(null=True, max_length=200)
        payer_account_number = CharField(null=True, max_length=64)
        payer_bank = CharField(null=True, max_length=200)
        reconciliation = CharField(max_length=20, default='unmatched')
        reconciliation_reason = TextField(null=True)
        candidates = JSONField(null=True)
        occurred_at = UTCDateTimeField()
        received_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()
        raw = JSONField(null=True)
        class Meta:
            database = db
            table_name = 'payment'
            indexes = ((('tenant', 'provider', 'external_id'), True), (('tenant', 'reconciliation', 'received_at'), False), (('tenant', 'received_at'), False))
    db.create_tables([Payment])

    class SalesOrder(Model):
        tenant = ForeignKeyField(Tenant, on_delete='CASCADE')
        reference = CharField(max_length=200)
        reference_key = CharField(max_length=200)
        payment_reference = CharField(null=True, max_length=200)
        payment_reference_key = CharField(null=True, max_length=200)
        virtual_account = CharField(null=True, max_length=64)
        amount_minor = BigIntegerField()
        currency = CharField(max_length=3)
        amount_paid_minor = BigIntegerField(default=0)
        status = CharField(max_length=20, default='open')
        description = TextField(null=True)
        customer_id = CharField(null=True, max_length=200)
        customer_name = CharField(null=True, max_length=200)
        customer_email = CharField(null=True, max_length=320)
        customer_phone = CharField(null=True, max_length=40)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()
        cancelled_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'sales_order'
            indexes = ((('tenant', 'reference_key'), True), (('tenant', 'payment_reference_key'), False), (('tenant', 'virtual_account'), False), (('tenant', 'status', 'created_at'), False))
    db.create_tables([SalesOrder])

    class Allocation(Model):
        payment = ForeignKeyField(Payment, on_delete='CASCADE')
        order = ForeignKeyField(SalesOrder, on_delete='CASCADE')
        amount_minor = BigIntegerField()
        currency = CharField(max_length=3)
        matched_by = CharField(max_length=40)
        created_by = CharField(max_length=200, default='engine')
        created_at = UTCDateTimeField()
        released_at = UTCDateTimeField(null=True)
        released_reason = TextField(null=True)
        class Meta:
            database = db
            table_name = 'allocation'
    db.create_tables([Allocation])

    class AllowedNetwork(Model):
        integration = ForeignKeyField(Integration, on_delete='CASCADE')
        cidr = CharField(max_length=64)
        label = CharField(max_length=200, default='')
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'allowed_network'
            indexes = ((('integration', 'cidr'), True),)
    db.create_tables([AllowedNetwork])

    class ApiKey(Model):
        tenant = ForeignKeyField(Tenant, on_delete='CASCADE')
        key_hash = CharField(unique=True, max_length=64)
        prefix = CharField(max_length=16)
        label = CharField(max_length=200, default='')
        created_at = UTCDateTimeField()
        revoked_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'api_key'
    db.create_tables([ApiKey])

    class AuditEntry(Model):
        tenant = ForeignKeyField(Tenant, on_delete='CASCADE')
        created_at = UTCDateTimeField()
        actor = CharField(max_length=200)
        action = CharField(max_length=60)
        object_type = CharField(max_length=40)
        object_id = CharField(max_length=64)
        details = JSONField(null=True)
        class Meta:
            database = db
            table_name = 'audit_entry'
            indexes = ((('tenant', 'object_type', 'object_id'), False),)
    db.create_tables([AuditEntry])

    class Credential(Model):
        integration = ForeignKeyField(Integration, on_delete='CASCADE')
        name = CharField(max_length=40)
        generated = BooleanField(default=False)
        scope = CharField(max_length=16, default='primary')
        label = CharField(max_length=200, default='')
        key = CharField(null=True, max_length=80)
        secret_encrypted = TextField()
        created_at = UTCDateTimeField()
        revoked_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'credential'
    db.create_tables([Credential])

    class WebhookEvent(Model):
        tenant = ForeignKeyField(Tenant, on_delete='CASCADE')
        integration = ForeignKeyField(Integration, on_delete='CASCADE')
        provider = CharField(max_length=40)
        received_at = UTCDateTimeField()
        source_ip = CharField(max_length=64)
        verdict = CharField(max_length=24)
        reason = TextField(null=True)
        http_status = IntegerField()
        headers = JSONField(default=dict)
        body = BlobField(null=True)
        body_size = IntegerField(default=0)
        body_truncated = BooleanField(default=False)
        credential_id = IntegerField(null=True)
        payment = ForeignKeyField(Payment, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'webhook_event'
            indexes = ((('tenant', 'received_at'), False),)
    db.create_tables([WebhookEvent])

    # One enabled integration per provider and tenant; disabled ones stay for history.
    db.execute_sql(
        "CREATE UNIQUE INDEX integration_one_enabled ON integration (tenant_id, provider) "
        "WHERE disabled_at IS NULL"
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_table('webhook_event'))
    migrator.migrate(migrator.drop_table('credential'))
    migrator.migrate(migrator.drop_table('audit_entry'))
    migrator.migrate(migrator.drop_table('api_key'))
    migrator.migrate(migrator.drop_table('allowed_network'))
    migrator.migrate(migrator.drop_table('allocation'))
    migrator.migrate(migrator.drop_table('sales_order'))
    migrator.migrate(migrator.drop_table('payment'))
    migrator.migrate(migrator.drop_table('integration'))
    migrator.migrate(migrator.drop_table('tenant'))

