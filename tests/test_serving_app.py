from __future__ import annotations

import http.client
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import orjson
import pandas as pd
import pytest

from pyproton_ml.errors import ConfigurationError
from pyproton_ml.models.artifact import LoadedModel, discover_models, save_model
from pyproton_ml.models.training import train_classifier
from pyproton_ml.models.types import Argument
from pyproton_ml.serving.server import BackgroundServer, start_background_server

KEY = "test-key-0123456789"
ARGUMENTS = [
    Argument("amount", "float64"),
    Argument("tx_count", "uint64"),
    Argument("merchant_risk", "float64"),
    Argument("is_foreign", "bool"),
    Argument("account_age_days", "int32"),
    Argument("avg_amount_7d", "nullable(float64)"),
]
FEATURES = [argument.name for argument in ARGUMENTS]


class FailingModel:
    """An estimator that raises while scoring, with a message that must not reach the client."""

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        raise RuntimeError("secret internal detail")


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01", periods=rows, freq="min"),
            "amount": rng.gamma(2.0, 50.0, rows),
            "tx_count": rng.integers(0, 30, rows).astype("uint64"),
            "merchant_risk": rng.uniform(0, 1, rows),
            "is_foreign": rng.uniform(0, 1, rows) < 0.2,
            "account_age_days": rng.integers(1, 3000, rows).astype("int32"),
            "avg_amount_7d": rng.gamma(2.0, 50.0, rows),
        }
    )
    logit = -3 + 3 * frame["merchant_risk"] + 1.5 * frame["is_foreign"] + 0.01 * frame["amount"]
    frame["is_fraud"] = (rng.uniform(0, 1, rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def make_request_frame(rows: int) -> pd.DataFrame:
    """Rows to score, with every 7th avg_amount_7d missing (sent as null)."""
    frame = make_frame(rows, seed=1)[FEATURES]
    frame.loc[frame.index % 7 == 0, "avg_amount_7d"] = np.nan
    return frame


def make_body(rows: int, quoted: bool = True) -> bytes:
    frame = make_request_frame(rows)
    counts = frame["tx_count"].tolist()
    document = {
        "amount": frame["amount"].to_numpy(),
        "tx_count": [str(count) for count in counts] if quoted else counts,
        "merchant_risk": frame["merchant_risk"].to_numpy(),
        "is_foreign": frame["is_foreign"].tolist(),
        "account_age_days": frame["account_age_days"].tolist(),
        "avg_amount_7d": frame["avg_amount_7d"].to_numpy(),
    }
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    trained = train_classifier(make_frame(300), FEATURES, "is_fraud", "ts")
    save_model(trained.pipeline, trained.to_metadata("fraud", "1", "fraud_score", ARGUMENTS), directory)
    broken = trained.to_metadata("broken", "1", "broken_score", ARGUMENTS)
    save_model(FailingModel(), broken, directory)
    return directory


@pytest.fixture(scope="module")
def models(models_dir: Path) -> dict[str, LoadedModel]:
    return discover_models(models_dir)


@pytest.fixture(scope="module")
def server(models_dir: Path) -> Iterator[BackgroundServer]:
    background = start_background_server(models_dir, auth_key=KEY, max_body_bytes=16 * 1024 * 1024)
    yield background
    background.stop()


def send(
    server: BackgroundServer,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[int, bytes, dict[str, str]]:
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    sent = {"Content-Type": "application/json", "X-API-Key": KEY, "x-timeplus-query-id": "from-q1"}
    sent.update(headers or {})
    try:
        connection.request(method, path, body=body, headers={k: v for k, v in sent.items() if v is not None})
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@pytest.mark.parametrize("rows", [1, 500, 65409])
def test_udf_result_per_row(server: BackgroundServer, models: dict[str, LoadedModel], rows: int) -> None:
    body = make_body(rows)
    status, reply, headers = send(server, "/udf/fraud_score", body)
    assert status == 200
    assert headers["content-type"] == "application/json"
    document = orjson.loads(reply)
    assert list(document) == ["result"]
    assert len(document["result"]) == rows
    expected = models["fraud_score"].estimator.predict_proba(make_request_frame(rows))[:, 1]
    np.testing.assert_allclose(document["result"], expected)


def test_udf_plain_uint64(server: BackgroundServer) -> None:
    quoted = orjson.loads(send(server, "/udf/fraud_score", make_body(50, quoted=True))[1])
    plain = orjson.loads(send(server, "/udf/fraud_score", make_body(50, quoted=False))[1])
    assert quoted == plain


def replace_column(body: bytes, name: str, values: Any) -> bytes:
    document = orjson.loads(body)
    document[name] = values
    return orjson.dumps(document)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: b"{not json", "Invalid JSON body"),
        (lambda: orjson.dumps({"amount": [1.0]}), r"missing \['tx_count'"),
        (lambda: replace_column(make_body(2), "surprise", [1, 2]), r"unknown \['surprise'\]"),
        (lambda: replace_column(make_body(2), "amount", [1.0, "high"]), "argument 'amount' at row 1: 'high'.*float64"),
        (lambda: replace_column(make_body(2), "amount", [1.0]), "different lengths"),
    ],
)
def test_udf_bad_request(server: BackgroundServer, make: Any, message: str) -> None:
    status, reply, headers = send(server, "/udf/fraud_score", make())
    assert status == 400
    assert headers["content-type"].startswith("text/plain")
    assert re.search(message, reply.decode())


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-API-Key": None}, "Missing X-API-Key header"),
        ({"X-API-Key": "wrong"}, "Wrong key in the X-API-Key header"),
        ({"X-API-Key": KEY + "x"}, "Wrong key"),
    ],
)
def test_udf_auth_rejected(server: BackgroundServer, headers: dict[str, str], message: str) -> None:
    status, reply, response_headers = send(server, "/udf/fraud_score", make_body(1), headers)
    assert status == 401
    assert message in reply.decode()
    assert KEY not in reply.decode()
    assert response_headers["connection"] == "close"


