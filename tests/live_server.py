"""A real gunicorn serving the app on a free loopback port, and a stdlib HTTP client for it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import close_app, make_app

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent
HOST = "127.0.0.1"
STARTUP_DEADLINE = 20.0
HTTP_TIMEOUT = 10.0
CLI_TIMEOUT = 60.0


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path
    env: dict

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM (gunicorn's graceful stop), then SIGKILL to the whole group if it hangs."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # The group holds the master and its workers, and nothing else: we started it.
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def service_env(database_url: str, secret_key: str) -> dict:
    # Inherited FLUX_RECON_* settings (a settings file, a plugin filter, a bind address)
    # would make the server differ from what this test expects: start from none of them.
    env = {name: value for name, value in os.environ.items() if not name.startswith("FLUX_RECON_")}
    env["FLUX_RECON_DATABASE_URL"] = database_url
    env["FLUX_RECON_SECRET_KEY"] = secret_key
    return env


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None, source: str | None = None
) -> Response:
    """One HTTP request on a fresh connection, optionally sent from a chosen loopback address."""
    source_address = (source, 0) if source else None
    conn = http.client.HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT, source_address=source_address)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        return Response(reply.status, reply.headers, reply.read())
    finally:
        conn.close()


def wait_until_healthy(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.process.returncode}:\n{server.log()}")
        try:
            if request(server.port, "GET", "/healthz").status == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer /healthz within {STARTUP_DEADLINE}s:\n{server.log()}")


@contextmanager
def live_server(
    database_url: str,
    tmp_path: Path,
    workers: int = 2,
    settings: dict | None = None,
    *,
    prepare: bool = True,
    secret_key: str | None = None,
):
    """Start gunicorn on ``database_url``; yields a ``Server`` and always stops it.
    ``settings`` become FLUX_RECON_* environment variables of the server (and its CLI).
    A second instance on the same database passes ``prepare=False`` (keep the data) and the
    first one's ``secret_key`` (read its secrets)."""
    if prepare:
        # Migrates the SQLite file, or empties the already-migrated PostgreSQL schema.
        close_app(make_app(database_url))
    env = service_env(database_url, secret_key or Fernet.generate_key().decode())
    env.update({f"FLUX_RECON_{name}": str(value) for name, value in (settings or {}).items()})
    port = free_port()
    log_path = tmp_path / f"gunicorn-{port}.log"
    command = [
        str(BIN_DIR / "gunicorn"),
        "-c",
        "config/gunicorn.conf.py",
        "--bind",
        f"{HOST}:{port}",
        "-w",
        str(workers),
        "wsgi:app",
    ]
    with open(log_path, "wb") as log_file:
        # A session of its own, so a hung server can be killed with its workers.
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Server(process, port, log_path, env)
    try:
        wait_until_healthy(running)
        yield running
    finally:
        running.stop()


def create_tenant(server: Server, name: str = "Test Merchant") -> dict:
    """`flux-recon tenants create --json`, run against the server's database and secret key."""
    result = subprocess.run(
        [str(BIN_DIR / "flux-recon"), "tenants", "create", "--name", name, "--json"],
        cwd=REPO_ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def api(server: Server, api_key: str, method: str, path: str, payload: dict | None = None) -> Response:
    """One merchant API call with the tenant's key."""
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    return request(server.port, method, path, body=body, headers=headers)
