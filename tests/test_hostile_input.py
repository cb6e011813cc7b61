"""Hostile and malformed input at every entry point: each case pins how one bad input is rejected."""

from __future__ import annotations

import http.client
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from pyproton_ml.errors import ConfigurationError, FeatureDefinitionError, InputDataError, ModelArtifactError
from pyproton_ml.examples.fraud.loading import conform_table
from pyproton_ml.features.types import parse_type as parse_feature_type
from pyproton_ml.models.artifact import discover_metadata, save_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.types import Argument
from pyproton_ml.models.types import parse_type as parse_argument_type
from pyproton_ml.serving.codec import decode_column
from pyproton_ml.serving.config import build_config
from pyproton_ml.serving.server import BackgroundServer, start_background_server

KEY = "hostile-key-5f1e2d"
ARGUMENTS = [Argument("amount", "float64"), Argument("count", "uint64"), Argument("flag", "bool")]
SHA = "0" * 64


class ConstantModel:
    """A classifier that scores every row 0.25, so that the tests need no training."""

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        return np.tile([0.75, 0.25], (len(frame), 1))


def good_columns(**override: Any) -> dict[str, Any]:
    columns: dict[str, Any] = {"amount": [1.5], "count": ["3"], "flag": [True]}
    columns.update(override)
    return columns


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    models_dir = tmp_path_factory.mktemp("models")
    save_model(ConstantModel(), ModelMetadata("constant", "1", "constant_score", ARGUMENTS), models_dir)
    background = start_background_server(models_dir, auth_key=KEY, max_body_bytes=64 * 1024)
    yield background
    background.stop()


