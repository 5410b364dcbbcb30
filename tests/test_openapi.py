"""The OpenAPI document and Swagger UI: what a merchant reading the API docs relies on.

Operations are taken from the served spec itself, so a new endpoint is checked as soon as it
exists; ``EXPECTED_OPERATIONS`` makes sure the checks can never pass on an empty spec.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from openapi_schema_validator import OAS30ReadValidator
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import validate as validate_spec

from tests.conftest import core_payload

SPEC_URL = "/api/v1/openapi.json"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
API_SECURITY_SCHEMES = {"bearerAuth", "adminToken"}
ERROR_PROPERTIES = {"code": "integer", "status": "string", "message": "string", "errors": "object"}
WEBHOOK_PATH = "/webhooks/{provider}/{token}"
WEBHOOK_ERRORS = {"400", "401", "403", "404", "413", "415", "422", "503"}
# Every money field a response may carry: always a decimal string, never a JSON number.
MONEY_FIELDS = {"amount", "amount_paid", "outstanding", "overpaid", "allocated", "fee", "settlement_amount"}

EXPECTED_OPERATIONS = {
    ("/api/v1/orders", "get"),
    ("/api/v1/orders", "post"),
    ("/api/v1/orders/{order_id}", "get"),
    ("/api/v1/orders/{order_id}/cancel", "post"),
    ("/api/v1/payments", "get"),
    ("/api/v1/payments/{payment_id}", "get"),
    ("/api/v1/integrations", "get"),
    ("/api/v1/integrations", "post"),
    ("/api/v1/integrations/{integration_id}", "get"),
    ("/api/v1/integrations/{integration_id}", "delete"),
    ("/api/v1/integrations/{integration_id}/allowlist", "get"),
    ("/api/v1/integrations/{integration_id}/allowlist", "post"),
    ("/api/v1/integrations/{integration_id}/allowlist/{entry_id}", "delete"),
    ("/api/v1/providers", "get"),
    ("/api/v1/tenants", "post"),
    (WEBHOOK_PATH, "post"),
    ("/healthz", "get"),
    ("/readyz", "get"),
}


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def spec(client):
    response = client.get(SPEC_URL)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def operations(spec):
    """(path, method, operation) for every operation of the spec."""
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def follow(spec, node):
    """``node`` with local ``$ref`` s followed until it is not a reference."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"non-local $ref {ref}"
        assert ref not in seen, f"$ref cycle at {ref}"
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def inline(spec, node, depth=0):
    """``node`` with every ``$ref`` replaced by its target, for validating instances."""
    assert depth < 50, "schema nested too deep (a $ref cycle?)"
    node = follow(spec, node)
    if isinstance(node, dict):
        return {key: inline(spec, value, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(spec, value, depth + 1) for value in node]
    return node


def json_schema(spec, response):
    """The application/json schema of a (possibly referenced) response object, or None."""
    response = follow(spec, response)
    media = (response.get("content") or {}).get("application/json") or {}
    return media.get("schema")


def is_error(code: str) -> bool:
    return code == "default" or code[0] in "45"


def effective_security(spec, operation):
    return operation.get("security", spec.get("security", []))


def schema_of(spec, path, method, status):
    schema = json_schema(spec, spec["paths"][path][method]["responses"][status])
    assert schema is not None, f"{method.upper()} {path} documents no {status} schema"
    return inline(spec, schema)


def assert_matches(spec, instance, path, method, status):
    """``instance`` (a real answer) is valid against the documented response schema."""
    validate_instance(instance, schema_of(spec, path, method, status), cls=OAS30ReadValidator)


# --- the document --------------------------------------------------------------------------


def test_spec_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate_spec(spec)


def test_expected_operations_are_documented(spec):
    documented = {(path, method) for path, method, _ in operations(spec)}
    assert not EXPECTED_OPERATIONS - documented, f"undocumented: {sorted(EXPECTED_OPERATIONS - documented)}"


def test_every_operation_has_a_summary(spec):
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(spec)
        if not str(operation.get("summary") or "").strip()
    ]
    assert not missing, f"operations without a summary: {missing}"


