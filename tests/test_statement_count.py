"""FLUX_RECON_COUNT_STATEMENTS=1 counts every statement sent, BEGIN and COMMIT included, so
the ingest benchmark's round trips per webhook are what the database really received."""

import peewee
import psycopg
import pytest

from flux_recon.core.metrics import DATABASE_ROUND_TRIPS, DATABASE_STATEMENTS
from flux_recon.models.connections import COUNT_STATEMENTS_ENV, open_database
from tests.conftest import BACKENDS


def _url(backend, tmp_path, request):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'count.sqlite3'}"
    return request.getfixturevalue("postgres_schema")


def _counted() -> float:
    return DATABASE_STATEMENTS._value.get()


def _waits() -> float:
    return DATABASE_ROUND_TRIPS._value.get()


@pytest.mark.parametrize("backend", BACKENDS)
def test_statements_are_counted_only_when_asked(backend, tmp_path, request, monkeypatch):
    url = _url(backend, tmp_path, request)
    monkeypatch.delenv(COUNT_STATEMENTS_ENV, raising=False)
    quiet = open_database(url)
    monkeypatch.setenv(COUNT_STATEMENTS_ENV, "1")
    counting = open_database(url)
    try:
        before, waits_before = _counted(), _waits()
        with quiet.atomic():
            quiet.execute_sql("SELECT 1")
        assert _counted() == before

        with counting.atomic():
            counting.execute_sql("SELECT 1")
            counting.execute_sql("SELECT 2")
        assert _counted() - before == 4  # BEGIN, two statements, COMMIT
        assert _waits() - waits_before == 4
    finally:
        quiet.close_all()
        counting.close_all()


@pytest.mark.skipif("postgres" not in BACKENDS, reason="pipeline mode is PostgreSQL's")
def test_a_pipelined_transaction_waits_only_where_it_reads(request, monkeypatch):
    monkeypatch.setenv(COUNT_STATEMENTS_ENV, "1")
    database = open_database(request.getfixturevalue("postgres_schema"))
    try:
        statements, waits = _counted(), _waits()
        with database.pipeline(), database.atomic():
            database.execute_sql("SELECT pg_advisory_xact_lock(1)")
            first = database.execute_sql("SELECT 1")
            assert database.execute_sql("SELECT 2").fetchone() == (2,)  # waits for all three
            assert first.fetchone() == (1,)  # already here: no wait
        # BEGIN, three statements, COMMIT; one wait for SELECT 2, one when leaving.
        assert (_counted() - statements, _waits() - waits) == (5, 2)
    finally:
        database.close_all()


@pytest.mark.skipif("postgres" not in BACKENDS, reason="pipeline mode is PostgreSQL's")
def test_a_failure_in_a_pipelined_transaction_is_a_peewee_error_and_rolls_back(request):
    database = open_database(request.getfixturevalue("postgres_schema"))
    try:
        database.execute_sql("CREATE TABLE IF NOT EXISTS pipeline_probe (n integer)")
        with pytest.raises(peewee.DataError):  # the web layer maps peewee's errors, not psycopg's
            with database.pipeline(), database.atomic():
                database.execute_sql("INSERT INTO pipeline_probe VALUES (1)")
                database.execute_sql("SELECT 1 / 0")  # fails on the server; nothing waits for it here
                database.execute_sql("INSERT INTO pipeline_probe VALUES (2)")
        # Nothing of the transaction stayed, and the connection is usable at once.
        assert database.execute_sql("SELECT count(*) FROM pipeline_probe").fetchone() == (0,)
        assert database.connection().pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        database.execute_sql("DROP TABLE IF EXISTS pipeline_probe")
        database.close_all()
