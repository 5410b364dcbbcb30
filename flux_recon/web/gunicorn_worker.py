"""gunicorn's threaded worker with a time limit per request, so no peer keeps a thread for good."""

from __future__ import annotations

import socket
import threading
import time

from gunicorn.workers.gthread import ThreadWorker


class DeadlineThreadWorker(ThreadWorker):
    """gthread, plus: a request still in its thread ``timeout`` seconds after it got there
    (headers, body, the app and the answer, all in) has its connection cut.

    Threads are what let a slow client tie up one thread instead of a whole worker, but a
    thread blocked on a peer that trickles bytes, or stops sending without closing, would
    wait for ever: gunicorn only bounds the wait for a request's first byte. A sync worker
    stuck that way is killed after ``timeout``; this keeps the same bound per connection.
    """

    def init_process(self):
        self._in_flight: dict[int, tuple[float, object]] = {}
        self._in_flight_lock = threading.Lock()
        super().init_process()

    def handle(self, conn):
        # Runs in a pool thread.
        key = id(conn)
        with self._in_flight_lock:
            self._in_flight[key] = (time.monotonic() + self.cfg.timeout, conn)
        try:
            return super().handle(conn)
        finally:
            with self._in_flight_lock:
                self._in_flight.pop(key, None)

    def murder_pending(self):
        # Called by the main loop at least once a second, next to gunicorn's own timeouts.
        super().murder_pending()
        now = time.monotonic()
        with self._in_flight_lock:
            overdue = [conn for deadline, conn in self._in_flight.values() if deadline <= now]
        for conn in overdue:
            try:
                # The plain socket's shutdown (also under TLS): the read or write blocked in
                # the request's thread returns at once, and the connection is then closed.
                # conn.sock is read now: TLS replaces the socket object as the request starts.
                socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)
            except OSError:
                pass  # closed meanwhile
