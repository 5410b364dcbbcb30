"""Payments findable from an order: their references as indexed rows (filled in for the
payments already recorded), and indexes on the account paid into and on the amount."""

import json

from peewee import CharField, ForeignKeyField, Model, TextField

from flux_recon.models.order import KEY_LENGTH, reference_key

PAYMENT_INDEXES = (("destination_account",), ("currency", "amount_minor"))
BACKFILL_BATCH = 1000


def _models(db):
    class Tenant(Model):
        id = CharField(primary_key=True, max_length=40)

        class Meta:
            database = db
            table_name = "tenant"

    class Payment(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        kind = CharField(max_length=16)
        references = TextField(null=True)

        class Meta:
            database = db
            table_name = "payment"

    class PaymentReference(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        payment = ForeignKeyField(Payment, on_delete="CASCADE")
        reference_key = CharField(max_length=KEY_LENGTH)

        class Meta:
            database = db
            table_name = "payment_reference"
            indexes = (
                (("tenant", "reference_key"), False),
                (("payment", "reference_key"), True),
            )

    return Payment, PaymentReference


def up(migrator, db):
    _, payment_reference = _models(db)
    db.create_tables([payment_reference])
    for columns in PAYMENT_INDEXES:
        migrator.migrate(migrator.add_index("payment", ("tenant_id", *columns), False))
    backfill(db)


def backfill(db):
    """One row per distinct reference key of each payment already recorded, read in id order
    in batches (memory stays bounded on a large table)."""
    payment, payment_reference = _models(db)
    _backfill(payment, payment_reference)


def _backfill(Payment, PaymentReference):  # noqa: N803 (the models, named as in up())
    last_id = 0
    while True:
        rows = list(
            Payment.select(Payment.id, Payment.tenant, Payment.references)
            .where((Payment.kind == "payment") & (Payment.id > last_id))
            .order_by(Payment.id)
            .limit(BACKFILL_BATCH)
            .tuples()
        )
        if not rows:
            return
        keyed = []
        for payment_id, tenant_id, references in rows:
            given = json.loads(references or "[]")
            for key in dict.fromkeys(reference_key(r) for r in given if isinstance(r, str)):
                if key and len(key) <= KEY_LENGTH:
                    keyed.append({"tenant": tenant_id, "payment": payment_id, "reference_key": key})
        for start in range(0, len(keyed), BACKFILL_BATCH):
            PaymentReference.insert_many(keyed[start : start + BACKFILL_BATCH]).execute()
        last_id = rows[-1][0]


def down(migrator, db):
    db.execute_sql("DROP TABLE payment_reference")
    for columns in PAYMENT_INDEXES:
        migrator.migrate(migrator.drop_index("payment", "payment_tenant_id_" + "_".join(columns)))
