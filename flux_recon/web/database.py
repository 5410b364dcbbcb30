"""Per-request database connections for the web app (FlaskDB), bound to DATABASE_URL."""

from __future__ import annotations

from flask import request
from playhouse.flask_utils import FlaskDB

from flux_recon.models.connections import bind_database, default_sqlite_url


class RequestDB(FlaskDB):
    """FlaskDB, but a request may find its thread's connection already open (a CLI
    command or a test that queried before calling the app) and simply reuse it."""

    def connect_db(self):
        if self._excluded_routes and request.endpoint in self._excluded_routes:
            return
        self.database.connect(reuse_if_open=True)


def init_app(app) -> None:
    """Bind the models to DATABASE_URL and open/close a connection around each request."""
    url = app.config.get("DATABASE_URL")
    if url is None:
        url = default_sqlite_url(app.instance_path)
    app.config["DATABASE_URL"] = url
    database = bind_database(
        url,
        max_connections=app.config["DATABASE_MAX_CONNECTIONS"],
        sqlite_synchronous=app.config["SQLITE_SYNCHRONOUS"],
    )
    # Routes that never touch the database do not open a connection. /metrics opens its
    # own for the gauges it reads, so that it still answers during an outage.
    app.config["FLASKDB_EXCLUDED_ROUTES"] = (
        "health.healthz",
        "metrics",
        "docs_assets.asset",
        "api-docs.openapi_json",
        "api-docs.openapi_swagger_ui",
    )
    RequestDB(app, database)
    app.extensions["database"] = database
