"""Reconciliation runs: open payments retried against today's orders, dry runs, the stored
record and audit, paging, and one run per tenant at a time (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from flux_recon.models import (
    Allocation,
    AuditEntry,
    Delivery,
    OutboundEvent,
    Payment,
    ReconciliationRun,
    SalesOrder,
    db,
    utcnow,
)
from flux_recon.services import reconciliation_runs
from flux_recon.services.errors import Conflict
from tests.conftest import core_payload

RUNS = "/api/v1/reconciliation-runs"


@pytest.fixture
def reference_matching(client, tenant):
    """Switch the reference strategy off or on, as a merchant may (PATCH settings)."""

    def switch(on: bool):
        body = {"disabled_strategies": [] if on else ["reference"]}
        response = client.patch("/api/v1/settings/reconciliation", json=body, headers=tenant["headers"])
        assert response.status_code == 200, response.json

    return switch


@pytest.fixture
def waiting_payment(client, tenant, create_order, post_core, reference_matching):
    """A payment for INV-1001 that stayed unmatched while its order was entered: reference
    matching was off then. It is back on now, so a run can match it."""
    reference_matching(False)
    paid = post_core(core_payload(tenant["tenant_id"], transactionRef="T-1", paymentRef="INV-1001", amount="150.00"))
    assert paid.json["reconciliation"] == "unmatched"
    order = create_order(reference="INV-1001", amount="150.00", customer={})
    reference_matching(True)
    return {"payment_id": paid.json["payment_id"], "order_id": order["id"]}


def start(client, tenant, **body):
    return client.post(RUNS, json=body, headers=tenant["headers"])


def payment(client, tenant, payment_id):
    return client.get(f"/api/v1/payments/{payment_id}", headers=tenant["headers"]).json


def test_dry_run_reports_and_changes_nothing_then_a_run_matches(client, tenant, waiting_payment, app):
    with app.app_context():
        audit_before = AuditEntry.select().count()
        events_before = OutboundEvent.select().count()

    dry = start(client, tenant, dry_run=True)
    assert dry.status_code == 201, dry.json
    assert dry.json["status"] == "completed"
    assert dry.json["parameters"] == {"from": None, "to": None, "provider": None, "dry_run": True}
    assert dry.json["counts"] == {"examined": 1, "matched": 1, "changed": 0, "still_open": 0}
    assert dry.json["changes"] == [
        {
            "payment_id": waiting_payment["payment_id"],
            "before": "unmatched",
            "after": "matched",
            "order_ids": [waiting_payment["order_id"]],
            "reason": "matched to order INV-1001 by reference",
        }
    ]
    untouched = payment(client, tenant, waiting_payment["payment_id"])
    assert (untouched["reconciliation"], untouched["allocations"]) == ("unmatched", [])
    order = client.get(f"/api/v1/orders/{waiting_payment['order_id']}", headers=tenant["headers"]).json
    assert (order["status"], order["amount_paid"]) == ("open", "0.00")
    with app.app_context():
        # Only the run's own entry: no payment or order was changed.
        new_entries = list(AuditEntry.select().order_by(AuditEntry.id).offset(audit_before))
        assert [(e.action, e.object_type) for e in new_entries] == [
            ("reconciliation_run.completed", "reconciliation_run")
        ]
        assert new_entries[0].details["dry_run"] is True
        assert OutboundEvent.select().count() == events_before

    real = start(client, tenant)
    assert real.status_code == 201, real.json
    assert real.json["counts"] == {"examined": 1, "matched": 1, "changed": 0, "still_open": 0}
    assert real.json["changes"][0]["after"] == "matched"
    matched = payment(client, tenant, waiting_payment["payment_id"])
    assert matched["reconciliation"] == "matched"
    assert [(a["order_id"], a["amount"]) for a in matched["allocations"]] == [(waiting_payment["order_id"], "150.00")]
    order = client.get(f"/api/v1/orders/{waiting_payment['order_id']}", headers=tenant["headers"]).json
    assert (order["status"], order["amount_paid"]) == ("paid", "150.00")
    with app.app_context():
        actions = [e.action for e in AuditEntry.select().where(AuditEntry.object_id == str(real.json["id"]))]
        assert "reconciliation_run.completed" in actions
        rematched = AuditEntry.get(
            (AuditEntry.action == "payment.rematched") & (AuditEntry.object_id == str(waiting_payment["payment_id"]))
        )
        assert rematched.details["trigger"] == f"reconciliation run {real.json['id']}"
        assert rematched.actor.startswith("api_key:")

    again = start(client, tenant)
    assert again.json["counts"] == {"examined": 0, "matched": 0, "changed": 0, "still_open": 0}
    assert again.json["changes"] == []


def test_runs_are_listed_and_shown(client, tenant, other_tenant, waiting_payment):
    first = start(client, tenant, dry_run=True).json
    second = start(client, tenant, provider="core", **{"from": "2026-01-01T00:00:00+01:00"}).json
    assert second["parameters"]["from"] == "2025-12-31T23:00:00+00:00"
    listed = client.get(RUNS, headers=tenant["headers"])
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json] == [second["id"], first["id"]]
    assert "changes" not in listed.json[0]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 2
    only_dry = client.get(RUNS, query_string={"dry_run": "true"}, headers=tenant["headers"]).json
    assert [r["id"] for r in only_dry] == [first["id"]]
    shown = client.get(f"{RUNS}/{first['id']}", headers=tenant["headers"])
    assert shown.status_code == 200 and shown.json == first
    changes = client.get(f"{RUNS}/{second['id']}/changes", headers=tenant["headers"])
    assert [c["after"] for c in changes.json] == ["matched"]
    assert client.get(f"{RUNS}/{first['id']}", headers=other_tenant["headers"]).status_code == 404
    assert client.get(f"{RUNS}/{first['id']}/changes", headers=other_tenant["headers"]).status_code == 404
    assert client.get(RUNS, headers=other_tenant["headers"]).json == []


def test_filters_by_provider_and_occurrence_time(client, tenant, waiting_payment):
    elsewhere = start(client, tenant, provider="monnify").json
    assert elsewhere["counts"]["examined"] == 0
    # The payment occurred at 2026-11-22T09:15:03Z (core_payload's transactionDate).
    before = start(client, tenant, **{"to": "2026-11-22T09:15:03Z"}).json
    assert before["counts"]["examined"] == 0
    window = start(client, tenant, **{"from": "2026-11-22T09:15:03Z", "to": "2026-11-22T09:15:04Z"}).json
    assert window["counts"] == {"examined": 1, "matched": 1, "changed": 0, "still_open": 0}


def test_refused_inputs_are_422(client, tenant):
    for body in (
        {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        {"from": "yesterday"},
        {"from": "2026-11-02T00:00:00"},  # no offset: which day is ambiguous
        {"dry_run": "perhaps"},
        {"provider": ""},
        {"surprise": 1},
    ):
        response = start(client, tenant, **body)
        assert response.status_code == 422, (body, response.json)
    assert client.post(RUNS, data="x", headers=tenant["headers"]).status_code == 415
    assert client.get(RUNS, query_string={"status": "asleep"}, headers=tenant["headers"]).status_code == 422
    assert client.get(f"{RUNS}/999999", headers=tenant["headers"]).status_code == 404


def test_an_empty_body_runs_everything(client, tenant, waiting_payment):
    response = client.post(RUNS, headers=tenant["headers"])
    assert response.status_code == 201, response.json
    assert response.json["counts"]["matched"] == 1


def test_still_open_ambiguous_and_exception_are_counted(client, tenant, create_order, post_core, reference_matching):
    reference_matching(False)
    lonely = post_core(core_payload(tenant["tenant_id"], transactionRef="T-A", paymentRef="NOBODY")).json
    twice = post_core(
        core_payload(tenant["tenant_id"], transactionRef="T-B", paymentRef="DUP-1", paymentMethod="transfer")
    ).json
    gone = post_core(core_payload(tenant["tenant_id"], transactionRef="T-C", paymentRef="GONE-1")).json
    create_order(reference="DUP-1", customer={})
    create_order(reference="DUP-X", payment_reference="dup-1", customer={})
    cancelled = create_order(reference="GONE-1", customer={})
    assert client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=tenant["headers"]).status_code == 200
    reference_matching(True)

    run = start(client, tenant).json
    assert run["counts"] == {"examined": 3, "matched": 0, "changed": 2, "still_open": 2}
    changes = {c["payment_id"]: (c["before"], c["after"]) for c in run["changes"]}
    assert changes == {twice["payment_id"]: ("unmatched", "ambiguous"), gone["payment_id"]: ("unmatched", "exception")}
    assert payment(client, tenant, lonely["payment_id"])["reconciliation"] == "unmatched"
    assert payment(client, tenant, twice["payment_id"])["reconciliation"] == "ambiguous"
    # Once, not twice: the payment that became ambiguous is not retried again as an ambiguous one.
    assert run["counts"]["examined"] == 3


def test_orphan_refunds_are_retried(client, tenant, app):
    """An orphan whose payment was stored by a path that did not adopt it (a fault, an
    import): a dry run says it would apply, a run applies it, its payment is refunded."""
    from flux_recon.models.transactions import write_transaction
    from flux_recon.reconciliation.records import insert_payment
    from tests.engine_helpers import notice

    engine = app.extensions["engine"]
    with app.app_context():
        with write_transaction():
            orphan = engine.record(
                tenant_id=tenant["tenant_id"],
                provider="core",
                notice=notice("R-9", "30.00", kind="refund", parent="T-9"),
            ).payment
        assert orphan.reconciliation == "orphan"
        with write_transaction():
            parent = insert_payment(tenant["tenant_id"], "core", notice("T-9", "100.00", "NOBODY"), 10000, None)
    db.close()

    dry = start(client, tenant, dry_run=True).json
    refund_change = next(c for c in dry["changes"] if c["payment_id"] == orphan.id)
    assert (refund_change["before"], refund_change["after"]) == ("orphan", "matched")
    assert refund_change["reason"] == "refund applied to payment T-9"
    assert payment(client, tenant, orphan.id)["reconciliation"] == "orphan"
    assert payment(client, tenant, parent.id)["refunded"] == "0.00"

    real = start(client, tenant).json
    assert real["counts"]["matched"] == 1
    assert payment(client, tenant, orphan.id)["reconciliation"] == "matched"
    assert payment(client, tenant, parent.id)["refunded"] == "30.00"


def test_pages_through_payments_a_few_at_a_time(client, tenant, app, create_order, post_core, reference_matching):
    reference_matching(False)
    for n in range(7):
        post_core(core_payload(tenant["tenant_id"], transactionRef=f"T-{n}", paymentRef=f"INV-{n}", amount="10.00"))
        create_order(reference=f"INV-{n}", amount="10.00", customer={})
    reference_matching(True)
    pages = []
    original = reconciliation_runs._open_payments

    def counting(run, state, after_id, limit):
        page = original(run, state, after_id, limit)
        pages.append(len(page))
        return page

    with app.app_context():
        reconciliation_runs._open_payments = counting
        try:
            run = reconciliation_runs.run_reconciliation(
                tenant["tenant_id"], "test", app.extensions["engine"], app.extensions["plugin_manager"], page_size=3
            )
        finally:
            reconciliation_runs._open_payments = original
        assert (run.status, run.examined, run.matched) == ("completed", 7, 7)
        assert max(pages) == 3 and sum(pages) == 7


def _blocked_run(app, tenant_id, monkeypatch):
    """Start a run in a thread that stops before its first page (its guard taken, no
    transaction open, so SQLite's single writer is free) until released."""
    inside, release = threading.Event(), threading.Event()
    original = reconciliation_runs._open_payments
    outcome = {}

    def slow(*args, **kwargs):
        if threading.current_thread() is thread:
            inside.set()
            assert release.wait(20)
        return original(*args, **kwargs)

    monkeypatch.setattr(reconciliation_runs, "_open_payments", slow)

    def work():
        with app.app_context():
            try:
                outcome["run"] = reconciliation_runs.run_reconciliation(
                    tenant_id, "first", app.extensions["engine"], app.extensions["plugin_manager"]
                )
            finally:
                db.close()

    thread = threading.Thread(target=work)
    thread.start()
    assert inside.wait(20), "the first run never reached its first payment"
    return thread, release, outcome


def test_a_second_run_at_once_is_refused_with_409(client, tenant, other_tenant, app, waiting_payment, monkeypatch):
    thread, release, outcome = _blocked_run(app, tenant["tenant_id"], monkeypatch)
    try:
        second = start(client, tenant)
        assert second.status_code == 409, second.json
        assert "already in progress" in second.json["message"]
        assert start(client, tenant, dry_run=True).status_code == 409
        # Another tenant's run is not held up.
        assert start(client, other_tenant).status_code == 201
    finally:
        release.set()
        thread.join(30)
    assert outcome["run"].status == "completed" and outcome["run"].matched == 1
    # Once the first has ended, a new run may start.
    assert start(client, tenant).status_code == 201


def test_a_dead_runs_guard_does_not_block_for_ever(client, tenant, app, backend):
    """A process that died mid-run leaves a "running" row. On PostgreSQL its advisory lock
    died with it, so the next run proceeds at once; on SQLite once its heartbeat is stale."""
    with app.app_context():
        dead = ReconciliationRun.create(tenant=tenant["tenant_id"], actor="gone", heartbeat_at=utcnow())
    db.close()
    if backend == "sqlite":
        assert start(client, tenant).status_code == 409
        with app.app_context():
            ReconciliationRun.update(heartbeat_at=utcnow() - reconciliation_runs.STALE_AFTER).where(
                ReconciliationRun.id == dead.id
            ).execute()
        db.close()
    response = start(client, tenant)
    assert response.status_code == 201, response.json
    assert client.get(f"{RUNS}/{dead.id}", headers=tenant["headers"]).json["status"] == "abandoned"


def test_postgres_advisory_lock_held_elsewhere_refuses(client, tenant, app, backend):
    if backend != "postgres":
        pytest.skip("PostgreSQL's advisory lock")
    from flux_recon.models.connections import open_database
    from flux_recon.models.transactions import advisory_key

    other = open_database(app.config["DATABASE_URL"])
    other.connect()
    try:
        key = advisory_key("reconciliation-run", tenant["tenant_id"])
        assert other.execute_sql("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
        assert start(client, tenant).status_code == 409
        other.execute_sql("SELECT pg_advisory_unlock(%s)", (key,))
        assert start(client, tenant).status_code == 201
    finally:
        other.close_all() if hasattr(other, "close_all") else other.close()


def test_service_refuses_while_running(app, tenant, monkeypatch, waiting_payment):
    thread, release, _ = _blocked_run(app, tenant["tenant_id"], monkeypatch)
    try:
        with app.app_context():
            with pytest.raises(Conflict):
                reconciliation_runs.run_reconciliation(
                    tenant["tenant_id"], "second", app.extensions["engine"], app.extensions["plugin_manager"]
                )
        db.close()
    finally:
        release.set()
        thread.join(30)


def test_cli_reconcile_prints_the_run_as_json(app, runner, client, tenant, waiting_payment):
    from flux_recon.cli import cli

    dry = runner.invoke(cli, ["reconcile", "--tenant", tenant["tenant_id"], "--dry-run", "--from", "2026-11-01"])
    assert dry.exit_code == 0, dry.output
    shown = json.loads(dry.output)
    assert shown["actor"] == "cli"
    assert shown["parameters"] == {"from": "2026-11-01T00:00:00+00:00", "to": None, "provider": None, "dry_run": True}
    assert shown["counts"]["matched"] == 1
    assert payment(client, tenant, waiting_payment["payment_id"])["reconciliation"] == "unmatched"

    real = runner.invoke(cli, ["reconcile", "--tenant", tenant["tenant_id"], "--provider", "core"])
    assert real.exit_code == 0, real.output
    assert json.loads(real.output)["changes"][0]["after"] == "matched"
    assert payment(client, tenant, waiting_payment["payment_id"])["reconciliation"] == "matched"

    unknown = runner.invoke(cli, ["reconcile", "--tenant", "tn_nobody"])
    assert unknown.exit_code == 1 and "tenant tn_nobody not found" in unknown.output
    backwards = runner.invoke(
        cli, ["reconcile", "--tenant", tenant["tenant_id"], "--from", "2026-02", "--to", "2026-01"]
    )
    assert backwards.exit_code != 0
    reversed_range = runner.invoke(
        cli, ["reconcile", "--tenant", tenant["tenant_id"], "--from", "2026-02-01", "--to", "2026-01-01"]
    )
    assert reversed_range.exit_code == 1 and "from must be earlier than to" in reversed_range.output


def test_cli_reconcile_refused_while_a_run_is_in_progress(app, runner, tenant, waiting_payment, monkeypatch):
    from flux_recon.cli import cli

    thread, release, _ = _blocked_run(app, tenant["tenant_id"], monkeypatch)
    try:
        refused = runner.invoke(cli, ["reconcile", "--tenant", tenant["tenant_id"]])
    finally:
        release.set()
        thread.join(30)
    assert refused.exit_code == 1
    assert "already in progress" in refused.output


def test_scheduled_round_runs_each_tenant_with_open_payments(app, client, tenant, other_tenant, waiting_payment):
    with app.app_context():
        totals = reconciliation_runs.run_for_every_tenant(app.extensions["engine"], app.extensions["plugin_manager"])
    db.close()
    # The other tenant has no open payment: no run for it.
    assert totals == {"runs": 1, "skipped": 0, "examined": 1, "matched": 1}
    runs = client.get(RUNS, headers=tenant["headers"]).json
    assert [(r["actor"], r["counts"]["matched"]) for r in runs] == [("schedule", 1)]
    assert client.get(RUNS, headers=other_tenant["headers"]).json == []


def test_a_stopped_run_is_interrupted_and_keeps_what_it_did(
    app, tenant, client, create_order, post_core, reference_matching
):
    reference_matching(False)
    for n in range(3):
        post_core(core_payload(tenant["tenant_id"], transactionRef=f"T-{n}", paymentRef=f"INV-{n}", amount="10.00"))
        create_order(reference=f"INV-{n}", amount="10.00", customer={})
    reference_matching(True)
    stop = threading.Event()
    original = reconciliation_runs._retry

    def stop_after_first(run, *args):
        original(run, *args)
        stop.set()

    with app.app_context():
        reconciliation_runs._retry = stop_after_first
        try:
            run = reconciliation_runs.run_reconciliation(
                tenant["tenant_id"], "test", app.extensions["engine"], app.extensions["plugin_manager"], stop=stop
            )
        finally:
            reconciliation_runs._retry = original
    db.close()
    assert (run.status, run.examined, run.matched) == ("interrupted", 1, 1)
    # The guard is free again.
    assert start(client, tenant).json["counts"]["matched"] == 2


def test_worker_runs_reconciliation_on_its_schedule(app, runner, tenant, client, waiting_payment):
    """`flux-recon worker --reconcile-every 1` runs a round a second in its own thread."""
    import os
    import signal

    from flux_recon.cli import cli

    def stop_soon():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with app.app_context():
                done = ReconciliationRun.select().where(ReconciliationRun.status == "completed").exists()
            db.close()
            if done:
                break
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    stopper = threading.Thread(target=stop_soon)
    stopper.start()
    try:
        result = runner.invoke(cli, ["worker", "--reconcile-every", "1", "--poll-interval", "0.1"])
    finally:
        stopper.join(30)
        signal.signal(signal.SIGTERM, previous)
    assert result.exit_code == 0, result.output
    runs = client.get(RUNS, headers=tenant["headers"]).json
    assert runs and runs[-1]["actor"] == "schedule" and runs[-1]["counts"]["matched"] == 1
    assert payment(client, tenant, waiting_payment["payment_id"])["reconciliation"] == "matched"


def _footprint(app):
    """What a run could leave behind besides its own record: outbox rows, deliveries, audit
    entries, allocations, and the payments' and orders' states."""
    with app.app_context():
        footprint = {
            "events": OutboundEvent.select().count(),
            "deliveries": Delivery.select().count(),
            "audit": [(e.action, e.object_type) for e in AuditEntry.select().order_by(AuditEntry.id)],
            "allocations": list(Allocation.select(Allocation.id, Allocation.released_at).tuples()),
            "payments": list(Payment.select(Payment.id, Payment.reconciliation, Payment.allocated_minor).tuples()),
            "orders": list(SalesOrder.select(SalesOrder.id, SalesOrder.status, SalesOrder.amount_paid_minor).tuples()),
        }
    db.close()
    return footprint


@pytest.fixture
def two_payments_for_one_order(client, tenant, post_core, create_order):
    """Two open payments of one customer, each for all that one order owes: only one of
    them can go to it. They arrived while matching by customer was off."""
    settings = "/api/v1/settings/reconciliation"
    off = client.patch(settings, json={"disabled_strategies": ["amount_customer"]}, headers=tenant["headers"])
    assert off.status_code == 200, off.json
    paid = []
    for n in (1, 2):
        sent = post_core(core_payload(tenant["tenant_id"], transactionRef=f"TRX-{n}", paymentRef=f"NOTE-{n}"))
        assert sent.json["reconciliation"] == "unmatched", sent.json
        paid.append(sent.json["payment_id"])
    order = create_order(reference="INV-9", amount="15000.00", customer={"email": "ada@example.com"})
    assert client.patch(settings, json={"disabled_strategies": []}, headers=tenant["headers"]).status_code == 200
    client.post(
        "/api/v1/subscriptions",
        json={"url": "https://hooks.example.com/flux", "events": ["*"]},
        headers=tenant["headers"],
    )
    return {"payment_ids": paid, "order_id": order["id"]}


def test_a_dry_run_reports_what_the_real_run_then_does(client, tenant, app, two_payments_for_one_order):
    """A dry run sees its own would-be allocations: the second payment finds the order
    already paid, as it does in the real run (a preview of each payment against the orders
    as they were reported both matched). And it leaves nothing behind but its record."""
    before = _footprint(app)
    dry = start(client, tenant, dry_run=True)
    assert dry.status_code == 201, dry.json
    after = _footprint(app)
    assert after["audit"] == before["audit"] + [("reconciliation_run.completed", "reconciliation_run")]
    assert {k: v for k, v in after.items() if k != "audit"} == {k: v for k, v in before.items() if k != "audit"}

    real = start(client, tenant).json
    assert real["counts"]["matched"] == 1, real
    assert dry.json["counts"] == real["counts"], (dry.json["counts"], real["counts"])
    assert [(c["payment_id"], c["before"], c["after"], c["order_ids"]) for c in dry.json["changes"]] == [
        (c["payment_id"], c["before"], c["after"], c["order_ids"]) for c in real["changes"]
    ]
    listed = client.get(f"{RUNS}/{dry.json['id']}/changes", headers=tenant["headers"]).json
    assert [c["payment_id"] for c in listed] == [c["payment_id"] for c in real["changes"]]


def test_a_real_run_while_a_dry_run_is_in_progress_is_refused_with_409(
    client, tenant, app, two_payments_for_one_order, monkeypatch
):
    """The dry run holds its changes in one transaction until it ends (on SQLite, the write
    lock): a run started meanwhile is still refused at once, not left waiting for a lock."""
    inside, release = threading.Event(), threading.Event()
    original = reconciliation_runs._retry_one
    outcome = {}

    def slow(*args, **kwargs):
        change = original(*args, **kwargs)
        if threading.current_thread() is thread:
            inside.set()
            assert release.wait(20)
        return change

    monkeypatch.setattr(reconciliation_runs, "_retry_one", slow)

    def work():
        with app.app_context():
            try:
                outcome["run"] = reconciliation_runs.run_reconciliation(
                    tenant["tenant_id"],
                    "first",
                    app.extensions["engine"],
                    app.extensions["plugin_manager"],
                    reconciliation_runs.RunRequest(dry_run=True),
                )
            finally:
                db.close()

    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert inside.wait(20), "the dry run never reached its first payment"
        began = time.monotonic()
        second = start(client, tenant)
        assert second.status_code == 409, second.json
        assert time.monotonic() - began < 5, "the refusal waited for the dry run's lock"
    finally:
        release.set()
        thread.join(30)
    assert (outcome["run"].status, outcome["run"].dry_run, outcome["run"].matched) == ("completed", True, 1)
    assert start(client, tenant).json["counts"]["matched"] == 1


def test_a_run_and_an_order_change_at_once_do_not_deadlock(app, client, tenant, backend, waiting_payment):
    """PATCH /orders takes the order's match-key locks, then the order's row, then the rows
    of the payments it may be for; a run locks a payment, then the order it matches. Unless
    the run first waits for the payment's match keys (as a webhook does), each can hold
    what the other waits for. Here another connection plays the PATCH, stopped while it
    holds the order's keys and row, then asks for the payment's row."""
    if backend != "postgres":
        pytest.skip("SQLite runs one writer at a time")
    from flux_recon.models.connections import open_database
    from flux_recon.models.transactions import advisory_key

    with app.app_context():
        order = SalesOrder.get_by_id(waiting_payment["order_id"])
        key = advisory_key("match", tenant["tenant_id"], "reference", order.reference_key)
    db.close()
    patch = open_database(app.config["DATABASE_URL"])
    patch.connect()
    outcome = {}

    def run():
        with app.app_context():
            try:
                outcome["run"] = reconciliation_runs.run_reconciliation(
                    tenant["tenant_id"], "test", app.extensions["engine"], app.extensions["plugin_manager"]
                )
            except Exception as exc:  # noqa: BLE001 - reported below
                outcome["error"] = exc
            finally:
                db.close()

    thread = threading.Thread(target=run)
    try:
        with patch.atomic():
            patch.execute_sql("SET LOCAL lock_timeout = '10s'")
            patch.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))
            patch.execute_sql("SELECT id FROM sales_order WHERE id = %s FOR UPDATE", (order.id,))
            thread.start()
            # Until the run waits for a lock this connection holds.
            mine = patch.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))"
            deadline = time.monotonic() + 20
            while not patch.execute_sql(waiting, (mine,)).fetchone()[0]:
                assert time.monotonic() < deadline, "the run never waited"
                time.sleep(0.05)
            patch.execute_sql("SELECT id FROM payment WHERE id = %s FOR UPDATE", (waiting_payment["payment_id"],))
    finally:
        thread.join(30)
        patch.close_all() if hasattr(patch, "close_all") else patch.close()
    assert "error" not in outcome, outcome
    assert outcome["run"].status == "completed" and outcome["run"].matched == 1
