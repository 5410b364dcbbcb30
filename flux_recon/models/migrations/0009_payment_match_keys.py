"""Payments findable from an order: the values a payment can be matched by (its references,
its payer's customer id, email and phone) as indexed rows, filled in for the payments
already recorded, and an index on the account paid into."""

import json

from peewee import CharField, ForeignKeyField, Model, TextField

# The matching forms as the engine wrote them when this migration was made.
KEY_LENGTH = 600
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
        payer_customer_id = CharField(null=True)
        payer_email = CharField(null=True)
        payer_phone = CharField(null=True)

        class Meta:
            database = db
            table_name = "payment"

    class PaymentMatchKey(Model):
        tenant = ForeignKeyField(Tenant, on_delete="CASCADE")
        payment = ForeignKeyField(Payment, on_delete="CASCADE")
        kind = CharField(max_length=16)
        value = CharField(max_length=KEY_LENGTH)

        class Meta:
            database = db
            table_name = "payment_match_key"
            indexes = (
                (("tenant", "kind", "value"), False),
                (("payment", "kind", "value"), True),
            )

    return Payment, PaymentMatchKey


def up(migrator, db):
    _, match_key = _models(db)
    db.create_tables([match_key])
    migrator.migrate(migrator.add_index("payment", ("tenant_id", "destination_account"), False))
    backfill(db)


def down(migrator, db):
    db.execute_sql("DROP TABLE payment_match_key")
    migrator.migrate(migrator.drop_index("payment", "payment_tenant_id_destination_account"))


def keys_of(references, customer_id, email, phone) -> list[tuple[str, str]]:
    """The match keys of one payment (as reconciliation.records.payment_match_keys made them)."""
    found = [("reference", r.strip().casefold()) for r in references if isinstance(r, str)]
    found += [
        ("customer_id", customer_id and customer_id.strip()),
        ("email", email and email.strip().lower()),
        ("phone", phone and phone.strip()),
    ]
    return [key for key in dict.fromkeys(found) if key[1] and len(key[1]) <= KEY_LENGTH]


def backfill(db):
    """The keys of every payment already recorded, read in id order in batches (memory
    stays bounded on a large table)."""
    payment, match_key = _models(db)
    last_id = 0
    while True:
        rows = list(
            payment.select(
                payment.id,
                payment.tenant,
                payment.references,
                payment.payer_customer_id,
                payment.payer_email,
                payment.payer_phone,
            )
            .where((payment.kind == "payment") & (payment.id > last_id))
            .order_by(payment.id)
            .limit(BACKFILL_BATCH)
            .tuples()
        )
        if not rows:
            return
        keyed = [
            {"tenant": tenant_id, "payment": payment_id, "kind": kind, "value": value}
            for payment_id, tenant_id, references, customer_id, email, phone in rows
            for kind, value in keys_of(json.loads(references or "[]"), customer_id, email, phone)
        ]
        for start in range(0, len(keyed), BACKFILL_BATCH):
            match_key.insert_many(keyed[start : start + BACKFILL_BATCH]).execute()
        last_id = rows[-1][0]
