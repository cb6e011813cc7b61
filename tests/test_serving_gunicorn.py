from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
import orjson
import pytest
from sklearn.dummy import DummyClassifier

from pyproton_ml.models.artifact import save_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.types import Argument
from pyproton_ml.serving.worker import CLOSE_PAUSE_SECONDS

KEY = "gunicorn-test-key"
SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from pyproton_ml.serving import build_config, serve
serve(build_config(models_dir=sys.argv[1], port=int(sys.argv[2])))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json", "X-API-Key": KEY})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def start_server(
    models_dir: Path, workers: int, settings: dict[str, str] | None = None, log: IO[bytes] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the gunicorn server in a subprocess and wait until it accepts connections.

    `settings` adds PYPROTON_ML_* variables; `log` receives the server's stderr instead of a pipe.
    """
    port = free_port()
    env = {**os.environ, "PYPROTON_ML_AUTH_KEY": KEY, "PYPROTON_ML_WORKERS": str(workers), **(settings or {})}
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(models_dir), str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if log is None else log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request(port, "GET", "/healthz")
            break
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    return process, port


def stop_server(process: subprocess.Popen[bytes]) -> str:
    """Send SIGTERM and return the server's log once it exits."""
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    return stderr.decode() if stderr is not None else ""


def save_test_model(models_dir: Path) -> None:
    estimator = DummyClassifier(strategy="prior").fit(np.zeros((4, 1)), [0, 1, 1, 1])
    metadata = ModelMetadata(name="m", version="1", function_name="m_score", arguments=[Argument("x", "float64")])
    save_model(estimator, metadata, models_dir)


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def gunicorn_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    save_test_model(tmp_path)
    process, port = start_server(tmp_path, workers=request.param)
    yield process, port
    if process.poll() is None:
        process.kill()
        process.wait()


def test_gunicorn_serves_and_stops(gunicorn_server: tuple[subprocess.Popen[bytes], int]) -> None:
    process, port = gunicorn_server
    status, body = request(port, "POST", "/udf/m_score", orjson.dumps({"x": [1.0, None]}))
    assert status == 200
    assert orjson.loads(body) == {"result": [0.75, 0.75]}

    log = stop_server(process)
    assert process.returncode == 0
    assert "Starting UDF server on 127.0.0.1" in log
    assert "m_score v1" in log
    assert log.count("Stopped UDF server") == 1, "only the arbiter reports the stop, not each worker"
    assert KEY not in log


def test_gunicorn_warns_without_models(tmp_path: Path) -> None:
    process, port = start_server(tmp_path, workers=1)
    try:
        status, _ = request(port, "GET", "/healthz")
    finally:
        log = stop_server(process)

    assert status == 503
    assert "WARNING" in log
    assert f"No models found in {tmp_path}" in log
    assert "pyproton-ml example train --models-dir" in log


# A server with fewer threads than the tests open stalled connections, and a short read timeout.
READ_TIMEOUT = 1
THREADS = 2
STALLED = 3 * THREADS
PARTIAL_REQUESTS = {
    "headers": b"POST /udf/m_score HTTP/1.1\r\nHost: x\r\n",
    "body": (
        f"POST /udf/m_score HTTP/1.1\r\nHost: x\r\nX-API-Key: {KEY}\r\nContent-Type: application/json\r\n"
        'Content-Length: 100\r\n\r\n{"x": [1'
    ).encode(),
    # Complete, but the client neither reads the reply nor closes the connection.
    "never-closed": b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
}
# How long one stalled connection keeps a thread busy: the read timeout, then a pause before closing.
HOLD_SECONDS = {"headers": READ_TIMEOUT + CLOSE_PAUSE_SECONDS, "body": READ_TIMEOUT + CLOSE_PAUSE_SECONDS, "never-closed": CLOSE_PAUSE_SECONDS}


