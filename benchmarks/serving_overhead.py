"""Measure the overhead of HTTP serving against in-process `predict_proba` for the same model.

Run: python benchmarks/serving_overhead.py [--repeats N]

For 1, 500 and 65409 rows (one Proton block at max_block_size), the script times in-process
scoring of a DataFrame and a full HTTP round trip against the real Flask app on 127.0.0.1 under
werkzeug's threaded server. The round trip covers JSONColumns encoding on the client, and
decoding, scoring and encoding on the server. It prints rows/s for both and their ratio, measured in the same run. Numbers
depend on the machine; gunicorn, which `pyproton-ml serve` uses, is not measured here.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import time
from urllib.parse import urlsplit

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


def time_median(action: object, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per case; the median is reported")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as models_dir:
        train(models_dir)
        estimator = discover_models(models_dir)["bench_score"].estimator
        server = start_background_server(models_dir, auth_key=KEY)
        address = urlsplit(server.url)
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        headers = {"Content-Type": "application/json", "X-API-Key": KEY}

        def call(frame: pd.DataFrame) -> None:
            connection.request("POST", "/udf/bench_score", body=encode_request(frame), headers=headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"Server replied {response.status}: {body[:200]!r}")

        try:
            print(f"{'rows':>7} {'in-process rows/s':>18} {'HTTP rows/s':>12} {'HTTP / in-process':>18}")
            for rows in ROW_COUNTS:
                frame = make_frame(rows, seed=2)
                call(frame)  # Warm up the connection and caches.
                local = time_median(lambda: estimator.predict_proba(frame), options.repeats)
                remote = time_median(lambda: call(frame), options.repeats)
                print(f"{rows:>7} {rows / local:>18,.0f} {rows / remote:>12,.0f} {local / remote:>17.1%}")
        finally:
            connection.close()
            server.stop()


if __name__ == "__main__":
    main()
