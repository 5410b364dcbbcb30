"""Database: DATABASE_URL -> a peewee database (pooled PostgreSQL or SQLite), per-request
connections through FlaskDB, the write transaction, and the migration runner."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import peewee
from flask import request
from playhouse import db_url
from playhouse.flask_utils import FlaskDB
from playhouse.migrations import Runner

from ..models import db

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "models" / "migrations")

# WAL lets readers run beside the one writer; busy_timeout makes a second writer wait
# instead of failing at once; foreign keys are off by default in SQLite.
SQLITE_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000, "synchronous": "normal"}

# Errors that mean "the database is not there right now": answered with 503 so the
# provider retries later, never with a 500.
UNAVAILABLE_ERRORS = (peewee.OperationalError, peewee.InterfaceError)


def open_database(url: str, *, max_connections: int = 20) -> peewee.Database:
    """Open the database a URL names: ``sqlite:///path`` or ``postgresql://...`` (pooled)."""
    scheme = urlparse(url).scheme
    if scheme in ("postgres", "postgresql"):
        url = "postgresql+pool" + url[len(scheme) :]
        return db_url.connect(url, max_connections=max_connections, stale_timeout=300, timeout=10, connect_timeout=5)
    if scheme == "sqlite":
        path = urlparse(url).path[1:]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return db_url.connect(url, pragmas=SQLITE_PRAGMAS)
    raise ValueError(f"DATABASE_URL must start with sqlite:// or postgresql://, got {scheme or 'nothing'}://")


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


class RequestDB(FlaskDB):
    """FlaskDB, but a request may find its thread's connection already open (a CLI
    command or a test that queried before calling the app) and simply reuse it."""

    def connect_db(self):
        if self._excluded_routes and request.endpoint in self._excluded_routes:
            return
        self.database.connect(reuse_if_open=True)


def init_app(app) -> None:
    """Bind the models to DATABASE_URL and open/close a connection around each request."""
    url = app.config.get("DATABASE_URL") or default_sqlite_url(app.instance_path)
    app.config["DATABASE_URL"] = url
    database = bind_database(url, max_connections=app.config["DATABASE_MAX_CONNECTIONS"])
    # Routes that never touch the database do not open a connection.
    app.config["FLASKDB_EXCLUDED_ROUTES"] = (
        "health.healthz",
        "docs_assets.asset",
        "api-docs.openapi_json",
        "api-docs.openapi_swagger_ui",
    )
    RequestDB(app, database)
    app.extensions["database"] = database