@pytest.fixture(scope="module")
def slow_client_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """One gunicorn worker with THREADS threads and READ_TIMEOUT; yields its port and log file."""
    models_dir = tmp_path_factory.mktemp("models")
    save_test_model(models_dir)
    log_path = models_dir.parent / "server.log"
    with log_path.open("wb") as log:
        settings = {"PYPROTON_ML_THREADS": str(THREADS), "PYPROTON_ML_READ_TIMEOUT": str(READ_TIMEOUT)}
        process, port = start_server(models_dir, workers=1, settings=settings, log=log)
        try:
            yield port, log_path
        finally:
            stop_server(process)


def read_until_closed(connection: socket.socket) -> bytes:
    reply = b""
    while chunk := connection.recv(65536):
        reply += chunk
    return reply


@pytest.mark.parametrize("stalled_part", sorted(PARTIAL_REQUESTS))
def test_gunicorn_stalled_clients_release_threads(slow_client_server: tuple[int, Path], stalled_part: str) -> None:
    port, _ = slow_client_server
    stalled = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(STALLED)]
    try:
        for connection in stalled:
            connection.sendall(PARTIAL_REQUESTS[stalled_part])
        time.sleep(0.5)
        started = time.monotonic()
        status, _ = request(port, "GET", "/healthz")
        waited = time.monotonic() - started
        replies = [read_until_closed(connection) for connection in stalled]
    finally:
        for connection in stalled:
            connection.close()

    # /healthz waits behind the stalled connections, THREADS of them at a time.
    assert status == 200
    assert waited < HOLD_SECONDS[stalled_part] * STALLED / THREADS + 3
    expected_start = {"headers": b"", "body": b"HTTP/1.1 408", "never-closed": b"HTTP/1.1 200"}[stalled_part]
    assert all(reply.startswith(expected_start) for reply in replies)


def test_gunicorn_read_timeout_messages(slow_client_server: tuple[int, Path]) -> None:
    port, log_path = slow_client_server
    for part in ("headers", "body"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(PARTIAL_REQUESTS[part])
            reply = read_until_closed(connection)
    assert reply.endswith(
        b"Reading the request body failed: it timed out after 1 s without data (PYPROTON_ML_READ_TIMEOUT), "
        b"or the connection broke. Send the whole body without pauses.\n"
    )
    log = log_path.read_text()
    assert "[WARNING] Closed a connection that timed out: the client sent or read nothing for 1 s" in log
    assert "Traceback" not in log


def test_gunicorn_keep_alive_outlives_read_timeout(slow_client_server: tuple[int, Path]) -> None:
    port, _ = slow_client_server
    body = orjson.dumps({"x": [1.0]})
    headers = {"Content-Type": "application/json", "X-API-Key": KEY}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    addresses = []
    try:
        for pause in (READ_TIMEOUT * 2.5, 0):
            connection.request("POST", "/udf/m_score", body=body, headers=headers)
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b'{"result":[0.75]}')
            assert connection.sock is not None
            addresses.append(connection.sock.getsockname())
            time.sleep(pause)
    finally:
        connection.close()
    assert addresses[0] == addresses[1], "the idle connection was closed and reopened"


def test_gunicorn_half_sent_body(slow_client_server: tuple[int, Path]) -> None:
    port, _ = slow_client_server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(PARTIAL_REQUESTS["body"])
        connection.shutdown(socket.SHUT_WR)
        reply = read_until_closed(connection)
    assert reply.startswith(b"HTTP/1.1 400")
    assert reply.endswith(b"The request body ended after 8 of the 100 bytes that Content-Length announced. Send the whole body.\n")


@pytest.mark.parametrize(
    "chunks",
    [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcXX0\r\n\r\n"],
    ids=["bad-chunk-size", "missing-terminator"],
)
def test_gunicorn_malformed_chunks_get_400(slow_client_server: tuple[int, Path], chunks: bytes) -> None:
    """A broken chunked body is the client's fault: 400 and one log line, not a 500 with a traceback."""
    port, log_path = slow_client_server
    head = (
        f"POST /udf/m_score HTTP/1.1\r\nHost: x\r\nX-API-Key: {KEY}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head + chunks)
        connection.shutdown(socket.SHUT_WR)
        reply = read_until_closed(connection)

    assert reply.startswith(b"HTTP/1.1 400"), reply[:200]
    assert b"The request body is not valid HTTP framing" in reply
    assert "Traceback" not in log_path.read_text()
