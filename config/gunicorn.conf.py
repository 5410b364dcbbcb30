"""gunicorn settings for flux-recon: `gunicorn -c config/gunicorn.conf.py wsgi:app`.

Every value can be overridden by an environment variable named here.
"""

import multiprocessing
import os
import re

from gunicorn.glogging import Logger

from flux_recon.web.settings import configured, default_workers

bind = os.environ.get("FLUX_RECON_BIND", "127.0.0.1:8000")
# Default: 2 x cores + 1 on PostgreSQL, as many as cores (at least 2) on SQLite.
workers = int(
    os.environ.get("FLUX_RECON_WORKERS") or default_workers(configured("DATABASE_URL"), multiprocessing.cpu_count())
)
# Threads per worker: a client that sends its request slowly (one byte a second) ties up one
# thread, not a whole worker, so a few of them cannot hold up a provider's webhook or
# /healthz. Many slow clients still can: in front of untrusted clients put a proxy that
# buffers whole requests (docs/operations.md). FLUX_RECON_THREADS=1 gives sync workers.
threads = int(os.environ.get("FLUX_RECON_THREADS", 4))
# gthread with a per-request time limit (`timeout`, below): gthread alone would let a peer
# that stalls mid-request keep its thread for good.
worker_class = "flux_recon.web.gunicorn_worker.DeadlineThreadWorker" if threads > 1 else "sync"
# Providers give up (and retry, doubling load) after a few seconds: never hold one longer.
# A request still running after this long has its connection cut (its worker killed, with
# sync workers).
timeout = int(os.environ.get("FLUX_RECON_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# Bound the request line and headers; the body limit is MAX_CONTENT_LENGTH in the app.
limit_request_line = 8190
limit_request_fields = 100
# The app writes one JSON line per request itself (with its request id); gunicorn's own
# access log is off unless asked for ("-" = stdout).
accesslog = os.environ.get("FLUX_RECON_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("FLUX_RECON_LOG_LEVEL", "info")
# gunicorn 27 opens a control socket in $HOME by default; nothing here uses it, and two
# instances on one machine would contend for the same path.
control_socket_disable = True
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# The webhook token in the URL works like a password: keep only its first characters.
_TOKEN_IN_PATH = re.compile(r"(/webhooks/[^/\s]+/)([^/\s?]{4})[^/\s?]*")


class RedactingLogger(Logger):
    """Access log with webhook tokens cut short, so the log never holds a usable URL."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if isinstance(atoms.get(key), str):
                atoms[key] = _TOKEN_IN_PATH.sub(r"\g<1>\g<2>…", atoms[key])
        return atoms


logger_class = RedactingLogger


# Prometheus counters from every worker are summed through files in this directory; it is
# made fresh for each server start, and a dead worker's live gauges are dropped.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="flux-recon-metrics-")


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
