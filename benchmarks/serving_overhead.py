"""Measure the overhead of HTTP serving against in-process `predict_proba` for the same model.

Run: python benchmarks/serving_overhead.py [--repeats N]

For 1, 500 and 65409 rows (one Proton block at max_block_size), the script times in-process
scoring of a DataFrame and a full HTTP round trip against the real Flask app on 127.0.0.1.
The app runs twice: under werkzeug's threaded server, as the embedded demo runs it, and under
gunicorn with one worker, as `pyproton-ml serve` runs it. The round trip covers JSONColumns
encoding on the client, and decoding, scoring and encoding on the server. Each case is warmed up, then the
three variants run in turn, `--repeats` times, so that a noisy neighbour slows all of them
alike. It prints the median rows/s of each and their ratios to in-process scoring.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import orjson
import pandas as pd

from pyproton_ml.models.artifact import discover_models, save_model
from pyproton_ml.models.training import train_classifier
from pyproton_ml.models.types import Argument
from pyproton_ml.serving.server import start_background_server

KEY = "benchmark-key"
ARGUMENTS = [Argument(f"f{index}", "float64") for index in range(9)] + [Argument("count", "uint64")]
FEATURES = [argument.name for argument in ARGUMENTS]
ROW_COUNTS = (1, 500, 65409)


def make_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"f{index}": rng.normal(size=rows) for index in range(9)})
    frame["count"] = rng.integers(0, 100, rows).astype("uint64")
    return frame


def train(models_dir: str) -> None:
    frame = make_frame(2000, seed=0)
    frame["ts"] = pd.date_range("2024-01-01", periods=len(frame), freq="min")
    noise = np.random.default_rng(1).normal(size=len(frame))
    frame["label"] = (frame["f0"] + frame["f1"] + noise > 1).astype(int)
    trained = train_classifier(frame, FEATURES, "label", "ts")
    save_model(trained.pipeline, trained.to_metadata("bench", "1", "bench_score", ARGUMENTS), models_dir)


def encode_request(frame: pd.DataFrame) -> bytes:
    columns = {name: frame[name].to_numpy() for name in FEATURES if name != "count"}
    columns["count"] = [str(value) for value in frame["count"].tolist()]
    return orjson.dumps(columns, option=orjson.OPT_SERIALIZE_NUMPY)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn_server(models_dir: str) -> Iterator[int]:
    """Run `pyproton-ml serve` (gunicorn, one worker) in a subprocess and yield its port."""
    port = free_port()
    environment = {**os.environ, "PYPROTON_ML_AUTH_KEY": KEY}
    command = [sys.executable, "-m", "pyproton_ml.cli", "serve", "--models", models_dir, "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not start on port {port} (exit code {process.poll()})") from None
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=60)


class UdfCaller:
    """Caller that posts one block per call to a UDF over a kept-alive connection, as Proton does."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Content-Type": "application/json", "X-API-Key": KEY}

    def __call__(self, frame: pd.DataFrame) -> None:
        self.connection.request("POST", "/udf/bench_score", body=encode_request(frame), headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"Server replied {response.status}: {body[:200]!r}")

    def close(self) -> None:
        self.connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per case and variant; the median is reported")
    parser.add_argument("--warmups", type=int, default=3, help="untimed runs per case and variant before timing")
    options = parser.parse_args()
    if options.repeats < 1 or options.warmups < 0:
        parser.error("--repeats must be at least 1 and --warmups at least 0")

    with tempfile.TemporaryDirectory() as models_dir:
        train(models_dir)
        estimator = discover_models(models_dir)["bench_score"].estimator
        werkzeug = start_background_server(models_dir, auth_key=KEY)
        with gunicorn_server(models_dir) as gunicorn_port:
            callers = {"werkzeug": UdfCaller(werkzeug.port), "gunicorn": UdfCaller(gunicorn_port)}
            try:
                print(
                    f"{'rows':>7} {'in-process rows/s':>18} {'werkzeug rows/s':>16} {'gunicorn rows/s':>16}"
                    f" {'werkzeug / in-process':>22} {'gunicorn / in-process':>22}"
                )
                for rows in ROW_COUNTS:
                    frame = make_frame(rows, seed=2)
                    variants: dict[str, Callable[[], object]] = {
                        "in-process": lambda: estimator.predict_proba(frame),
                        **{name: (lambda caller=caller: caller(frame)) for name, caller in callers.items()},
                    }
                    for action in variants.values():
                        for _ in range(options.warmups):
                            action()
                    timings: dict[str, list[float]] = {name: [] for name in variants}
                    for _ in range(options.repeats):
                        for name, action in variants.items():
                            timings[name].append(timed(action))
                    median = {name: statistics.median(values) for name, values in timings.items()}
                    local = median["in-process"]
                    print(
                        f"{rows:>7} {rows / local:>18,.0f} {rows / median['werkzeug']:>16,.0f} {rows / median['gunicorn']:>16,.0f}"
                        f" {local / median['werkzeug']:>21.1%} {local / median['gunicorn']:>21.1%}"
                    )
            finally:
                for caller in callers.values():
                    caller.close()
                werkzeug.stop()


if __name__ == "__main__":
    main()