def test_every_operation_documents_a_success_response_with_a_schema(spec):
    problems = []
    for path, method, operation in operations(spec):
        success = {code: resp for code, resp in operation["responses"].items() if code.startswith("2")}
        if not success:
            problems.append(f"{method.upper()} {path}: no 2xx response")
            continue
        for code, response in success.items():
            if code == "204":
                if follow(spec, response).get("content"):
                    problems.append(f"{method.upper()} {path}: 204 documents a body")
            elif path.endswith(".csv"):  # the exports: a file, documented as text/csv
                if not (follow(spec, response).get("content") or {}).get("text/csv", {}).get("schema"):
                    problems.append(f"{method.upper()} {path}: {code} has no text/csv schema")
            elif json_schema(spec, response) is None:
                problems.append(f"{method.upper()} {path}: {code} has no application/json schema")
    assert not problems, "\n".join(problems)


def test_api_operations_declare_security_and_401(spec):
    schemes = spec["components"]["securitySchemes"]
    problems = []
    api_operations = [(p, m, op) for p, m, op in operations(spec) if p.startswith("/api/v1/")]
    assert len(api_operations) >= 13
    for path, method, operation in api_operations:
        name = f"{method.upper()} {path}"
        security = effective_security(spec, operation)
        used = {scheme for requirement in security for scheme in requirement}
        if not security or any(not requirement for requirement in security):
            # An empty requirement ({}) would document the operation as callable anonymously.
            problems.append(f"{name}: no security requirement")
        elif not used <= API_SECURITY_SCHEMES:
            problems.append(f"{name}: unexpected security schemes {sorted(used - API_SECURITY_SCHEMES)}")
        missing = used - set(schemes)
        if missing:
            problems.append(f"{name}: security refers to undefined schemes {sorted(missing)}")
        if "401" not in operation["responses"]:
            problems.append(f"{name}: no 401 response")
    assert not problems, "\n".join(problems)


def test_operator_and_merchant_operations_use_their_own_scheme(spec):
    tenants = spec["paths"]["/api/v1/tenants"]["post"]
    assert effective_security(spec, tenants) == [{"adminToken": []}]
    orders = spec["paths"]["/api/v1/orders"]["get"]
    assert effective_security(spec, orders) == [{"bearerAuth": []}]


def test_webhook_and_probes_need_no_api_key(spec):
    # Providers and load balancers call these without a merchant's API key.
    for path, method, operation in operations(spec):
        if not path.startswith("/api/v1/"):
            assert not effective_security(spec, operation), f"{method.upper()} {path} documents an API key"


def test_paths_with_parameters_declare_404(spec):
    problems = []
    parametrized = [(p, m, op) for p, m, op in operations(spec) if "{" in p]
    assert len(parametrized) >= 8
    for path, method, operation in parametrized:
        if "404" not in operation["responses"]:
            problems.append(f"{method.upper()} {path}: no 404 response")
    assert not problems, "\n".join(problems)


def test_webhook_declares_its_error_responses(spec):
    responses = spec["paths"][WEBHOOK_PATH]["post"]["responses"]
    missing = WEBHOOK_ERRORS - set(responses)
    assert not missing, f"webhook does not document {sorted(missing)}"


def test_every_error_response_has_the_error_shape(spec):
    problems = []
    checked = 0
    for path, method, operation in operations(spec):
        for code, response in operation["responses"].items():
            if not is_error(code):
                continue
            checked += 1
            name = f"{method.upper()} {path} {code}"
            schema = json_schema(spec, response)
            if schema is None:
                problems.append(f"{name}: no application/json schema")
                continue
            properties = follow(spec, schema).get("properties", {})
            for prop, expected_type in ERROR_PROPERTIES.items():
                if prop not in properties:
                    problems.append(f"{name}: error schema lacks {prop!r}")
                elif follow(spec, properties[prop]).get("type") != expected_type:
                    problems.append(f"{name}: error {prop!r} is not typed {expected_type}")
    assert checked >= 40
    assert not problems, "\n".join(problems)