def test_udf_unknown_function(server: BackgroundServer) -> None:
    status, reply, _ = send(server, "/udf/nope", make_body(1))
    assert status == 404
    assert reply.decode() == "Unknown function 'nope'. This server serves: broken_score, fraud_score.\n"


def test_udf_unknown_function_needs_auth(server: BackgroundServer) -> None:
    status, reply, _ = send(server, "/udf/nope", make_body(1), {"X-API-Key": None})
    assert status == 401
    assert b"fraud_score" not in reply


def test_udf_wrong_content_type(server: BackgroundServer) -> None:
    status, reply, _ = send(server, "/udf/fraud_score", make_body(1), {"Content-Type": "text/plain"})
    assert status == 415
    assert "send application/json" in reply.decode()


def test_udf_body_too_large(models_dir: Path) -> None:
    small = start_background_server(models_dir, auth_key=KEY, max_body_bytes=1000)
    try:
        status, reply, _ = send(small, "/udf/fraud_score", make_body(100))
    finally:
        small.stop()
    assert status == 413
    assert "exceeds the limit of 1000 bytes" in reply.decode()


def test_udf_model_failure(server: BackgroundServer, caplog: pytest.LogCaptureFixture) -> None:
    body = make_body(3)
    with caplog.at_level(logging.ERROR, logger="pyproton_ml.serving.app"):
        status, reply, _ = send(server, "/udf/broken_score", body, {"x-timeplus-query-id": "from-q-broken"})
    text = reply.decode()
    assert status == 500
    assert text == "Model 'broken_score' failed to score 3 rows (RuntimeError). See the UDF server log for query id from-q-broken.\n"
    assert "Traceback" not in text
    assert "secret internal detail" not in text
    assert "from-q-broken" in caplog.text
    assert "secret internal detail" in caplog.text


def test_healthz_lists_models(server: BackgroundServer, models: dict[str, LoadedModel]) -> None:
    status, reply, _ = send(server, "/healthz", method="GET", headers={"X-API-Key": None})
    document = orjson.loads(reply)
    assert status == 200
    assert document["status"] == "ok"
    fraud = next(model for model in document["models"] if model["function_name"] == "fraud_score")
    assert fraud == {"function_name": "fraud_score", "name": "fraud", "version": "1", "sha256": models["fraud_score"].metadata.sha256[:12]}


def test_healthz_no_models(tmp_path: Path) -> None:
    empty = start_background_server(tmp_path, auth_key=KEY)
    try:
        status, reply, _ = send(empty, "/healthz", method="GET")
    finally:
        empty.stop()
    assert status == 503
    assert orjson.loads(reply)["models"] == []


def test_metrics_counts(server: BackgroundServer) -> None:
    send(server, "/udf/fraud_score", make_body(4))
    send(server, "/udf/fraud_score", b"{bad")
    status, reply, headers = send(server, "/metrics", method="GET")
    text = reply.decode()
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'pyproton_ml_udf_requests_total{function="fraud_score",status="200"}' in text
    assert 'pyproton_ml_udf_errors_total{function="fraud_score",kind="invalid_json"}' in text
    assert 'pyproton_ml_udf_request_duration_seconds_count{function="fraud_score"}' in text
    assert "# TYPE pyproton_ml_udf_rows_total counter" in text


def test_auth_needs_explicit_opt_out(models_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="no key is set"):
        start_background_server(models_dir)


def test_auth_opt_out_serves(models_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pyproton_ml.serving.app"):
        open_server = start_background_server(models_dir, no_auth=True)
    try:
        status, _, _ = send(open_server, "/udf/fraud_score", make_body(1), {"X-API-Key": None})
    finally:
        open_server.stop()
    assert status == 200
    assert "Authentication is disabled" in caplog.text


def test_key_never_logged(server: BackgroundServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        send(server, "/udf/fraud_score", make_body(1), {"X-API-Key": "wrong-key-value"})
        send(server, "/udf/fraud_score", make_body(1))
    assert KEY not in caplog.text
    assert "wrong-key-value" not in caplog.text
