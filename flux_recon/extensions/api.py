"""flask-smorest Api and Blueprint subclasses: security, documented errors, JSON for every error."""

from __future__ import annotations

import logging
from http import HTTPStatus

import flask_smorest
from flask import current_app, jsonify
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, InternalServerError

from .auth import SECURITY_SCHEMES, require_admin, require_tenant
from .database import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)


def error_body(code: int, status: str, message: str, errors: dict | None = None) -> dict:
    """The one error shape, ``{code, status, message, errors}``, used everywhere."""
    body = {"code": code, "status": status, "message": message}
    if errors:
        body["errors"] = errors
    return body


class Api(flask_smorest.Api):
    """Our Api: bearer security schemes, and JSON errors even for what Flask would not catch."""

    def init_app(self, app, *, spec_kwargs=None):
        super().init_app(app, spec_kwargs=spec_kwargs)
        for name, scheme in SECURITY_SCHEMES.items():
            self.spec.components.security_scheme(name, scheme)
        for error_class in UNAVAILABLE_ERRORS:
            app.register_error_handler(error_class, self.handle_database_unavailable)
        app.register_error_handler(Exception, self.handle_unexpected)

    def handle_http_exception(self, error):
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", error.description)
        if payload.get("errors") is None:
            payload.pop("errors", None)
        return payload, code, headers

    @staticmethod
    def handle_database_unavailable(error):
        # The provider retries on non-2xx; 503 + Retry-After says "come back", and nothing
        # was committed, so the retry cannot double count.
        log.error("database unavailable: %s", type(error).__name__)
        response = jsonify(error_body(503, "Service Unavailable", "the database is unavailable; retry later"))
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    def handle_unexpected(self, error):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        log.exception("unhandled error")
        response = jsonify(error_body(500, "Internal Server Error", InternalServerError.description))
        response.status_code = 500
        return response


class ExactJSONParser(FlaskParser):
    """webargs reads request bodies with plain json.loads; read them with the app's JSON
    provider instead, so a JSON number like 1000.10 reaches the schema as a Decimal."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return current_app.json.loads(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    """A Blueprint whose operations authenticate as ``auth`` ("tenant", "admin" or None)
    and document it, with ``errors(...)`` to document the error answers of an operation."""

    ARGUMENTS_PARSER = ExactJSONParser()

    def __init__(self, *args, auth: str | None = "tenant", **kwargs):
        super().__init__(*args, **kwargs)
        self.auth = auth
        if auth == "tenant":
            self.before_request(require_tenant)
        elif auth == "admin":
            self.before_request(require_admin)

    def errors(self, *codes: int):
        """Document the error responses an operation may give (auth errors, and 503 for a
        database outage, are added)."""
        all_codes = [*codes, 503]
        if self.auth:
            all_codes.append(401)

        def decorator(func):
            for code in sorted(set(all_codes)):
                func = self.alt_response(code, response=HTTPStatus(code).name)(func)
            if self.auth:
                scheme = "bearerAuth" if self.auth == "tenant" else "adminToken"
                func = self.doc(security=[{scheme: []}])(func)
            return func

        return decorator
