"""Connections: DATABASE_URL -> a peewee database (pooled PostgreSQL or SQLite), the SQLite
writer queue, and the migration runner."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import peewee
import psycopg
from playhouse import db_url
from playhouse.migrations import Runner
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from flux_recon.core.metrics import DATABASE_ROUND_TRIPS, DATABASE_STATEMENTS
from flux_recon.models.base import db

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")

# WAL lets readers run beside the one writer; busy_timeout makes a second writer wait
# instead of failing at once; foreign keys are off by default in SQLite.
# synchronous=NORMAL (the SQLITE_SYNCHRONOUS setting): in WAL mode a commit is not flushed
# to disk; the WAL is at each checkpoint. The database never corrupts, and a crash of the
# process loses nothing, but a power loss or OS crash may undo the transactions committed
# since the last checkpoint (webhooks already answered 200). FULL flushes every commit.
# See docs/performance.md.
SQLITE_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000, "synchronous": "normal"}
SQLITE_SYNCHRONOUS = ("normal", "full")

# Errors that mean "the database is not there right now": answered with 503 so the
# provider retries later, never with a 500.
UNAVAILABLE_ERRORS = (peewee.OperationalError, peewee.InterfaceError)


# FLUX_RECON_COUNT_STATEMENTS=1: count every statement sent (flux_recon_database_statements
# on /metrics), so the ingest benchmark can report round trips per webhook. Off by default:
# a shared counter costs a little on every statement.
COUNT_STATEMENTS_ENV = "FLUX_RECON_COUNT_STATEMENTS"


def _counting() -> bool:
    return os.environ.get(COUNT_STATEMENTS_ENV, "").lower() in ("1", "true", "yes")


class StatementCounting:
    """Counts statements where peewee sends them all (``cursor()``: every query, BEGIN,
    COMMIT and ROLLBACK), when ``count_statements`` is set."""

    count_statements = False

    def cursor(self, *args, **kwargs):
        if self.count_statements:
            DATABASE_STATEMENTS.inc()
            if not self._pipelining():
                DATABASE_ROUND_TRIPS.inc()
        return super().cursor(*args, **kwargs)

    def _pipelining(self) -> bool:
        return False


class DatabaseUrlError(ValueError):
    """DATABASE_URL names no database this service can use: it refuses to start rather
    than fall back to another store."""


def open_database(url: str, *, max_connections: int = 20, sqlite_synchronous: str = "normal") -> peewee.Database:
    """Open the database a URL names: ``sqlite:///path`` or ``postgresql://...`` (pooled)."""
    if not url.strip():
        raise DatabaseUrlError(
            "DATABASE_URL is set but empty: name a sqlite:/// or postgresql:// database, or unset it"
        )
    scheme = urlparse(url).scheme
    if scheme in ("postgres", "postgresql"):
        parameters = db_url.parse(url)
        if not parameters.get("database"):
            raise DatabaseUrlError("DATABASE_URL names no PostgreSQL database: postgresql://user@host:5432/dbname")
        database = RecentlyUsedPostgresqlDatabase(
            **parameters, max_connections=max_connections, stale_timeout=300, timeout=10, connect_timeout=5
        )
        database.count_statements = _counting()
        return database
    if scheme == "sqlite":
        path = urlparse(url).path[1:]
        if not path or path == ":memory:":
            return db_url.connect(url, pragmas=SQLITE_PRAGMAS)  # a pool would give each its own
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Pooled too: opening a connection sets the pragmas, and closing the last one
        # checkpoints the WAL; per request, those two cost more than the webhook itself.
        synchronous = sqlite_synchronous.lower()
        if synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(f"SQLITE_SYNCHRONOUS must be one of {SQLITE_SYNCHRONOUS}, got {sqlite_synchronous!r}")
        pragmas = {**SQLITE_PRAGMAS, "synchronous": synchronous}
        database = QueuedSqliteDatabase(
            path, pragmas=pragmas, max_connections=max_connections, timeout=10, check_same_thread=False
        )
        database.count_statements = _counting()
        return database
    # The scheme only: the rest of the URL may hold a password.
    raise DatabaseUrlError(f"DATABASE_URL must start with sqlite:// or postgresql://, got {scheme or 'nothing'}://")


class WriterQueue:
    """Makes SQLite writers, in every process on this host, wait for their turn in the
    kernel (``flock`` on a file beside the database) rather than in SQLite's busy handler.

    That handler sleeps in growing steps (up to 100 ms) and retries, so a waiting writer
    keeps missing the moments the lock is free: with a few busy gunicorn workers a write
    transaction waited a second and more. A blocked ``flock`` is woken as soon as the lock
    is released. Threads of one process share the lock file, so they queue on a mutex first.
    """

    def __init__(self, database_path: str):
        self.path = database_path + ".write-lock"
        self._mutex = threading.Lock()
        self._held = threading.local()
        self._fd: int | None = None
        self._pid: int | None = None

    def _file(self) -> int:
        # Opened lazily, and again after a fork: a descriptor shared with the parent would
        # share its lock too.
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> None:
        self._mutex.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise
        self._held.value = True

    def release(self) -> None:
        if getattr(self._held, "value", False):
            self._held.value = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._mutex.release()


