"""flask-smorest Api and Blueprint subclasses: security, documented errors, JSON for every error."""

from __future__ import annotations

import logging
from http import HTTPStatus

import flask_smorest
import peewee
from flask import jsonify, request
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter

from flux_recon.core.secret_box import SecretKeyError
from flux_recon.exact_json import JSONInputError, loads_exact
from flux_recon.models.connections import UNAVAILABLE_ERRORS
from flux_recon.services.errors import Conflict, DomainError, Invalid, NotFound
from flux_recon.web import idempotency
from flux_recon.web.auth import SECURITY_SCHEMES, require_admin, require_tenant

log = logging.getLogger(__name__)


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "Retry-safe writes: the same key with the same request returns the first answer again "
    "(with `Idempotent-Replayed: true`) for 24 hours; the same key with a different request is refused (422).",
}

# How each kind of refused operation is answered over HTTP.
DOMAIN_ERROR_STATUS = {NotFound: 404, Conflict: 409, Invalid: 422}

# Requests whose arguments come in the query string (HEAD is answered as GET).
READ_METHODS = frozenset({"GET", "HEAD"})

MAX_ID = 2**53  # beyond any id we hand out; also safe for JavaScript clients


def _json_error(code: int, status: str, message: str):
    """The one error shape, ``{code, status, message, errors}``, for errors raised outside abort()."""
    response = jsonify({"code": code, "status": status, "message": message, "errors": {}})
    response.status_code = code
    return response


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` that matches only ids we could have issued."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def refuse_nul_in_url():
    """PostgreSQL cannot compare text containing NUL: refuse it at the door."""
    if "\x00" in request.path or b"%00" in request.query_string or b"\x00" in request.query_string:
        abort(400, message="URLs may not contain NUL characters")


class Api(flask_smorest.Api):
    """Our Api: bearer security schemes, and JSON errors even for what Flask would not catch."""

    def init_app(self, app, *, spec_kwargs=None):
        # Ids in URLs are bounded so an absurd one is a 404, never a database overflow.
        app.url_map.converters["int"] = BoundedIntConverter
        super().init_app(app, spec_kwargs=spec_kwargs)
        for name, scheme in SECURITY_SCHEMES.items():
            self.spec.components.security_scheme(name, scheme)
        self.spec.components.parameter("IdempotencyKey", "header", IDEMPOTENCY_PARAMETER)
        app.before_request(refuse_nul_in_url)
        for error_class in UNAVAILABLE_ERRORS:
            app.register_error_handler(error_class, self.handle_database_unavailable)
        app.register_error_handler(peewee.DataError, self.handle_unstorable)
        app.register_error_handler(SecretKeyError, self.handle_wrong_secret_key)
        app.register_error_handler(DomainError, self.handle_domain_error)
        app.register_error_handler(Exception, self.handle_unexpected)

    def handle_http_exception(self, error):
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", error.description)
        if payload.get("errors") is None:
            payload["errors"] = {}
        return payload, code, headers

    def handle_domain_error(self, error: DomainError):
        """The one place a refused business operation becomes an HTTP answer."""
        status = next((DOMAIN_ERROR_STATUS[kind] for kind in type(error).__mro__ if kind in DOMAIN_ERROR_STATUS), 409)
        # The fields are named where they were sent, as the schemas' errors are: a read's
        # in its query string, a write's in its JSON body.
        location = "query" if request.method in READ_METHODS else "json"
        try:
            abort(status, message=error.message, errors={location: error.fields} if error.fields else None)
        except HTTPException as http_error:
            return self.handle_http_exception(http_error)

    @staticmethod
    def handle_wrong_secret_key(error):
        # An operator's mistake (a changed SECRET_KEY without OLD_SECRET_KEYS), not the
        # sender's: 503 makes providers retry once it is fixed, so nothing is lost.
        log.error("stored secrets cannot be decrypted: check SECRET_KEY / OLD_SECRET_KEYS")
        response = _json_error(503, "Service Unavailable", "this service cannot read its stored secrets; retry later")
        response.headers["Retry-After"] = "60"
        return response

    @staticmethod
    def handle_unstorable(error):
        # Input validation should have refused the value; never let it become a 500.
        log.warning("database refused a value: %s", type(error).__name__)
        return _json_error(422, "Unprocessable Entity", "a value in the request cannot be stored")

    @staticmethod
    def handle_database_unavailable(error):
        # The provider retries on non-2xx; 503 + Retry-After says "come back", and nothing
        # was committed, so the retry cannot double count.
        log.error("database unavailable: %s", type(error).__name__)
        response = _json_error(503, "Service Unavailable", "the database is unavailable; retry later")
        response.headers["Retry-After"] = "5"
        return response

    def handle_unexpected(self, error):
        if isinstance(error, HTTPException):
            return self.handle_http_exception(error)
        log.exception("unhandled error")
        return _json_error(500, "Internal Server Error", InternalServerError.description)


class ExactJSONParser(FlaskParser):
    """webargs reads request bodies with plain json.loads; read them exactly instead (a
    JSON number like 1000.10 reaches the schema as a Decimal), and say what is wrong:
    415 for a body that is not JSON, 400 for JSON that cannot be read."""

    def _raw_load_json(self, req):
        body = req.get_data(cache=True)
        if not body:
            return core.missing
        if not is_json_request(req):
            abort(415, message=f"send the body as application/json, not {req.mimetype or 'no content type'}")
        try:
            return loads_exact(body)
        except JSONInputError as exc:
            abort(400, message=str(exc))


class Blueprint(flask_smorest.Blueprint):
    """A Blueprint whose operations authenticate as ``auth`` ("tenant", "admin" or None)
    and document it, with ``errors(...)`` to document the error answers of an operation."""

    ARGUMENTS_PARSER = ExactJSONParser()

    def __init__(self, *args, auth: str | None = "tenant", **kwargs):
        super().__init__(*args, **kwargs)
        self.auth = auth
        if auth == "tenant":
            self.before_request(require_tenant)
            # After authentication: keys are remembered per tenant.
            self.before_request(idempotency.before_write)
            self.after_request(idempotency.after_write)
        elif auth == "admin":
            self.before_request(require_admin)

    def _document_pagination_metadata(self, spec, resp_doc):
        # The header's value is JSON text, so document it as the string it is on the wire.
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "pagination as JSON: total, total_pages, first_page, last_page, page, "
            "previous_page, next_page",
            "schema": {"type": "string", "example": '{"total": 12, "total_pages": 2, "page": 1, "next_page": 2}'},
        }

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
            if self.auth == "tenant" and func.__name__ in ("post", "put", "patch", "delete"):
                func = self.doc(parameters=["IdempotencyKey"])(func)
            return func

        return decorator
