"""Reconciliation: per-tenant settings, refunded amounts, customer and refund-parent indexes."""

from peewee import BigIntegerField, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("tenant", "settings", TextField(null=True)),
        migrator.add_column("payment", "refunded_minor", BigIntegerField(default=0)),
        migrator.add_index("sales_order", ("tenant_id", "customer_id"), False),
        migrator.add_index("sales_order", ("tenant_id", "customer_email"), False),
        migrator.add_index("sales_order", ("tenant_id", "customer_phone"), False),
        migrator.add_index("payment", ("tenant_id", "provider", "parent_external_id"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("payment", "payment_tenant_id_provider_parent_external_id"),
        migrator.drop_index("sales_order", "sales_order_tenant_id_customer_phone"),
        migrator.drop_index("sales_order", "sales_order_tenant_id_customer_email"),
        migrator.drop_index("sales_order", "sales_order_tenant_id_customer_id"),
        migrator.drop_column("payment", "refunded_minor"),
        migrator.drop_column("tenant", "settings"),
    )