class PipelineSafeCursor(psycopg.Cursor):
    """A cursor whose ``rowcount`` is right in pipeline mode too: it waits for its own
    result first (otherwise -1, which a compare-and-set would read as success)."""

    counting = False  # set on the connection's cursors when statements are counted

    @property
    def rowcount(self) -> int:
        self._fetch_pipeline()
        return super().rowcount

    def _fetch_pipeline(self) -> None:
        if self.counting and self._conn._pipeline is not None and not self.pgresult:
            DATABASE_ROUND_TRIPS.inc()  # its answer has not come yet: waiting for it is a round trip
        super()._fetch_pipeline()


class CountingPipelineSafeCursor(PipelineSafeCursor):
    counting = True


class RecentlyUsedPostgresqlDatabase(StatementCounting, PooledPostgresqlDatabase):
    """Pooled PostgreSQL that trusts a connection handed back moments ago.

    The pool proves each connection alive with a ``SELECT 1`` round trip when it is taken
    out: 10 % of a worker's time per webhook under load. A connection checked in less than
    ``TRUST_SECONDS`` ago, and idle, is taken without it. If the server went away in that
    second, the request using it fails with 503 (the provider retries), and the broken
    connection is dropped from the pool.
    """

    TRUST_SECONDS = 1.0

    def _connect(self):
        conn = super()._connect()
        conn.cursor_factory = CountingPipelineSafeCursor if self.count_statements else PipelineSafeCursor
        return conn

    def _pipelining(self) -> bool:
        conn = self._state.conn
        return conn is not None and conn._pipeline is not None

    @contextmanager
    def pipeline(self):
        """psycopg's pipeline mode for a transaction (enter it before ``atomic()``): each
        statement is sent without waiting for the one before, and the client waits only
        where it reads a result, so statements whose answer nobody reads (locks, audit
        rows, updates) share one round trip with the next read. Leaving it waits for every
        answer, the COMMIT's included, so nothing is reported done before it is.

        A failing statement's error surfaces at the next read (or here), as the same peewee
        error; the transaction is rolled back then. Nothing inside may catch a database
        error and carry on."""
        conn = self.connection()
        if conn._pipeline is not None:  # already in one: the outer one waits at its end
            yield
            return
        try:
            with conn.pipeline():
                yield
                if self.count_statements:
                    DATABASE_ROUND_TRIPS.inc()  # leaving waits for the answers still due
        except psycopg.Error as exc:
            with peewee.__exception_wrapper__:
                raise exc
        finally:
            # An error aborts the rest of the pipeline, the ROLLBACK that peewee sent too.
            status = conn.pgconn.transaction_status
            if not self.in_transaction() and status in (
                psycopg.pq.TransactionStatus.INTRANS,
                psycopg.pq.TransactionStatus.INERROR,
            ):
                try:
                    conn.execute("ROLLBACK")
                except psycopg.Error:
                    pass  # a broken connection: the pool drops it when it is handed back

    def _close(self, conn, close_conn=False):
        conn._flux_checked_in = time.monotonic()
        super()._close(conn, close_conn)

    def _is_closed(self, conn):
        checked_in = getattr(conn, "_flux_checked_in", None)
        if (
            not conn.closed
            and checked_in is not None
            and time.monotonic() - checked_in < self.TRUST_SECONDS
            and self._adapter.txn_status(conn) == self._adapter.txn_idle
        ):
            return False
        return super()._is_closed(conn)


class QueuedSqliteDatabase(StatementCounting, PooledSqliteDatabase):
    """Pooled SQLite whose write transactions (``BEGIN IMMEDIATE``) queue in a WriterQueue."""

    def __init__(self, database, *args, **kwargs):
        self.writers = WriterQueue(database)
        super().__init__(database, *args, **kwargs)

    def begin(self, lock_type=None):
        writing = (lock_type or self._lock_type or "").upper() in ("IMMEDIATE", "EXCLUSIVE")
        if writing:
            self.writers.acquire()
        try:
            super().begin(lock_type)
        except BaseException:
            self.writers.release()
            raise

    def commit(self):
        try:
            super().commit()
        finally:
            self.writers.release()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self.writers.release()


def bind_database(url: str, **kwargs) -> peewee.Database:
    """Open ``url`` and make every model use it."""
    database = open_database(url, **kwargs)
    db.initialize(database)
    return database


def upgrade(database: peewee.Database | None = None) -> list[str]:
    """Apply pending numbered migrations; returns their names."""
    runner = Runner(database or db.obj, directory=MIGRATIONS_DIR)
    return runner.up()


def migration_status(database: peewee.Database | None = None) -> list[tuple[str, bool]]:
    runner = Runner(database or db.obj, directory=MIGRATIONS_DIR)
    return [(m.name, bool(m.applied)) for m in runner.status()]


def default_sqlite_url(instance_path: str) -> str:
    return "sqlite:///" + os.path.join(instance_path, "flux_recon.sqlite3")
