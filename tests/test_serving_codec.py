from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from pyproton_ml.errors import InputDataError, UnsupportedError
from pyproton_ml.models.types import Argument, parse_type
from pyproton_ml.serving.codec import check_columns, decode_body, decode_column, encode_result, parse_body


@pytest.mark.parametrize(
    ("type_name", "values", "expected", "dtype"),
    [
        ("int8", [-128, 0, 127], [-128, 0, 127], "int64"),
        ("int32", [1, -2], [1, -2], "int64"),
        ("int64", ["9223372036854775807", "-5"], [9223372036854775807, -5], "int64"),
        ("int64", [9223372036854775807, -5], [9223372036854775807, -5], "int64"),
        ("int64", ["1", 2], [1, 2], "int64"),
        ("uint64", ["18446744073709551615", "0"], [18446744073709551615, 0], "uint64"),
        ("uint64", [18446744073709551615, 0], [18446744073709551615, 0], "uint64"),
        ("uint64", [3, 4], [3, 4], "uint64"),
        ("float64", [1.5, None, 2], [1.5, np.nan, 2.0], "float64"),
        ("float32", [0.25], [0.25], "float64"),
        ("float64", [None, None], [np.nan, np.nan], "float64"),
        ("decimal(10, 2)", [12.34, 0], [12.34, 0.0], "float64"),
        ("nullable(int32)", [1, None], [1.0, np.nan], "float64"),
        ("nullable(uint64)", ["7", None], [7.0, np.nan], "float64"),
        ("bool", [True, False], [True, False], "bool"),
        ("nullable(bool)", [True, None], [1.0, np.nan], "float64"),
        ("string", ["a", ""], ["a", ""], "object"),
        ("low_cardinality(string)", ["x"], ["x"], "object"),
        ("nullable(string)", ["a", None], ["a", None], "object"),
    ],
)
def test_decode_column_values(type_name: str, values: list[Any], expected: list[Any], dtype: str) -> None:
    decoded = decode_column("arg", values, parse_type(type_name))
    assert decoded.dtype == np.dtype(dtype)
    if dtype == "float64":
        np.testing.assert_array_equal(decoded, np.array(expected, dtype="float64"))
    else:
        assert decoded.tolist() == expected


@pytest.mark.parametrize(
    ("type_name", "values", "expected"),
    [
        ("date", ["2023-07-27", "1970-01-01"], ["2023-07-27T00:00:00", "1970-01-01T00:00:00"]),
        ("datetime", ["2023-07-27 04:00:00"], ["2023-07-27T04:00:00"]),
        ("datetime64(3)", ["2023-07-27 04:00:00.000", "2023-07-27 04:00:01.250"], ["2023-07-27T04:00:00", "2023-07-27T04:00:01.250"]),
        ("datetime64(3, 'UTC')", ["2023-07-27 04:00:00.123"], ["2023-07-27T04:00:00.123"]),
        ("datetime64(6)", ["2023-07-27 04:00:00.000001"], ["2023-07-27T04:00:00.000001"]),
        ("datetime64(0)", ["2023-07-27 04:00:00"], ["2023-07-27T04:00:00"]),
        ("nullable(date)", ["2023-07-27", None], ["2023-07-27T00:00:00", "NaT"]),
    ],
)
def test_decode_column_times(type_name: str, values: list[str], expected: list[str]) -> None:
    decoded = decode_column("ts", values, parse_type(type_name))
    np.testing.assert_array_equal(decoded, np.array(expected, dtype="datetime64[ns]"))


def test_decode_column_arrays() -> None:
    decoded = decode_column("tags", [[1.5, None], [], [2]], parse_type("array(float64)"))
    assert decoded.dtype == object
    np.testing.assert_array_equal(decoded[0], [1.5, np.nan])
    assert decoded[1].size == 0
    np.testing.assert_array_equal(decoded[2], [2.0])


