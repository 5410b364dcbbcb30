"""FLUX_RECON_COUNT_STATEMENTS=1 counts every statement sent, BEGIN and COMMIT included, so
the ingest benchmark's round trips per webhook are what the database really received."""

import pytest

from flux_recon.core.metrics import DATABASE_STATEMENTS
from flux_recon.models.connections import COUNT_STATEMENTS_ENV, open_database
from tests.conftest import BACKENDS


def _url(backend, tmp_path, request):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'count.sqlite3'}"
    return request.getfixturevalue("postgres_schema")


def _counted() -> float:
    return DATABASE_STATEMENTS._value.get()


@pytest.mark.parametrize("backend", BACKENDS)
def test_statements_are_counted_only_when_asked(backend, tmp_path, request, monkeypatch):
    url = _url(backend, tmp_path, request)
    monkeypatch.delenv(COUNT_STATEMENTS_ENV, raising=False)
    quiet = open_database(url)
    monkeypatch.setenv(COUNT_STATEMENTS_ENV, "1")
    counting = open_database(url)
    try:
        before = _counted()
        with quiet.atomic():
            quiet.execute_sql("SELECT 1")
        assert _counted() == before

        with counting.atomic():
            counting.execute_sql("SELECT 1")
            counting.execute_sql("SELECT 2")
        assert _counted() - before == 4  # BEGIN, two statements, COMMIT
    finally:
        quiet.close_all()
        counting.close_all()
