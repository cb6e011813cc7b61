"""A gunicorn gthread worker that stops waiting for a client that goes silent in the middle of a request."""

from __future__ import annotations

import logging
import socket
import struct
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from pyproton_ml.serving.config import DEFAULT_READ_TIMEOUT_SECONDS

# Before closing, the server reads what the client still sends, because unread bytes make the kernel
# reset the connection and the client can lose the reply. It stops when the client pauses for
# CLOSE_PAUSE_SECONDS, or at the limits of gunicorn's graceful close (gunicorn/util.py close_graceful).
CLOSE_PAUSE_SECONDS = 0.5
CLOSE_LINGER_SECONDS = 2.0
CLOSE_DRAIN_BYTES = 64 * 1024


class ReadTimeoutWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker with a timeout on each read and write while a thread serves a connection.

    gunicorn 27 reads a request on a blocking socket without a timeout (gunicorn/workers/gthread.py),
    so a client that sends part of a request and stops keeps a thread busy for good. `threads` such
    clients stop the worker from serving anyone, /healthz included. With this worker such a
    connection is closed once a read, or a write of the reply, waits `read_timeout` seconds.

    gunicorn also closes a connection gracefully on its main loop (finish_request in gthread.py).
    It waits up to 2 s there for the client to close its side (close_graceful in gunicorn/util.py).
    So each client that never closes stops the worker from accepting connections for that long. This worker
    reads the client's last bytes in the pool thread that served the connection instead, and stops
    as soon as the client pauses.

    Kept-alive connections are unaffected while idle: between requests gunicorn waits for them in
    its poller, not in a thread, and closes them after `keepalive` seconds as before.

    NOTE: the timeout bounds each read, not a whole request, so a client that trickles a byte every
    few seconds still keeps a thread busy. On an untrusted network, put a reverse proxy that buffers
    whole requests in front of the server.
    """

    read_timeout: int = DEFAULT_READ_TIMEOUT_SECONDS

    def init_process(self) -> None:
        logging.getLogger("gunicorn.error").addFilter(_ReadTimeoutLogFilter(self.read_timeout))
        super().init_process()

    def handle(self, conn: Any) -> Any:
        set_socket_timeouts(conn.sock, self.read_timeout)
        keep_alive = super().handle(conn)
        if not keep_alive:
            linger_before_close(conn.sock)
        return keep_alive


def worker_class(read_timeout: int) -> type[ReadTimeoutWorker]:
    """Return a `ReadTimeoutWorker` subclass with `read_timeout`, for gunicorn's `worker_class` setting."""
    return type(ReadTimeoutWorker.__name__, (ReadTimeoutWorker,), {"read_timeout": read_timeout})


def set_socket_timeouts(sock: socket.socket, seconds: int) -> None:
    """Make each blocking recv and send on `sock` fail after `seconds` without progress.

    gunicorn's `handle` calls `sock.setblocking(True)` before it reads, which clears a timeout set
    with `settimeout`. The kernel's SO_RCVTIMEO and SO_SNDTIMEO survive that call, and a read that
    times out raises BlockingIOError (EAGAIN).
    """
    interval = struct.pack("@ll", seconds, 0)  # struct timeval: seconds, microseconds
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)


def linger_before_close(sock: socket.socket) -> None:
    """Send FIN and read what the client is still sending, then shut the read side too.

    The read side is shut so that gunicorn's graceful close, which follows on the main loop, finds
    end-of-file at once instead of waiting for the client.
    """
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + CLOSE_LINGER_SECONDS
        drained = 0
        while drained < CLOSE_DRAIN_BYTES and (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(min(CLOSE_PAUSE_SECONDS, remaining))
            data = sock.recv(CLOSE_DRAIN_BYTES)
            if not data:
                break
            drained += len(data)
    except OSError:
        pass  # The client paused (a timeout) or is gone, so there is nothing left to wait for.
    finally:
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass


class _ReadTimeoutLogFilter(logging.Filter):
    """A log filter that turns gunicorn's traceback for a connection that timed out into one warning line.

    gunicorn logs any unexpected socket error of a request with `log.exception`. On a blocking
    socket, only a SO_RCVTIMEO or SO_SNDTIMEO timeout raises BlockingIOError.
    """

    def __init__(self, seconds: int) -> None:
        super().__init__()
        self._seconds = seconds

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], BlockingIOError):
            record.msg = (
                "Closed a connection that timed out: the client sent or read nothing for %d s "
                "in the middle of a request (PYPROTON_ML_READ_TIMEOUT)"
            )
            record.args = (self._seconds,)
            record.exc_info = None
            record.exc_text = None
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        return True
