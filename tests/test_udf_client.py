"""The embedded UDF client: Proton's JSONColumns request bodies, sent to the real UDF server."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from pyproton_ml.embedded.udf_client import MAX_BLOCK_SIZE
from pyproton_ml.embedded.udf_client import RemoteUdfClient
from pyproton_ml.embedded.udf_client import blocks
from pyproton_ml.embedded.udf_client import encode_block
from pyproton_ml.errors import ProtonError
from pyproton_ml.models import Argument
from pyproton_ml.models import LoadedModel
from pyproton_ml.models import discover_models
from pyproton_ml.models import parse_type
from pyproton_ml.models import save_model
from pyproton_ml.models import train_classifier
from pyproton_ml.serving.codec import decode_column
from pyproton_ml.serving.server import BackgroundServer
from pyproton_ml.serving.server import start_background_server

KEY = "udf-client-test-key"
FUNCTION = "txn_score"

# The last Proton release that quotes 64-bit integers in JSON, and the first that does not
# (UNQUOTED_INT64_VERSION in pyproton_ml/embedded/udf_client.py).
QUOTING_VERSION = (3, 0, 12)
PLAIN_VERSION = (3, 0, 13)

ARGUMENTS = [
    Argument("amount", "float64"),
    Argument("count_64", "int64"),
    Argument("merchant_id", "uint64"),
    Argument("category", "int32"),
    Argument("is_foreign", "bool"),
]
FEATURES = [argument.name for argument in ARGUMENTS]


def make_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01", periods=rows, freq="s"),
            "amount": rng.gamma(2.0, 50.0, rows),
            "count_64": rng.integers(-5, 2**40, rows).astype("int64"),
            "merchant_id": rng.integers(0, 2**63, rows, dtype="uint64") + np.uint64(2**63 - 1),
            "category": rng.integers(0, 8, rows).astype("int32"),
            "is_foreign": rng.uniform(0, 1, rows) < 0.2,
        }
    )
    frame.loc[frame.index % 11 == 0, "amount"] = np.nan
    frame["is_fraud"] = ((frame["amount"].fillna(0) > 150) | frame["is_foreign"]).astype(int)
    return frame


# The JSONColumns encodings that Proton sends, per type and Proton version.
@pytest.mark.parametrize(
    ("type_name", "values", "proton_version", "expected"),
    [
        ("int64", [1, -2, 2**63 - 1], QUOTING_VERSION, ["1", "-2", "9223372036854775807"]),
        ("int64", [1, -2, 2**63 - 1], PLAIN_VERSION, [1, -2, 9223372036854775807]),
        ("uint64", np.array([0, 2**64 - 1], dtype="uint64"), QUOTING_VERSION, ["0", "18446744073709551615"]),
        ("uint64", np.array([0, 2**64 - 1], dtype="uint64"), PLAIN_VERSION, [0, 18446744073709551615]),
        ("uint64", np.array([7], dtype="uint64"), (1, 6, 0), ["7"]),
        ("uint64", np.array([7], dtype="uint64"), (3, 0, 29), [7]),
        ("int32", np.array([-3, 4], dtype="int32"), QUOTING_VERSION, [-3, 4]),
        ("uint8", np.array([0, 255], dtype="uint8"), QUOTING_VERSION, [0, 255]),
        ("float64", [1.5, float("nan"), float("inf"), float("-inf")], PLAIN_VERSION, [1.5, None, None, None]),
        ("float32", np.array([0.5, np.nan], dtype="float32"), PLAIN_VERSION, [0.5, None]),
        ("bool", [True, False], PLAIN_VERSION, [True, False]),
        ("string", ["a", "é\"x"], PLAIN_VERSION, ["a", "é\"x"]),
        ("date", pd.to_datetime(["2023-07-27"]), PLAIN_VERSION, ["2023-07-27"]),
        ("datetime", pd.to_datetime(["2023-07-27 04:00:00"]), PLAIN_VERSION, ["2023-07-27 04:00:00"]),
        ("datetime64(3)", pd.to_datetime(["2023-07-27 04:00:00"]), PLAIN_VERSION, ["2023-07-27 04:00:00.000"]),
        ("datetime64(3)", pd.to_datetime(["2023-07-27 04:00:00.123456"]), PLAIN_VERSION, ["2023-07-27 04:00:00.123"]),
    ],
)
def test_encode_block_encoding(type_name: str, values: object, proton_version: tuple[int, int, int], expected: list[object]) -> None:
    frame = pd.DataFrame({"x": values})

    body = encode_block(frame, [Argument("x", type_name)], proton_version=proton_version)

    assert orjson.loads(body) == {"x": expected}


def test_encode_block_datetime_text() -> None:
    frame = pd.DataFrame({"day": pd.to_datetime(["2023-07-27"]), "at": pd.to_datetime(["2023-07-27 04:00:00"])})
    arguments = [Argument("day", "date"), Argument("at", "datetime"), Argument("at", "datetime64(3)")]

    body = encode_block(frame, arguments[:2], proton_version=PLAIN_VERSION)
    body_64 = encode_block(frame, arguments[2:], proton_version=PLAIN_VERSION)

    assert body == b'{"day":["2023-07-27"],"at":["2023-07-27 04:00:00"]}'
    assert body_64 == b'{"at":["2023-07-27 04:00:00.000"]}'


def test_encode_block_declared_order() -> None:
    frame = pd.DataFrame({"b": [1.0], "a": [2.0], "unused": [3.0]})

    body = encode_block(frame, [Argument("a", "float64"), Argument("b", "float64")], proton_version=PLAIN_VERSION)

    assert list(orjson.loads(body)) == ["a", "b"]


@pytest.mark.parametrize(
    ("type_name", "values"),
    [
        ("date", pd.to_datetime(["2023-07-27", "1999-12-31"])),
        ("datetime", pd.to_datetime(["2023-07-27 04:00:00", "2024-02-29 23:59:59"])),
        ("datetime64(3)", pd.to_datetime(["2023-07-27 04:00:00.250", "2024-02-29 23:59:59.999"])),
    ],
)
def test_encode_block_server_decodes_times(type_name: str, values: pd.DatetimeIndex) -> None:
    body = encode_block(pd.DataFrame({"t": values}), [Argument("t", type_name)], proton_version=PLAIN_VERSION)

    decoded = decode_column("t", orjson.loads(body)["t"], parse_type(type_name))

    np.testing.assert_array_equal(decoded, values.to_numpy())


def test_encode_block_unsupported_type() -> None:
    frame = pd.DataFrame({"x": [[1, 2]]})

    with pytest.raises(ProtonError, match=r"Encoding arguments of type array\(int32\) is not implemented"):
        encode_block(frame, [Argument("x", "array(int32)")], proton_version=PLAIN_VERSION)


@pytest.mark.parametrize(("rows", "block_size", "sizes"), [(0, 3, []), (1, 3, [1]), (7, 3, [3, 3, 1]), (6, 3, [3, 3]), (5, 65409, [5])])
def test_blocks_sizes(rows: int, block_size: int, sizes: list[int]) -> None:
    frame = pd.DataFrame({"x": range(rows)})

    assert [len(block) for block in blocks(frame, block_size)] == sizes


def test_blocks_invalid_size() -> None:
    with pytest.raises(ValueError, match="block_size=0 must be at least 1"):
        list(blocks(pd.DataFrame({"x": [1]}), 0))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    trained = train_classifier(make_frame(400), FEATURES, "is_fraud", "ts")
    save_model(trained.pipeline, trained.to_metadata("txn", "1", FUNCTION, ARGUMENTS), directory)
    return directory


@pytest.fixture(scope="module")
def model(models_dir: Path) -> LoadedModel:
    return discover_models(models_dir)[FUNCTION]


@pytest.fixture(scope="module")
def server(models_dir: Path) -> Iterator[BackgroundServer]:
    background = start_background_server(models_dir, auth_key=KEY)
    yield background
    background.stop()


def make_client(server: BackgroundServer, proton_version: tuple[int, int, int] = PLAIN_VERSION, key: str = KEY) -> RemoteUdfClient:
    return RemoteUdfClient(
        f"{server.url}/udf/{FUNCTION}",
        ARGUMENTS,
        auth_header="X-API-Key",
        auth_key=key,
        proton_version=proton_version,
    )


@pytest.mark.parametrize("proton_version", [QUOTING_VERSION, PLAIN_VERSION], ids=["quoted-int64", "plain-int64"])
@pytest.mark.parametrize("rows", [1, MAX_BLOCK_SIZE])
def test_client_scores_block(server: BackgroundServer, model: LoadedModel, proton_version: tuple[int, int, int], rows: int) -> None:
    frame = make_frame(rows, seed=1)
    client = make_client(server, proton_version)

    try:
        scores = client.score(frame)
    finally:
        client.close()

    assert len(scores) == rows
    assert client.requests == 1
    expected = model.estimator.predict_proba(frame[FEATURES])[:, 1]
    np.testing.assert_array_equal(scores, expected)


def test_client_keeps_connection(server: BackgroundServer) -> None:
    frame = make_frame(25, seed=2)
    client = make_client(server)

    try:
        sizes = [len(client.score(block)) for block in blocks(frame, 10)]
    finally:
        client.close()

    assert sizes == [10, 10, 5]
    assert client.requests == math.ceil(len(frame) / 10)


def test_client_wrong_key(server: BackgroundServer) -> None:
    client = make_client(server, key="wrong-key")
    url = f"{server.url}/udf/{FUNCTION}"

    try:
        with pytest.raises(ProtonError) as raised:
            client.score(make_frame(3))
    finally:
        client.close()

    message = str(raised.value)
    assert re.fullmatch(rf"Call remote uri {re.escape(url)} failed, message: .+, http_status: 401", message, re.DOTALL)
    assert "Wrong key in the X-API-Key header" in message
    assert "wrong-key" not in message


def test_client_unknown_function(server: BackgroundServer) -> None:
    client = RemoteUdfClient(f"{server.url}/udf/no_such", ARGUMENTS, auth_header="X-API-Key", auth_key=KEY)

    try:
        with pytest.raises(ProtonError, match=r"(?s)failed, message: Unknown function 'no_such'.*, http_status: 404"):
            client.score(make_frame(2))
    finally:
        client.close()


@pytest.mark.parametrize("url", ["https://127.0.0.1:1/udf/x", "ftp://127.0.0.1/udf/x", "http:///udf/x"])
def test_client_rejects_url(url: str) -> None:
    with pytest.raises(ProtonError, match="supports http:// URLs only"):
        RemoteUdfClient(url, ARGUMENTS)
