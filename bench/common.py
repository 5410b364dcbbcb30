"""What every benchmark shares: databases, a real gunicorn, wrk, resident memory, tables."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN_CONF = REPO / "config" / "gunicorn.conf.py"
HOST = "127.0.0.1"
# The PostgreSQL benchmarks drop and recreate this database's schema.
POSTGRES_URL_ENV = "FLUX_RECON_BENCH_POSTGRES_URL"
SECRET_KEY = Fernet.generate_key().decode()


def say(text: str = "") -> None:
    print(text, flush=True)


def machine_line() -> str:
    return f"{os.cpu_count()} cores, {dt.date.today().isoformat()}, Python {sys.version.split()[0]}"


# --- tools ---------------------------------------------------------------------------------
def ensure_wrk() -> str:
    """wrk is a Debian package: install it when it is missing (needs root, as on CI)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is not installed: run `apt-get install wrk` (as root), then try again")
    say("installing wrk (apt-get)...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


def default_workers(backend: str) -> int:
    """What config/gunicorn.conf.py starts on this backend when FLUX_RECON_WORKERS is unset."""
    from flux_recon.web.settings import default_workers as configured_default

    return configured_default("sqlite://" if backend == "sqlite" else "postgresql://", os.cpu_count() or 1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident set size of a process, in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time these processes (all their threads) have used, in seconds;
    a process that is gone counts 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return sorted(found)


# --- databases -----------------------------------------------------------------------------
def postgres_url() -> str | None:
    """The database the PostgreSQL benchmarks may wipe, or None to skip them."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        return None
    name = urlparse(url).path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"{POSTGRES_URL_ENV} names database {name!r}: its schema is dropped, so its name must contain 'bench'")
    return url


def backends(requested: list[str] | None = None) -> list[str]:
    available = ["sqlite"] + (["postgres"] if postgres_url() else [])
    if requested:
        missing = [b for b in requested if b not in available]
        if missing:
            sys.exit(f"backend(s) {missing} unavailable (PostgreSQL needs {POSTGRES_URL_ENV})")
        return requested
    if "postgres" not in available:
        say(f"(PostgreSQL skipped: set {POSTGRES_URL_ENV}=postgresql://user@127.0.0.1:5432/bench to include it)")
    return available


def fresh_database(backend: str, workdir: Path) -> str:
    """An empty, migrated database; returns its URL."""
    from flux_recon.models.connections import open_database, upgrade

    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        for suffix in ("", "-wal", "-shm"):
            Path(str(workdir / "bench.sqlite3") + suffix).unlink(missing_ok=True)
    else:
        url = postgres_url()
    database = open_database(url)
    database.connect()
    if backend == "postgres":
        database.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
        database.execute_sql("CREATE SCHEMA public")
    upgrade(database)
    if hasattr(database, "close_all"):
        database.close_all()
    else:
        database.close()
    return url


def vacuum_analyze(url: str) -> None:
    """Fresh planner statistics after a bulk load, as a DBA would after an import."""
    from flux_recon.models import db

    if url.startswith("sqlite"):
        db.execute_sql("ANALYZE")
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        db.execute_sql("VACUUM ANALYZE")


def database_backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving connections to the benchmark's database
    (on this machine), so their CPU time can be read like the workers'."""
    import psycopg

    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
            " AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return [pid for (pid,) in rows]


@contextmanager
def app_for(url: str, **config):
    """The flux-recon app on ``url``, its context pushed, for setting up data in-process."""
    from flux_recon import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, **config})
    database = app.extensions["database"]
    with app.app_context():
        database.connect(reuse_if_open=True)
        try:
            yield app
        finally:
            if hasattr(database, "close_all"):
                database.close_all()
            elif not database.is_closed():
                database.close()


def service_env(url: str | None = None, **settings) -> dict:
    """Environment for a flux-recon process: no inherited FLUX_RECON_* setting, the
    benchmark's database and key, and the given settings (as JSON, like the app reads them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_RECON_")}
    if url:
        env["FLUX_RECON_DATABASE_URL"] = url
    env["FLUX_RECON_SECRET_KEY"] = SECRET_KEY
    for name, value in settings.items():
        env[f"FLUX_RECON_{name}"] = value if isinstance(value, str) else json.dumps(value)
    return env


# --- a real gunicorn -----------------------------------------------------------------------
@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def worker_cpu_seconds(self) -> float:
        return cpu_seconds(self.workers())

    def database_counts(self) -> dict:
        """Statements the workers sent so far, and the times they waited for the database's
        answers (flux_recon_database_statements and _round_trips on /metrics, counted when the
        server runs with FLUX_RECON_COUNT_STATEMENTS=1)."""
        with urllib.request.urlopen(f"{self.base}/metrics", timeout=10) as answer:
            text = answer.read().decode()
        counts = {}
        for line in text.splitlines():
            for name in ("statements", "round_trips"):
                if line.startswith(f"flux_recon_database_{name}_total "):
                    counts[name] = int(float(line.split()[1]))
        if len(counts) != 2:
            raise RuntimeError("/metrics lacks flux_recon_database_statements_total or _round_trips_total")
        return counts

    def worker_rss_kib(self) -> list[int]:
        return [rss_kib(pid) for pid in self.workers()]

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group is this gunicorn only
            self.process.wait(timeout=5)


def start_gunicorn(
    app_spec: str, env: dict, workdir: Path, *, workers: int, threads: int | None = 1, name: str
) -> Server:
    """gunicorn with the project's config file (same settings for the service and the baseline)."""
    port = free_port()
    env = {**env, "FLUX_RECON_BIND": f"{HOST}:{port}", "FLUX_RECON_WORKERS": str(workers)}
    if threads is not None:  # else the config's default
        env["FLUX_RECON_THREADS"] = str(threads)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(GUNICORN_CONF), app_spec],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at startup:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.base}/healthz", timeout=2) as answer:
                if answer.status == 200 and len(server.workers()) >= workers:
                    return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not start in time:\n{log_path.read_text()[-3000:]}")


# --- wrk -----------------------------------------------------------------------------------
@dataclass
class LoadResult:
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    wrapped: int

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def run_wrk(
    url: str, script: Path, script_args: list[str], *, connections: int, threads: int, duration: int, until=None
):
    """Load ``url`` with wrk and ``script`` (whose done() prints one WRK_JSON line) for
    ``duration`` seconds, or until ``until()`` (polled each second) returns true: wrk
    stops early on SIGINT and still prints its figures."""
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        "--",
        *script_args,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + duration + 120  # wrk stops by itself after `duration`; a backstop
    try:
        while process.poll() is None and time.monotonic() < deadline:
            try:
                process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                if until is not None and _reached(until):
                    process.send_signal(signal.SIGINT)
                    until = None
    finally:
        if process.poll() is None:
            process.kill()  # never leave a load generator behind
    stdout, stderr = process.communicate(timeout=30)
    for line in stdout.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line[len("WRK_JSON ") :])
            return LoadResult(
                requests=data["requests"],
                duration_s=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                max_ms=data["max_us"] / 1000,
                non_2xx=data["status_errors"],
                socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
                wrapped=data["wrapped"],
            )
    raise RuntimeError(f"wrk printed no result:\n{stdout}\n{stderr}")


def _reached(until) -> bool:
    """``until()``, where a failed check (the database briefly unreachable) means not yet."""
    try:
        return bool(until())
    except Exception as exc:  # any failure of a progress check is retried
        say(f"(progress check failed, retrying: {exc})")
        return False


# --- printing ------------------------------------------------------------------------------
def table(headers: list[str], rows: list[list]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
