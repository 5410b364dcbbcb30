"""Write transactions and row locks that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import contextmanager

import peewee

from .base import db


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


def locked(query):
    """Add FOR UPDATE where the backend has row locks (PostgreSQL). On SQLite the write
    transaction (BEGIN IMMEDIATE) already holds the database's single write lock."""
    return query if is_sqlite() else query.for_update()