@pytest.mark.parametrize(
    ("type_name", "values", "message"),
    [
        ("float64", [1.0, "abc"], r"argument 'arg' at row 1: 'abc'.*Expected Proton type float64"),
        ("float64", [[1.0], [2.0]], r"row 0: \[1.0\]"),
        ("int32", [1, "2"], r"row 1: '2'.*int32"),
        ("int32", [1, 2.5], r"row 1: 2.5"),
        ("int8", [1, 128], r"row 1: 128 \(outside \[-128, 127\]\)"),
        ("uint8", [-1], r"row 0: -1 \(outside \[0, 255\]\)"),
        ("uint64", ["-1"], r"row 0: '-1' \(outside"),
        ("uint64", [18446744073709551616], r"outside"),
        ("int64", ["12x"], r"row 0: '12x'"),
        ("int64", [None], r"row 0: null.*int64"),
        ("uint8", [1, None], r"row 1: null.*uint8"),
        ("bool", [True, 1], r"row 1: 1.*bool"),
        ("string", ["a", 5], r"row 1: 5.*string"),
        ("date", ["2023-07-27", "27/07/2023"], r"row 1: '27/07/2023' \(expected the form '2023-07-27'\)"),
        ("datetime64(3)", ["2023-07-27 04:00"], r"row 0: .*'2023-07-27 04:00:00.000'"),
        ("datetime", [1690430400], r"row 0: 1690430400"),
        ("array(int32)", [[1], 2], r"row 1: 2.*array\(int32\)"),
        ("array(int32)", [[1], [1, "x"]], r"In row 1: .*row 1: 'x'"),
        ("float64", [1.0, "x" * 100], r"row 1: 'xxxxxxxx.*\.\.\."),
    ],
)
def test_decode_column_wrong_type(type_name: str, values: list[Any], message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        decode_column("arg", values, parse_type(type_name))


def test_decode_column_long_value_truncated() -> None:
    with pytest.raises(InputDataError) as caught:
        decode_column("arg", ["y" * 10_000], parse_type("float64"))
    assert len(str(caught.value)) < 300


ARGUMENTS = [Argument("amount", "float64"), Argument("count", "uint64")]


def test_decode_body_frame() -> None:
    frame = decode_body(b'{"amount": [1.5, null], "count": ["3", 4]}', ARGUMENTS, "fraud_score")
    assert list(frame.columns) == ["amount", "count"]
    assert frame["count"].tolist() == [3, 4]
    assert np.isnan(frame["amount"][1])


def test_decode_body_column_order_follows_arguments() -> None:
    frame = decode_body(b'{"count": [1], "amount": [2.0]}', ARGUMENTS, "fraud_score")
    assert list(frame.columns) == ["amount", "count"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "Invalid JSON body"),
        (b"", "Invalid JSON body"),
        (b"[1, 2]", "expected a JSON object of columns, got a JSON list"),
    ],
)
def test_parse_body_invalid(body: bytes, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        parse_body(body)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"amount": [1.0]}, r"missing \['count'\]"),
        ({"amount": [1.0], "count": [1], "extra": [1]}, r"unknown \['extra'\]"),
        ({"amount": [1.0, 2.0], "count": [1]}, r"different lengths \{'amount': 2, 'count': 1\}"),
        ({"amount": 1.0, "count": [1]}, "'amount' must be a JSON array"),
    ],
)
def test_check_columns_invalid(document: dict[str, Any], message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        check_columns(document, ARGUMENTS, "fraud_score")


def test_check_columns_row_count() -> None:
    assert check_columns({"amount": [1.0, 2.0], "count": [1, 2]}, ARGUMENTS, "fraud_score") == 2


@pytest.mark.parametrize(
    ("values", "return_type", "expected"),
    [
        (np.array([0.25, 1.0]), "float64", {"result": [0.25, 1.0]}),
        (np.array([1, 2], dtype=np.int64), "int64", {"result": [1, 2]}),
        (np.array([True, False]), "bool", {"result": [True, False]}),
        (np.array(["a", "b"], dtype=object), "string", {"result": ["a", "b"]}),
        (np.array([], dtype=np.float64), "float64", {"result": []}),
        ([0.5], "float32", {"result": [0.5]}),
    ],
)
def test_encode_result(values: Any, return_type: str, expected: dict[str, Any]) -> None:
    assert orjson.loads(encode_result(values, return_type)) == expected


def test_encode_result_unsupported_type() -> None:
    with pytest.raises(UnsupportedError, match="Return type 'date' cannot be encoded"):
        encode_result([1], "date")


def test_decode_large_block() -> None:
    rows = 65409
    rng = np.random.default_rng(0)
    amounts = rng.normal(size=rows)
    body = orjson.dumps({"amount": amounts, "count": [str(value) for value in range(rows)]}, option=orjson.OPT_SERIALIZE_NUMPY)
    frame = decode_body(body, ARGUMENTS, "fraud_score")
    assert len(frame) == rows
    np.testing.assert_array_equal(frame["amount"].to_numpy(), amounts)
    assert frame["count"].iloc[-1] == rows - 1
