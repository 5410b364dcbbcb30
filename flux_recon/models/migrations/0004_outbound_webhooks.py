"""Outbound event webhooks: subscriptions, the outbox, deliveries and delivery attempts."""
from peewee import *
from flux_recon.models.base import JSONField
from flux_recon.models.base import UTCDateTimeField

def up(migrator, db):
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=40)
        class Meta:
            database = db
            table_name = 'tenant'

    class OutboundEvent(Model):
        tenant = ForeignKeyField(Tenant, on_delete='CASCADE')
        event_id = CharField(unique=True, max_length=64)
        event_type = CharField(max_length=40)
        body = TextField()
        created_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'outbound_event'
    db.create_tables([OutboundEvent])

    class Subscription(Model):
        tenant = ForeignKeyField(Tenant, on_delete='CASCADE')
        label = CharField(max_length=200)
        url = CharField(max_length=2000)
        events = JSONField(default=list)
        auth_type = CharField(max_length=10, default='none')
        basic_username = CharField(null=True, max_length=200)
        basic_password_encrypted = TextField(null=True)
        signing_key_encrypted = TextField(null=True)
        enabled = BooleanField(default=True)
        disabled_reason = TextField(null=True)
        failing_since = UTCDateTimeField(null=True)
        created_at = UTCDateTimeField()
        updated_at = UTCDateTimeField()
        class Meta:
            database = db
            table_name = 'subscription'
    db.create_tables([Subscription])

    class Delivery(Model):
        event = ForeignKeyField(OutboundEvent, on_delete='CASCADE')
        subscription = ForeignKeyField(Subscription, on_delete='CASCADE')
        status = CharField(max_length=12, default='pending')
        attempts = IntegerField(default=0)
        next_attempt_at = UTCDateTimeField()
        lease_until = UTCDateTimeField(null=True)
        last_status_code = IntegerField(null=True)
        last_error = TextField(null=True)
        last_latency_ms = IntegerField(null=True)
        response_snippet = TextField(null=True)
        created_at = UTCDateTimeField()
        delivered_at = UTCDateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'delivery'
            indexes = ((('status', 'next_attempt_at'), False),)
    db.create_tables([Delivery])

    class DeliveryAttempt(Model):
        delivery = ForeignKeyField(Delivery, on_delete='CASCADE')
        attempted_at = UTCDateTimeField()
        status_code = IntegerField(null=True)
        error = TextField(null=True)
        latency_ms = IntegerField(null=True)
        response_snippet = TextField(null=True)
        class Meta:
            database = db
            table_name = 'delivery_attempt'
    db.create_tables([DeliveryAttempt])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('delivery_attempt'))
    migrator.migrate(migrator.drop_table('delivery'))
    migrator.migrate(migrator.drop_table('subscription'))
    migrator.migrate(migrator.drop_table('outbound_event'))

