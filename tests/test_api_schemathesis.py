"""Schema-driven fuzzing of the whole API from its own OpenAPI document (schemathesis): no
500, every answer matches its documented schema, every status code is documented."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 12
# What a client relies on. ("Schema-valid data is accepted" is left out: the service refuses
# things no JSON schema says, such as NUL characters PostgreSQL cannot store, or a provider
# name that is a plain string in the schema but must name a loaded plugin.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def exercise(operation, token: str) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=operation.as_strategy())
    def run(case):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        case.validate_response(case.call(), checks=CHECKS)

    run()


def test_every_operation_answers_as_documented(api_schema, tenant):
    checked = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        exercise(operation, "admin-test-token" if operation.path == "/api/v1/tenants" else tenant["api_key"])
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 40, checked
