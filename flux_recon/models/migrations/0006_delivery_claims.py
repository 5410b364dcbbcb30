"""Delivery claims straight off indexes: pending deliveries by (status, next_attempt_at, id)
and a partial index of leased ones, so a claim reads its rows in order and never sorts
the whole backlog (which made draining a large backlog quadratic)."""


def up(migrator, db):
    db.execute_sql("DROP INDEX delivery_status_next_attempt_at")
    db.execute_sql("CREATE INDEX delivery_status_next_attempt_at_id ON delivery (status, next_attempt_at, id)")
    db.execute_sql(
        "CREATE INDEX delivery_lease_until_delivering ON delivery (lease_until, id) WHERE status = 'delivering'"
    )


def down(migrator, db):
    db.execute_sql("DROP INDEX delivery_lease_until_delivering")
    db.execute_sql("DROP INDEX delivery_status_next_attempt_at_id")
    db.execute_sql("CREATE INDEX delivery_status_next_attempt_at ON delivery (status, next_attempt_at)")
