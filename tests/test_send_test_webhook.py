"""`flux-recon send-test-webhook`: the request it builds, what it sends to a real local HTTP
receiver (and only there), and a merchant's end-to-end test against real gunicorn."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from flux_recon import AuthContext, WebhookRequest
from flux_recon.cli import cli
from flux_recon.exact_json import loads_exact
from flux_recon_opay.provider import OpayProvider
from tests.conftest import core_signature
from tests.live_server import BIN_DIR, CLI_TIMEOUT, REPO_ROOT, Server, free_port, live_server, request

PAYSTACK_KEY = "sk_test_2b7e151628aed2a6abf7158809cf4f3c"


@pytest.fixture(autouse=True)
def every_installed_plugin(monkeypatch):
    monkeypatch.delenv("FLUX_RECON_LOAD_PLUGINS", raising=False)


def run(*args: str):
    return CliRunner().invoke(cli, ["send-test-webhook", *args], catch_exceptions=False)


def dry_run(*args: str) -> tuple[dict, bytes]:
    """The headers and body the command would send."""
    result = run(*args, "--dry-run")
    assert result.exit_code == 0, result.output
    head, _, body = result.output.partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines())
    return headers, body.rstrip("\n").encode()


def paystack_signature(body: bytes, key: str = PAYSTACK_KEY) -> str:
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


# -- the request ------------------------------------------------------------------------


def test_the_default_sample_is_the_first_payment_signed_as_the_provider_signs():
    headers, body = dry_run("paystack", "--secret", PAYSTACK_KEY)
    assert headers["x-paystack-signature"] == paystack_signature(body)
    assert headers["Content-Type"] == "application/json"
    assert loads_exact(body)["event"] == "charge.success"


def test_set_changes_fields_before_signing_keeping_their_types():
    headers, body = dry_run(
        "paystack",
        "--secret",
        "secret_key=" + PAYSTACK_KEY,
        "--set",
        "data.reference=2002",  # a text field stays text, even when it looks like a number
        "--set",
        "data.amount=2500000",  # a number field takes a number
        "--set",
        "data.metadata.note=hello",  # a new field inside an object
        "--set",
        'data.tags=["a", 1]',  # a new field read as JSON
    )
    data = loads_exact(body)["data"]
    assert (data["reference"], data["amount"]) == ("2002", 2500000)
    assert (data["metadata"]["note"], data["tags"]) == ("hello", ["a", 1])
    assert headers["x-paystack-signature"] == paystack_signature(body)


def test_a_body_field_signature_is_computed_after_the_changes():
    _, body = dry_run(
        "opay", "--secret", "OPAYPRV-merchant", "--sample", "checkout_payment", "--set", "payload.amount=99000"
    )
    webhook = WebhookRequest(body=body)
    assert webhook.payload["payload"]["amount"] == "99000"
    context = AuthContext(
        client_ip=ipaddress.ip_address("127.0.0.1"),
        credentials=OpayProvider.credential_values({"secret_key": "OPAYPRV-merchant"}),
    )
    assert OpayProvider.auth[1].verify(webhook, context) is not None


def test_several_secrets_are_named_and_a_bare_one_is_refused():
    headers, body = dry_run("fuspay", "--secret", "merchant_secret=m", "--secret", "partner_secret=p")
    assert headers == {"Content-Type": "application/json"} and "signature" in loads_exact(body)
    refused = run("fuspay", "--secret", "m", "--dry-run")
    assert refused.exit_code == 2 and "NAME=VALUE" in refused.output


def test_list_samples_says_what_each_sample_is():
    result = run("paystack", "--list-samples")
    assert result.exit_code == 0
    lines = dict(line.split(": ", 1) for line in result.output.splitlines())
    assert lines["charge_success"] == "payment succeeded 15000.00 NGN"
    assert lines["refund_processed"] == "refund succeeded 15000.00 NGN"
    assert lines["transfer_success"].startswith("ignored: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuchpay", "--dry-run"], "no provider 'nosuchpay' is loaded"),
        (["paystack", "--secret", "k", "--sample", "nope", "--dry-run"], "its samples: charge_success"),
        (["paystack", "--dry-run"], "--unsigned"),
        (["core", "--secret", "s", "--set", "amount.value=1", "--dry-run"], "is not an object"),
        (["core", "--secret", "s", "--set", "amount", "--dry-run"], "expected PATH=VALUE"),
        (["core", "--secret", "s"], "give --url"),
        (["core", "--secret", "s", "--url", "file:///etc/passwd"], "give --url"),
        (["core", "--secret", "s", "--url", "ftp://127.0.0.1/webhooks/core/x"], "give --url"),
    ],
)
def test_mistakes_are_usage_errors_that_send_nothing(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_change_the_signature_cannot_cover_is_an_error_not_a_traceback():
    result = run("opay", "--secret", "k", "--sample", "checkout_payment", "--set", "payload.refunded=yes", "--dry-run")
    assert result.exit_code == 1
    assert "opay cannot sign sample 'checkout_payment' as changed" in result.output


def test_unsigned_sends_without_the_required_signature():
    headers, _ = dry_run("paystack", "--unsigned")
    assert "x-paystack-signature" not in headers


# -- the network part: a real HTTP receiver on loopback ---------------------------------


class Receiver:
    """A real HTTP server on 127.0.0.1 recording every request (headers case-insensitive) and answering as told."""

    def __init__(self, status=200, body=b'{"status": "accepted"}', headers=None):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                receiver.requests.append((self.command, self.path, self.headers, self.rfile.read(length)))
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def test_it_posts_the_signed_sample_to_the_url_and_prints_the_answer():
    with Receiver() as receiver:
        result = run("paystack", "--url", f"{receiver.url}/webhooks/paystack/tok123", "--secret", PAYSTACK_KEY)
    assert result.exit_code == 0, result.output
    assert result.output.endswith('HTTP 200 OK\n{"status": "accepted"}\n')
    ((method, path, headers, body),) = receiver.requests
    assert (method, path) == ("POST", "/webhooks/paystack/tok123")
    assert headers["x-paystack-signature"] == paystack_signature(body)
    assert headers["Content-Type"] == "application/json"
    assert loads_exact(body)["data"]["reference"] == "INV-1001"


def test_an_error_answer_is_printed_and_exits_1():
    with Receiver(status=401, body=b'{"code": 401, "message": "signature does not match"}') as receiver:
        result = run("core", "--url", f"{receiver.url}/webhooks/core/x", "--secret", "wrong")
    assert result.exit_code == 1
    assert 'HTTP 401 Unauthorized\n{"code": 401, "message": "signature does not match"}' in result.output


def test_a_redirect_is_not_followed():
    with Receiver(status=307, body=b"", headers={"Location": "/elsewhere"}) as receiver:
        result = run("core", "--url", f"{receiver.url}/webhooks/core/x", "--secret", "s")
    assert result.exit_code == 1
    assert "HTTP 307" in result.output
    assert [path for _, path, _, _ in receiver.requests] == ["/webhooks/core/x"]


def test_a_proxy_from_the_environment_is_not_used(monkeypatch):
    # Were the proxy used, the request would go to a closed port instead of the receiver.
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with Receiver() as receiver:
        result = run("core", "--url", f"{receiver.url}/webhooks/core/x", "--secret", "s")
    assert result.exit_code == 0, result.output
    assert len(receiver.requests) == 1


def test_an_unreachable_url_exits_1_saying_so():
    result = run("core", "--url", f"http://127.0.0.1:{free_port()}/webhooks/core/x", "--secret", "s")
    assert result.exit_code == 1
    assert "could not reach" in result.output


def test_an_answer_that_is_not_http_exits_1_saying_so():
    listener = socket.create_server(("127.0.0.1", 0))

    def answer_garbage():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"NOT HTTP\r\n\r\n")

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/webhooks/core/x"
        result = run("core", "--url", url, "--secret", "s", "--timeout", "5")
    finally:
        thread.join(timeout=5)
        listener.close()
    assert result.exit_code == 1
    assert f"could not reach {url}: BadStatusLine" in result.output


def test_the_core_signature_is_the_one_the_core_webhook_checks():
    with Receiver() as receiver:
        run("core", "--url", f"{receiver.url}/w", "--secret", "fs_secret", "--set", "tenantId=tn_1")
    (_, _, headers, body) = receiver.requests[0]
    assert headers["Signature"] == core_signature(body, "fs_secret")
    assert loads_exact(body)["tenantId"] == "tn_1"


# -- end to end: a merchant tests an integration on real gunicorn ------------------------


@pytest.fixture
def server(database_url, tmp_path):
    with live_server(database_url, tmp_path) as running:
        yield running


def flux_recon_command(server: Server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN_DIR / "flux-recon"), *args],
        cwd=REPO_ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def api(server: Server, key: str, method: str, path: str, payload: dict | None = None):
    body = json.dumps(payload).encode() if payload is not None else None
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    response = request(server.port, method, path, body=body, headers=headers)
    assert response.status < 300, (method, path, response.status, response.body)
    return response.json if response.body else None


def answer_of(result: subprocess.CompletedProcess) -> tuple[str, dict]:
    status, _, body = result.stdout.partition("\n")
    return status, json.loads(body)


def test_a_merchant_tests_core_and_paystack_integrations_end_to_end(server):
    tenant = flux_recon_command(server, "tenants", "create", "--name", "Send Test Merchant", "--json")
    assert tenant.returncode == 0, tenant.stderr
    tenant = json.loads(tenant.stdout.strip().splitlines()[-1])
    key = tenant["api_key"]

    # Core: the generated secret signs; the tenant id is what only the merchant knows.
    core = api(server, key, "POST", "/api/v1/integrations", {"provider": "core"})
    api(server, key, "POST", f"/api/v1/integrations/{core['id']}/allowlist", {"cidr": "127.0.0.1"})
    core_order = api(
        server, key, "POST", "/api/v1/orders", {"reference": "INV-1001", "amount": "15000.00", "currency": "NGN"}
    )
    send_core = ["send-test-webhook", "core", "--url", core["webhook_url"], "--set", f"tenantId={tenant['tenant_id']}"]
    sent = flux_recon_command(server, *send_core, "--secret", core["credentials"][0]["secret"])
    assert sent.returncode == 0, sent.stdout + sent.stderr
    status, body = answer_of(sent)
    assert (status, body["status"], body["reconciliation"]) == ("HTTP 200 OK", "accepted", "matched"), sent.stdout
    assert api(server, key, "GET", f"/api/v1/orders/{core_order['id']}")["status"] == "paid"
    again = flux_recon_command(server, *send_core, "--secret", core["credentials"][0]["secret"])
    assert answer_of(again)[1]["status"] == "duplicate"
    forged = flux_recon_command(server, *send_core, "--secret", "fs_not_the_secret")
    assert forged.returncode == 1 and forged.stdout.startswith("HTTP 401"), forged.stdout

    # Paystack, a third party's plugin: the secret key from the dashboard, an order of its own.
    paystack = api(server, key, "POST", "/api/v1/integrations", {"provider": "paystack"})
    base = f"/api/v1/integrations/{paystack['id']}"
    api(server, key, "PUT", f"{base}/secrets/secret_key", {"value": PAYSTACK_KEY})
    api(server, key, "POST", f"{base}/allowlist", {"cidr": "127.0.0.1"})
    paystack_order = api(
        server, key, "POST", "/api/v1/orders", {"reference": "INV-3003", "amount": "25000.00", "currency": "NGN"}
    )
    send_paystack = ["send-test-webhook", "paystack", "--url", paystack["webhook_url"], "--secret", PAYSTACK_KEY]
    paid = flux_recon_command(
        server, *send_paystack, "--set", "data.reference=INV-3003", "--set", "data.amount=2500000"
    )
    assert answer_of(paid)[1]["reconciliation"] == "matched", paid.stdout + paid.stderr
    assert api(server, key, "GET", f"/api/v1/orders/{paystack_order['id']}")["status"] == "paid"
    refund = ["--sample", "refund_processed", "--set", "data.transaction_reference=INV-3003"]
    refunded = flux_recon_command(server, *send_paystack, *refund, "--set", "data.amount=2500000")
    assert answer_of(refunded)[1]["status"] == "accepted", refunded.stdout + refunded.stderr
    assert api(server, key, "GET", f"/api/v1/orders/{paystack_order['id']}")["status"] == "open"
