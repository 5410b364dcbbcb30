"""Prepared statements bind and convert values exactly as peewee's own queries do, on
SQLite and PostgreSQL, and each runs with the values of its own call."""

import datetime as dt

from flux_recon.models import AuditEntry, Payment, db, utcnow
from flux_recon.models.prepared import Param, Prepared, PreparedInsert, PreparedUpdate
from flux_recon.models.transactions import write_transaction

by_tenant_and_action = Prepared(
    lambda: (
        AuditEntry.select()
        .where((AuditEntry.tenant == Param("tenant")) & (AuditEntry.action == Param("action")))
        .order_by(AuditEntry.id)
    )
)
insert_audit = PreparedInsert(AuditEntry)
insert_payment = PreparedInsert(Payment, conflict_target=[Payment.tenant, Payment.provider, Payment.external_id])
update_reconciliation = PreparedUpdate(Payment, [Payment.reconciliation, Payment.candidates, Payment.updated_at])


def test_inserted_rows_read_back_as_peewee_wrote_them(app, tenant):
    with app.app_context():
        with write_transaction():
            first = insert_audit(tenant=tenant["tenant_id"], actor="a", action="x", object_type="t", object_id="1")
            second = insert_audit(
                tenant=tenant["tenant_id"], actor="b", action="x", object_type="t", object_id="2", details={"n": [1]}
            )
            AuditEntry.create(tenant=tenant["tenant_id"], actor="c", action="y", object_type="t", object_id="3")
        assert first.id < second.id
        rows = by_tenant_and_action.rows(tenant=tenant["tenant_id"], action="x")
        assert [(r.id, r.actor, r.details) for r in rows] == [(first.id, "a", None), (second.id, "b", {"n": [1]})]
        stored = AuditEntry.get_by_id(second.id)
        assert stored.created_at == second.created_at and stored.created_at.tzinfo is not None
        assert [r.actor for r in by_tenant_and_action.rows(tenant=tenant["tenant_id"], action="y")] == ["c"]
        assert by_tenant_and_action.first(tenant=tenant["tenant_id"], action="none") is None
    db.close()


def test_a_conflicting_insert_returns_none_and_an_update_changes_only_its_row(app, tenant):
    fields = {
        "tenant": tenant["tenant_id"],
        "provider": "core",
        "status": "succeeded",
        "amount_minor": 150_000,
        "currency": "NGN",
        "references": ["INV-1"],
        "occurred_at": utcnow() - dt.timedelta(minutes=5),
    }
    with app.app_context():
        with write_transaction():
            payment = insert_payment(external_id="T1", **fields)
            other = insert_payment(external_id="T2", **fields)
            assert insert_payment(external_id="T1", **fields) is None
            payment.reconciliation = "ambiguous"
            payment.candidates = [3, 4]
            payment.updated_at = utcnow()
            update_reconciliation(payment)
        stored = Payment.get_by_id(payment.id)
        assert (stored.reconciliation, stored.candidates, stored.references) == ("ambiguous", [3, 4], ["INV-1"])
        assert stored.amount_minor == 150_000 and stored.occurred_at == fields["occurred_at"]
        assert Payment.get_by_id(other.id).reconciliation == "unmatched"
    db.close()