def post(server: BackgroundServer, body: bytes) -> tuple[int, str]:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    headers = {"Content-Type": "application/json", "X-API-Key": KEY}
    try:
        connection.request("POST", "/udf/constant_score", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def post_chunked(server: BackgroundServer, body: bytes) -> bytes:
    request = (
        "POST /udf/constant_score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"X-API-Key: {KEY}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((server.host, server.port), timeout=30) as connection:
        connection.sendall(request + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        connection.shutdown(socket.SHUT_WR)
        reply = b""
        # Read up to the end of the body that Content-Length announces: the server may keep the
        # connection open while it drains the rest of an oversized request.
        while not _is_complete(reply):
            chunk = connection.recv(65536)
            if not chunk:
                break
            reply += chunk
    return reply


def _is_complete(reply: bytes) -> bool:
    head, separator, body = reply.partition(b"\r\n\r\n")
    if not separator:
        return False
    lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    return bool(lengths) and len(body) >= int(lengths[0])


# Column values that numpy would coerce (booleans as 0/1) or fail on (ragged rows) in the fast path.
@pytest.mark.parametrize(
    ("type_name", "values", "message"),
    [
        ("float64", [1.0, True], "row 1: True"),
        ("float64", [True, 2], "row 0: True"),
        ("int32", [1, False], "row 1: False"),
        ("uint64", [True, 5], "row 0: True"),
        ("float64", [1.0, [2.0]], r"row 1: \[2.0\]"),
        ("int32", [1, [2, 3]], r"row 1: \[2, 3\]"),
        ("bool", [True, [False]], r"row 1: \[False\]"),
        ("float64", [1.0, "x", None, True, [1]], "row 1: 'x'"),
        ("uint64", ["١٢"], "row 0: '١٢'"),
        ("int64", ["１"], "row 0: '１'"),
    ],
)
def test_codec_rejects_coercible_values(type_name: str, values: list[Any], message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        decode_column("arg", values, parse_argument_type(type_name))


@pytest.mark.parametrize(
    ("columns", "status", "message"),
    [
        (good_columns(amount=[1.0, "x", None, True, [1]], count=["1"] * 5, flag=[True] * 5), 400, "row 1: 'x'"),
        (good_columns(amount=[[1.0]]), 400, r"row 0: \[1.0\]"),
        (good_columns(amount=[1.0, True], count=["1", "2"], flag=[True, False]), 400, "row 1: True"),
        (good_columns(count=["99999999999999999999"]), 400, "outside"),
        (good_columns(count=[None]), 400, "row 0: null"),
        (good_columns(count=[" 1"]), 400, "row 0: ' 1'"),
        (good_columns(count=["0x10"]), 400, "row 0: '0x10'"),
        (good_columns(flag=[1]), 400, "row 0: 1"),
        ({"result": [1]}, 400, r"unknown \['result'\]"),
        ({"amount": [], "count": [], "flag": []}, 200, r'\{"result":\[\]\}'),
    ],
)
def test_udf_hostile_columns(server: BackgroundServer, columns: dict[str, Any], status: int, message: str) -> None:
    reply_status, reply = post(server, orjson.dumps(columns))
    assert reply_status == status
    assert re.search(message, reply)
    assert "Traceback" not in reply


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"amount": [1e400], "count": ["1"], "flag": [true]}', "Invalid JSON body"),
        (b'{"amount": [NaN], "count": ["1"], "flag": [true]}', "Invalid JSON body"),
        (b'{"amount": [1.0], "count": ["\xff"], "flag": [true]}', "Invalid JSON body"),
        (b"[" * 5000 + b"]" * 5000, "Invalid JSON body"),
    ],
)
def test_udf_hostile_json(server: BackgroundServer, body: bytes, message: str) -> None:
    status, reply = post(server, body)
    assert status == 400
    assert message in reply
    assert len(reply) <= 401


def test_udf_chunked_body_too_large(server: BackgroundServer) -> None:
    body = orjson.dumps(good_columns(amount=[1.0] * 20000, count=["1"] * 20000, flag=[True] * 20000))
    reply = post_chunked(server, body)
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"(chunked) exceeds the limit of 65536 bytes" in reply


def test_udf_chunked_body_at_limit(server: BackgroundServer) -> None:
    body = orjson.dumps(good_columns())
    padded = body[:-1] + b" " * (64 * 1024 - len(body)) + b"}"
    reply = post_chunked(server, padded)
    assert reply.startswith(b"HTTP/1.1 200")
    assert reply.endswith(b'{"result":[0.25]}')


def test_udf_key_never_logged(server: BackgroundServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for columns in (good_columns(amount=["x"]), good_columns(amount=[[1.0]]), good_columns()):
        status, reply = post(server, orjson.dumps(columns))
        assert KEY not in reply
    assert KEY not in caplog.text


def metadata_document(**override: Any) -> bytes:
    document: dict[str, Any] = {
        "name": "m",
        "version": "1",
        "function_name": "score",
        "arguments": [{"name": "a", "type": "float64"}],
        "sha256": SHA,
    }
    document.update(override)
    return orjson.dumps(document)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (metadata_document(sha256="abc"), "'abc' is not 64 lowercase hex digits"),
        (metadata_document(sha256=SHA.replace("0", "A")), "is not 64 lowercase hex digits"),
        (metadata_document(sha256=123), "'sha256': expected a string, got 123"),
        (metadata_document(sha256=""), "'sha256' is empty"),
        (metadata_document(name=5), "'name': expected a string, got 5"),
        (metadata_document(threshold="high"), "'threshold': expected an integer or a number"),
        (metadata_document(training_rows=True), "'training_rows': expected an integer, got True"),
        (metadata_document(metrics=[1]), r"'metrics': expected an object, got \[1\]"),
        (metadata_document(library_versions=["x"]), "'library_versions': expected an object"),
        (metadata_document(reference="x"), "'reference': expected an object"),
        (metadata_document(arguments="a"), "'arguments' must be a list of"),
        (metadata_document(arguments={"name": "a", "type": "float64"}), "'arguments' must be a list of"),
        (metadata_document(arguments=[{"name": "a", "type": "float64", "x": 1}]), "'arguments' must be a list of"),
        (metadata_document(arguments=[{"name": "a", "type": "float64"}, {"name": "a", "type": "int8"}]), r"\['a'\] more than once"),
        (metadata_document(arguments=[{"name": "a", "type": "nullable(" * 500 + "int8" + ")" * 500}]), "more than 8 types deep"),
        (metadata_document(function_name="../evil"), "Invalid UDF function name '../evil'"),
        (metadata_document(function_name="score_or_null"), "combinator suffix '_or_null'"),
        (metadata_document(version=".."), "Invalid model version '..'"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b"\x00\xff", "Invalid JSON"),
    ],
)
def test_metadata_hostile_json(data: bytes, message: str) -> None:
    with pytest.raises(ModelArtifactError, match=message):
        ModelMetadata.from_json(data, source="metadata.json")


def test_metadata_sha_checked_before_registration(tmp_path: Path) -> None:
    directory = tmp_path / "score" / "1"
    directory.mkdir(parents=True)
    (directory / "metadata.json").write_bytes(metadata_document(sha256="abc"))
    with pytest.raises(ModelArtifactError, match="not 64 lowercase hex digits"):
        discover_metadata(tmp_path)


