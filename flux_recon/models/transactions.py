"""Write transactions and row locks that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager

import peewee

from flux_recon.models.base import db


def is_sqlite() -> bool:
    return isinstance(db.obj, peewee.SqliteDatabase)


@contextmanager
def write_transaction():
    """A transaction that will write. On SQLite it takes the write lock up front
    (BEGIN IMMEDIATE), so a read-then-write can never fail half way with SQLITE_BUSY."""
    if is_sqlite():
        with db.atomic("IMMEDIATE") as txn:
            yield txn
    else:
        with db.atomic() as txn:
            yield txn


@contextmanager
def pipelined(enabled: bool = True):
    """PostgreSQL's pipeline mode around a transaction (``RecentlyUsedPostgresqlDatabase.pipeline``):
    fewer round trips for the same statements. Elsewhere, or not ``enabled``, nothing."""
    pipeline = getattr(db.obj, "pipeline", None)
    if not enabled or pipeline is None:
        yield
        return
    with pipeline():
        yield


def locked(query):
    """Add FOR UPDATE where the backend has row locks (PostgreSQL). On SQLite the write
    transaction (BEGIN IMMEDIATE) already holds the database's single write lock."""
    return query if is_sqlite() else query.for_update()


def advisory_key(*parts: str) -> int:
    """A stable signed 64-bit key for ``parts`` (the same in every process and release;
    Python's ``hash()`` is not). A collision only makes two unrelated writers wait in turn."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_for_transaction(*parts: str) -> None:
    """Wait for, then hold until this transaction ends, a lock named by ``parts``: one
    statement (pg_advisory_xact_lock) on PostgreSQL. On SQLite the write transaction
    (BEGIN IMMEDIATE) already holds the database's single write lock, so nothing is run.
    Call it inside a write transaction; outside one, PostgreSQL would release it at once."""
    if not is_sqlite():
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (advisory_key(*parts),))