def test_bearer_security_scheme(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"].lower() == "bearer"
    assert schemes["adminToken"]["type"] == "http"
    assert schemes["adminToken"]["scheme"].lower() == "bearer"


def _money_properties(spec, node, found, where, depth=0):
    """Collect ``(where, name, schema)`` of every money property under ``node``."""
    assert depth < 30, "schema nested too deep (a $ref cycle?)"
    node = follow(spec, node)
    if not isinstance(node, dict):
        return
    for name, prop in (node.get("properties") or {}).items():
        if name in MONEY_FIELDS:
            found.append((f"{where}.{name}", name, follow(spec, prop)))
        _money_properties(spec, prop, found, f"{where}.{name}", depth + 1)
    if "items" in node:
        _money_properties(spec, node["items"], found, f"{where}[]", depth + 1)
    for key in ("allOf", "oneOf", "anyOf"):
        for part in node.get(key, []):
            _money_properties(spec, part, found, where, depth + 1)


@pytest.mark.parametrize(
    ("prefix", "required"),
    [("/api/v1/orders", {"amount", "amount_paid", "outstanding"}), ("/api/v1/payments", {"amount"})],
)
def test_money_fields_in_responses_are_decimal_strings(spec, prefix, required):
    found = []
    for path, method, operation in operations(spec):
        if path != prefix and not path.startswith(prefix + "/"):
            continue
        for code, response in operation["responses"].items():
            schema = json_schema(spec, response) if code.startswith("2") else None
            if schema is not None:
                _money_properties(spec, schema, found, f"{method.upper()} {path} {code}")
    assert required <= {name for _, name, _ in found}, f"{prefix} responses lack {required}"
    problems = []
    for where, _, prop in found:
        if prop.get("type") != "string":
            problems.append(f"{where}: type {prop.get('type')!r}, not 'string'")
        if prop.get("format") in ("float", "double", "int32", "int64"):
            problems.append(f"{where}: numeric format {prop['format']!r}")
        if "example" in prop:
            example = prop["example"]
            if not isinstance(example, str):
                problems.append(f"{where}: example {example!r} is not a string")
            elif not Decimal(example).is_finite():
                problems.append(f"{where}: example {example!r} is not a decimal")
    assert not problems, "\n".join(problems)


# --- the documents match the answers -------------------------------------------------------


def test_answers_match_their_documented_schemas(client, spec, tenant, create_order, post_core):
    order = create_order(amount="15000.00")
    assert_matches(spec, order, "/api/v1/orders", "post", "201")

    webhook = post_core(core_payload(tenant["tenant_id"]))
    assert webhook.status_code == 200, webhook.json
    assert_matches(spec, webhook.json, WEBHOOK_PATH, "post", "200")

    shown = client.get(f"/api/v1/orders/{order['id']}", headers=tenant["headers"])
    assert shown.status_code == 200
    assert_matches(spec, shown.json, "/api/v1/orders/{order_id}", "get", "200")
    for field in ("amount", "amount_paid", "outstanding", "overpaid"):
        assert isinstance(shown.json[field], str), field
    assert shown.json["amount_paid"] == "15000.00"

    listed = client.get("/api/v1/payments", headers=tenant["headers"])
    assert listed.status_code == 200
    assert len(listed.json) == 1
    assert_matches(spec, listed.json, "/api/v1/payments", "get", "200")
    payment = listed.json[0]
    assert isinstance(payment["amount"], str)
    assert payment["allocations"] and all(isinstance(a["amount"], str) for a in payment["allocations"])


def test_error_answers_match_the_documented_error_schema(client, spec, tenant):
    anonymous = client.get("/api/v1/orders")
    assert anonymous.status_code == 401
    assert_matches(spec, anonymous.json, "/api/v1/orders", "get", "401")

    missing = client.get("/api/v1/orders/999999", headers=tenant["headers"])
    assert missing.status_code == 404
    assert_matches(spec, missing.json, "/api/v1/orders/{order_id}", "get", "404")

    invalid = client.post("/api/v1/orders", json={"reference": "INV-1"}, headers=tenant["headers"])
    assert invalid.status_code == 422
    assert_matches(spec, invalid.json, "/api/v1/orders", "post", "422")
    assert {"code", "status", "message", "errors"} <= set(invalid.json)


# --- Swagger UI ----------------------------------------------------------------------------


def test_swagger_ui_is_served_without_a_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in html
    assert SPEC_URL in html

    referenced = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert "/docs/assets/swagger-ui-bundle.js" in referenced
    external = [url for url in referenced if not url.startswith("/docs/assets/")]
    assert not external, f"/docs loads files from elsewhere: {external}"
    for url in referenced:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.data) > 10_000, f"{url} is only {len(asset.data)} bytes"

    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.mimetype in ("text/javascript", "application/javascript")
    assert b"SwaggerUIBundle" in bundle.data