@pytest.mark.parametrize(
    ("type_name", "message"),
    [
        ("nullable(nullable(int8))", "nullable cannot be inside nullable"),
        ("nullable(array(int8))", "array cannot be inside nullable"),
        ("nullable(low_cardinality(string))", "low_cardinality cannot be inside nullable"),
        ("array(", "a type name is missing"),
        ("nullable(", "a type name is missing"),
        ("array(" * 20 + "int8" + ")" * 20, "more than 8 types deep"),
        ("Float64; DROP", "unexpected character"),
    ],
)
def test_argument_type_hostile(type_name: str, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        parse_argument_type(type_name)


@pytest.mark.parametrize(
    ("type_name", "message"),
    [
        ("Float64; DROP", "is not a Proton type"),
        ("float64; DROP TABLE x", "is not a Proton type"),
        ("float64)", "is not a Proton type"),
        ("nullable(float64) DEFAULT 1", "is not a Proton type"),
        ("int8 CODEC(ZSTD)", "is not a Proton type"),
        ("array(", "is not a Proton type"),
        ("nullable(" * 500 + "int8" + ")" * 500, "is not a Proton type"),
        ("nullable(nullable(int8))", "which Proton rejects"),
        ("nullable(array(float64))", "which Proton rejects"),
    ],
)
def test_feature_type_hostile(type_name: str, message: str) -> None:
    with pytest.raises(FeatureDefinitionError, match=message) as raised:
        parse_feature_type(type_name, owner="Column 'c'")
    assert len(str(raised.value)) < 400


@pytest.mark.parametrize(
    ("type_name", "expected"),
    [("low_cardinality(nullable(string))", "low_cardinality(nullable(string))"), ("array(nullable(float64))", "array(nullable(float64))")],
)
def test_feature_type_nullable_inside(type_name: str, expected: str) -> None:
    assert parse_feature_type(type_name, owner="c").sql("proton") == expected


def payments(event_time: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": ["E1", "E2"],
            "card_id": ["C1", "C1"],
            "merchant_id": ["M1", "M1"],
            "merchant_category": ["food", "food"],
            "amount": ["1.5", None],
            "event_time": ["2024-01-01 00:00:00", event_time],
        }
    )


@pytest.mark.parametrize("event_time", ["2999-01-01 00:00:00", "2262-04-12", "1899-12-31 23:59:59", "1677-09-22"])
def test_loading_time_out_of_range(event_time: str) -> None:
    with pytest.raises(InputDataError, match=f"at data row 2 .*'{event_time}'.*from 1900-01-01 to before 2262-04-11"):
        conform_table(payments(event_time), "payments", "'events.csv'")


@pytest.mark.parametrize("event_time", ["1970-01-01 00:00:00", "1900-01-01", "2262-04-10 23:59:59"])
def test_loading_time_in_range(event_time: str) -> None:
    loaded = conform_table(payments(event_time), "payments", "'events.csv'")
    assert loaded["event_time"].iloc[1] == pd.Timestamp(event_time)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PYPROTON_ML_PORT": "abc"}, "Invalid PYPROTON_ML_PORT='abc'"),
        ({"PYPROTON_ML_PORT": "70000"}, "Invalid port 70000"),
        ({"PYPROTON_ML_WORKERS": "0"}, "Invalid workers 0"),
        ({"PYPROTON_ML_NO_AUTH": "maybe"}, "Invalid PYPROTON_ML_NO_AUTH='maybe'"),
        ({"PYPROTON_ML_AUTH_KEY": "\n"}, "is empty"),
        ({"PYPROTON_ML_AUTH_KEY": "a\r\nX-Evil: 1"}, "line break or NUL"),
    ],
)
def test_config_hostile_environment(tmp_path: Path, environ: dict[str, str], message: str) -> None:
    environ = {"PYPROTON_ML_AUTH_KEY": KEY, **environ}
    with pytest.raises(ConfigurationError, match=message) as raised:
        build_config(tmp_path, environ=environ)
    assert KEY not in str(raised.value)


@pytest.mark.parametrize(("content", "message"), [(None, "Cannot read the auth key file"), ("", "is empty"), ("\n", "is empty")])
def test_config_hostile_key_file(tmp_path: Path, content: str | None, message: str) -> None:
    key_file = tmp_path / "key"
    if content is None:
        key_file.mkdir()
    else:
        key_file.write_text(content)
    with pytest.raises(ConfigurationError, match=message):
        build_config(tmp_path, environ={"PYPROTON_ML_AUTH_KEY_FILE": str(key_file)})
