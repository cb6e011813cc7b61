"""Hostile input to the UDF server's settings, codec and app: each case pins how one bad input is rejected.

Slow and stalled clients need a real gunicorn server; their tests are in test_serving_gunicorn.py.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from pyproton_ml.errors import ConfigurationError, InputDataError
from pyproton_ml.models.artifact import save_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.types import Argument, parse_type
from pyproton_ml.serving._text import shown
from pyproton_ml.serving.app import MAX_ERROR_BODY
from pyproton_ml.serving.codec import check_columns, decode_column
from pyproton_ml.serving.config import ServingConfig, build_config
from pyproton_ml.serving.server import BackgroundServer, start_background_server

KEY = "serving-hostile-key-8c1f"
# The argument names of the example model fraud_score.
FRAUD_ARGUMENTS = [
    "amount",
    "amount_missing",
    "merchant_category_code",
    "hour_of_day",
    "card_txn_count_10m",
    "card_amount_mean_10m",
    "card_amount_max_10m",
    "amount_to_card_mean",
    "merchant_risk_score",
]
TIME_RANGE = "1677-09-21 00:12:43.145224193 to 2262-04-11 23:47:16.854775807"


class ConstantModel:
    """A classifier that scores every row 0.25, so that the tests need no training."""

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        return np.tile([0.75, 0.25], (len(frame), 1))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    models_dir = tmp_path_factory.mktemp("models")
    arguments = [Argument(name, "uint64" if name == "card_txn_count_10m" else "float64") for name in FRAUD_ARGUMENTS]
    save_model(ConstantModel(), ModelMetadata("fraud", "1", "fraud_score", arguments), models_dir)
    background = start_background_server(models_dir, auth_key=KEY)
    yield background
    background.stop()


def send(
    server: BackgroundServer, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json", "X-API-Key": KEY, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read().decode(), {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()


def fraud_body(**override: Any) -> bytes:
    columns: dict[str, Any] = {name: [1.0] for name in FRAUD_ARGUMENTS}
    columns["card_txn_count_10m"] = ["2"]
    columns.update(override)
    return orjson.dumps(columns)


# Keys that an HTTP client cannot deliver unchanged: header values arrive as Latin-1, with the
# spaces around them stripped.
UNMATCHABLE_KEYS = ["ключ", "clé-Zq7", " Zq7-key ", "Zq7-key ", " Zq7-key", "\tZq7-key", "Zq7-key\t", "Zq7\x7fkey", "Zq7\x01key", "Zq7-key\u00a0"]


@pytest.mark.parametrize("key", UNMATCHABLE_KEYS)
def test_config_rejects_unmatchable_key_from_environment(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigurationError, match="must be printable ASCII without leading or trailing whitespace") as raised:
        build_config(tmp_path, environ={"PYPROTON_ML_AUTH_KEY": key})
    assert "PYPROTON_ML_AUTH_KEY" in str(raised.value)
    assert key.strip() not in str(raised.value)


@pytest.mark.parametrize("key", UNMATCHABLE_KEYS)
def test_config_rejects_unmatchable_key_from_file(tmp_path: Path, key: str) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(key + "\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="must be printable ASCII without leading or trailing whitespace") as raised:
        build_config(tmp_path, auth_key_file=key_file, environ={})
    assert "the key file" in str(raised.value)
    assert key.strip() not in str(raised.value)


@pytest.mark.parametrize("key", UNMATCHABLE_KEYS)
def test_config_rejects_unmatchable_key_argument(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigurationError, match="the auth_key argument must be printable ASCII") as raised:
        ServingConfig(models_dir=tmp_path, auth_key=key)
    assert key.strip() not in str(raised.value)


@pytest.mark.parametrize("key", ["k", "a b", "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", "0" * 200])
def test_config_accepts_printable_ascii_key(tmp_path: Path, key: str) -> None:
    assert build_config(tmp_path, environ={"PYPROTON_ML_AUTH_KEY": key}).auth_key == key


@pytest.mark.parametrize(
    ("arguments", "environ", "message"),
    [
        ({"max_body_bytes": -5}, {}, "Invalid max_body_bytes -5 (PYPROTON_ML_MAX_BODY_BYTES); it must be an integer of at least 1."),
        ({"port": 70000}, {}, "Invalid port 70000 (PYPROTON_ML_PORT); it must be an integer from 0 to 65535."),
        ({"port": -1}, {}, "Invalid port -1 (PYPROTON_ML_PORT); it must be an integer from 0 to 65535."),
        ({"workers": 0}, {}, "Invalid workers 0 (PYPROTON_ML_WORKERS); it must be an integer of at least 1."),
        ({"threads": True}, {}, "Invalid threads True (PYPROTON_ML_THREADS); it must be an integer of at least 1."),
        ({"worker_timeout": 0}, {}, "Invalid worker_timeout 0 (PYPROTON_ML_WORKER_TIMEOUT); it must be an integer of at least 1."),
        ({"keepalive": 0}, {}, "Invalid keepalive 0 (PYPROTON_ML_KEEPALIVE); it must be an integer of at least 1."),
        ({"read_timeout": 0}, {}, "Invalid read_timeout 0 (PYPROTON_ML_READ_TIMEOUT); it must be an integer of at least 1."),
        ({}, {"PYPROTON_ML_MAX_BODY_BYTES": "-5"}, "Invalid max_body_bytes -5 (PYPROTON_ML_MAX_BODY_BYTES)"),
        ({}, {"PYPROTON_ML_READ_TIMEOUT": "soon"}, "Invalid PYPROTON_ML_READ_TIMEOUT='soon'; it must be an integer of at least 1."),
        ({}, {"PYPROTON_ML_PORT": "80_00"}, "Invalid PYPROTON_ML_PORT='80_00'; it must be an integer from 0 to 65535."),
        ({}, {"PYPROTON_ML_THREADS": "٤"}, "Invalid PYPROTON_ML_THREADS='٤'; it must be an integer of at least 1."),
        ({}, {"PYPROTON_ML_WORKERS": "x" * 100}, "Invalid PYPROTON_ML_WORKERS='" + "x" * 35 + "...';"),
        ({}, {"PYPROTON_ML_AUTH_HEADER": "X-API-Key\n"}, "Invalid auth header name 'X-API-Key\\n' (PYPROTON_ML_AUTH_HEADER)"),
    ],
)
def test_config_errors_name_variable_and_range(
    tmp_path: Path, arguments: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        build_config(tmp_path, **arguments, environ={"PYPROTON_ML_AUTH_KEY": KEY, **environ})
    assert message in str(raised.value)


@pytest.mark.parametrize(("text", "expected"), [(" 8001 ", 8001), ("+8002", 8002)])
def test_config_accepts_ascii_integers(tmp_path: Path, text: str, expected: int) -> None:
    assert build_config(tmp_path, environ={"PYPROTON_ML_AUTH_KEY": KEY, "PYPROTON_ML_PORT": text}).port == expected


def test_config_read_timeout_default_and_environment(tmp_path: Path) -> None:
    assert build_config(tmp_path, environ={"PYPROTON_ML_AUTH_KEY": KEY}).read_timeout == 10
    assert build_config(tmp_path, environ={"PYPROTON_ML_AUTH_KEY": KEY, "PYPROTON_ML_READ_TIMEOUT": "5"}).read_timeout == 5
    assert build_config(tmp_path, read_timeout=9, environ={"PYPROTON_ML_AUTH_KEY": KEY, "PYPROTON_ML_READ_TIMEOUT": "5"}).read_timeout == 9


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("a" * 100, 20, "'aaaaaaaaaaaaaaa...'"),
        ("\x00" * 100, 20, "'\\x00\\x00\\x00...'"),
        ("short", 20, "'short'"),
        (list(range(100)), 20, "[0, 1, 2, 3, 4, 5..."),
    ],
)
def test_shown_keeps_closing_quote(value: Any, limit: int, expected: str) -> None:
    assert shown(value, limit) == expected
    assert len(shown(value, limit)) <= limit


def test_codec_misnamed_arguments_message_fits() -> None:
    arguments = [Argument(name, "float64") for name in FRAUD_ARGUMENTS]
    with pytest.raises(InputDataError) as raised:
        check_columns({"f_" + name: [1.0] for name in FRAUD_ARGUMENTS}, arguments, "fraud_score")
    message = str(raised.value)
    assert len(message) <= MAX_ERROR_BODY
    assert message.startswith(
        "Arguments of 'fraud_score' do not match the model: unknown ['f_amount', 'f_amount_missing', "
        "'f_merchant_category_code', 'f_hour_of_day'] and 5 more; missing ['amount', 'amount_missing', "
        "'merchant_category_code', 'hour_of_day'] and 5 more. Register the function with the model's argument names"
    )


def test_codec_mismatch_fits_long_names() -> None:
    arguments = [Argument(f"{'a' * 60}{index}", "float64") for index in range(120)]
    document = {f"{'b' * 5000}{index}": [1] for index in range(100000)}
    with pytest.raises(InputDataError) as raised:
        check_columns(document, arguments, "f" * 500)
    message = str(raised.value)
    assert len(message) <= MAX_ERROR_BODY
    assert "and 99998 more; missing" in message
    assert message.endswith("(`pyproton-ml register` does this).")


def test_udf_misnamed_arguments_reply_not_cut(server: BackgroundServer) -> None:
    body = orjson.dumps({"f_" + name: [1.0] for name in FRAUD_ARGUMENTS})
    status, reply, _ = send(server, "POST", "/udf/fraud_score", body)
    assert status == 400
    assert "unknown ['f_amount'" in reply
    assert "missing ['amount'" in reply
    assert reply.endswith("(`pyproton-ml register` does this).\n")


@pytest.mark.parametrize(
    ("type_name", "values", "row"),
    [
        ("datetime64(3)", ["2500-01-01 00:00:00.000"], 0),
        ("date", ["1500-01-01"], 0),
        ("date", ["0001-01-01"], 0),
        ("datetime", ["2300-01-01 00:00:00"], 0),
        ("datetime", ["2262-04-11 23:47:16", "2262-04-11 23:47:17"], 1),
        ("nullable(datetime)", ["2020-01-01 00:00:00", None, "1677-09-21 00:12:43"], 2),
        ("datetime64(9)", ["2262-04-11 23:47:16.854775808"], 0),
        ("datetime64(9)", ["1677-09-21 00:12:43.145224192"], 0),
    ],
)
def test_codec_rejects_times_outside_range(type_name: str, values: list[Any], row: int) -> None:
    expected = f"argument 'when' at row {row}: {values[row]!r} is outside {TIME_RANGE}, the range that the server decodes {type_name} into"
    with pytest.raises(InputDataError, match=re.escape(expected)):
        decode_column("when", values, parse_type(type_name))


def test_codec_rejects_array_time_outside_range() -> None:
    with pytest.raises(InputDataError, match=re.escape(f"In row 1: Invalid value for argument 'when' at row 0: '3000-01-01' is outside {TIME_RANGE}")):
        decode_column("when", [["2020-01-01"], ["3000-01-01"]], parse_type("array(date)"))


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("datetime", "2262-04-11 23:47:16"),
        ("datetime", "1677-09-21 00:12:44"),
        ("date", "1677-09-22"),
        ("date", "2262-04-11"),
        ("datetime64(9)", "2262-04-11 23:47:16.854775807"),
        ("datetime64(3)", "1970-01-01 00:00:00.001"),
    ],
)
def test_codec_decodes_times_at_range_edges(type_name: str, value: str) -> None:
    decoded = decode_column("when", [value], parse_type(type_name))
    assert decoded.dtype == np.dtype("datetime64[ns]")
    assert pd.Timestamp(decoded[0]) == pd.Timestamp(value)


@pytest.mark.parametrize(
    ("type_name", "literal", "message"),
    [
        ("uint64", b"18446744073709551616", r"row 0: 1.8446744073709552e\+19 \(outside \[0, 18446744073709551615\]\)"),
        ("uint64", b"-9223372036854775809", r"row 0: -9.223372036854776e\+18 \(outside \[0, 18446744073709551615\]\)"),
        ("int64", b"99999999999999999999", r"row 0: 1e\+20 \(outside \[-9223372036854775808, 9223372036854775807\]\)"),
        ("int8", b"300.0", r"row 0: 300.0 \(outside \[-128, 127\]\)"),
        ("int64", b"2.0", r"row 0: 2.0\. Expected Proton type int64"),
        ("int32", b"1.5", r"row 0: 1.5\. Expected Proton type int32"),
    ],
)
def test_codec_bare_integer_out_of_range(type_name: str, literal: bytes, message: str) -> None:
    # orjson reads an integer literal beyond 64 bits as a float.
    values = orjson.loads(b"[" + literal + b"]")
    with pytest.raises(InputDataError, match=message):
        decode_column("count", values, parse_type(type_name))


def test_udf_bare_integer_out_of_range(server: BackgroundServer) -> None:
    body = fraud_body().replace(b'["2"]', b"[18446744073709551616]")
    status, reply, _ = send(server, "POST", "/udf/fraud_score", body)
    assert status == 400
    assert "'card_txn_count_10m' at row 0: 1.8446744073709552e+19 (outside [0, 18446744073709551615])" in reply


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/udf/fraud_score", "POST"), ("PUT", "/udf/fraud_score", "POST"), ("POST", "/healthz", "GET"), ("DELETE", "/metrics", "GET")],
)
def test_udf_405_names_allowed_methods(server: BackgroundServer, method: str, path: str, allowed: str) -> None:
    status, reply, headers = send(server, method, path)
    assert status == 405
    assert allowed in [method.strip() for method in headers["allow"].split(",")]
    assert headers["content-type"].startswith("text/plain")
    assert reply.startswith("Method Not Allowed")


@pytest.mark.parametrize(
    ("content_type", "shown_type"),
    [("a" * 5000, "'" + "a" * 55 + "...'"), ("text/plain", "'text/plain'"), ("", "''")],
)
def test_udf_415_shows_content_type(server: BackgroundServer, content_type: str, shown_type: str) -> None:
    status, reply, _ = send(server, "POST", "/udf/fraud_score", fraud_body(), {"Content-Type": content_type})
    assert status == 415
    assert reply == f"Unsupported content type {shown_type}; send application/json.\n"
