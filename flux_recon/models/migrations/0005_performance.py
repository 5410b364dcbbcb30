"""Performance: Integration.auth_version kept by triggers, partial customer indexes.

1. ``integration.auth_version`` is bumped by triggers whenever the integration's
credentials or allow-list change. The webhook pipeline caches each integration's allow-list and decrypted credentials per
process and reuses them only while this number is unchanged. Triggers, not application
code, bump it, so every path that writes those tables (the API, the CLI, a direct model
write, a cascade) invalidates the caches of every worker in the same transaction.

2. The customer indexes of sales orders become partial (known values only): with many
orders lacking an email or phone, SQLite's statistics made the plain indexes look
unselective and the amount + customer strategy walked every open order.
"""

from peewee import IntegerField, SqliteDatabase

WATCHED = ("credential", "allowed_network")
CUSTOMER_COLUMNS = ("customer_id", "customer_email", "customer_phone")

SQLITE_TRIGGERS = {
    "insert": "AFTER INSERT ON {table} BEGIN {bump_new} END",
    "update": "AFTER UPDATE ON {table} BEGIN {bump_old} {bump_new} END",
    "delete": "AFTER DELETE ON {table} BEGIN {bump_old} END",
}
BUMP = "UPDATE integration SET auth_version = auth_version + 1 WHERE id = {row}.integration_id;"

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION integration_auth_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE integration SET auth_version = auth_version + 1 WHERE id = OLD.integration_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE integration SET auth_version = auth_version + 1 WHERE id = NEW.integration_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def up(migrator, db):
    migrator.migrate(migrator.add_column("integration", "auth_version", IntegerField(default=0)))
    if isinstance(db, SqliteDatabase):
        for table in WATCHED:
            for event, body in SQLITE_TRIGGERS.items():
                sql = body.format(table=table, bump_old=BUMP.format(row="OLD"), bump_new=BUMP.format(row="NEW"))
                db.execute_sql(f"CREATE TRIGGER {table}_{event}_auth_version {sql}")
    else:
        db.execute_sql(POSTGRES_FUNCTION)
        for table in WATCHED:
            db.execute_sql(
                f"CREATE TRIGGER {table}_auth_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION integration_auth_changed()"
            )
    for column in CUSTOMER_COLUMNS:
        db.execute_sql(f"DROP INDEX sales_order_tenant_id_{column}")
        db.execute_sql(
            f"CREATE INDEX sales_order_{column}_known ON sales_order (tenant_id, {column}) WHERE {column} IS NOT NULL"
        )


def down(migrator, db):
    for column in CUSTOMER_COLUMNS:
        db.execute_sql(f"DROP INDEX sales_order_{column}_known")
        migrator.migrate(migrator.add_index("sales_order", ("tenant_id", column), False))
    if isinstance(db, SqliteDatabase):
        for table in WATCHED:
            for event in SQLITE_TRIGGERS:
                db.execute_sql(f"DROP TRIGGER IF EXISTS {table}_{event}_auth_version")
    else:
        for table in WATCHED:
            db.execute_sql(f"DROP TRIGGER IF EXISTS {table}_auth_version ON {table}")
        db.execute_sql("DROP FUNCTION IF EXISTS integration_auth_changed()")
    migrator.migrate(migrator.drop_column("integration", "auth_version"))
