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

import numpy as np
import orjson
import pytest
from sklearn.dummy import DummyClassifier

from pyproton_ml.models.artifact import save_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.types import Argument

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


def start_server(models_dir: Path, workers: int) -> tuple[subprocess.Popen[bytes], int]:
    """Start the gunicorn server in a subprocess and wait until it accepts connections."""
    port = free_port()
    env = {**os.environ, "PYPROTON_ML_AUTH_KEY": KEY, "PYPROTON_ML_WORKERS": str(workers)}
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(models_dir), str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
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
    return stderr.decode()


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def gunicorn_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    estimator = DummyClassifier(strategy="prior").fit(np.zeros((4, 1)), [0, 1, 1, 1])
    metadata = ModelMetadata(name="m", version="1", function_name="m_score", arguments=[Argument("x", "float64")])
    save_model(estimator, metadata, tmp_path)
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
