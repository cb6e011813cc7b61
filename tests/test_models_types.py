from __future__ import annotations

import pytest

from pyproton_ml.errors import InputDataError
from pyproton_ml.models.types import Argument, parse_type


@pytest.mark.parametrize(
    ("text", "rendered", "numeric", "nullable"),
    [
        ("int8", "int8", True, False),
        ("uint64", "uint64", True, False),
        ("float32", "float32", True, False),
        ("decimal(10, 2)", "decimal(10, 2)", True, False),
        ("bool", "bool", True, False),
        ("string", "string", False, False),
        ("date", "date", False, False),
        ("datetime", "datetime", False, False),
        ("datetime64(3)", "datetime64(3)", False, False),
        ("datetime64(3, 'UTC')", "datetime64(3, 'UTC')", False, False),
        ("datetime64(6, 'Etc/GMT+3')", "datetime64(6, 'Etc/GMT+3')", False, False),
        ("datetime64(3, 'America/Port-au-Prince')", "datetime64(3, 'America/Port-au-Prince')", False, False),
        ("nullable(float64)", "nullable(float64)", True, True),
        ("low_cardinality(string)", "low_cardinality(string)", False, False),
        ("low_cardinality(nullable(string))", "low_cardinality(nullable(string))", False, True),
        ("array(float32)", "array(float32)", False, False),
        ("array(nullable(int32))", "array(nullable(int32))", False, False),
        ("  float64  ", "float64", True, False),
    ],
)
def test_parse_type_valid(text: str, rendered: str, numeric: bool, nullable: bool) -> None:
    parsed = parse_type(text)
    assert str(parsed) == rendered
    assert parsed.is_numeric is numeric
    assert parsed.is_nullable is nullable


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("float128", "Unknown Proton type 'float128'"),
        ("Float64", "unexpected character"),
        ("int", "Unknown Proton type 'int'"),
        ("", "must not be empty"),
        ("nullable", "needs parameters"),
        ("nullable(float64", r"expected '\)'"),
        ("float64(3)", "takes no parameters"),
        ("decimal(10)", "decimal"),
        ("decimal(5, 7)", "S <= P"),
        ("datetime64", "with a precision"),
        ("datetime64(12)", "precision from 0 to 9"),
        ("array(float64) extra", "unexpected text"),
        ("map(string, int32)", "Unknown Proton type 'map'"),
    ],
)
def test_parse_type_invalid(text: str, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        parse_type(text)


def test_argument_valid() -> None:
    argument = Argument("amount", "nullable(float64)")
    assert argument.proton_type.base.name == "float64"


@pytest.mark.parametrize(
    ("name", "type_name", "message"),
    [
        ("1amount", "float64", "Invalid argument name"),
        ("amount-usd", "float64", "Invalid argument name"),
        ("amount", "double", "Unknown Proton type 'double'"),
    ],
)
def test_argument_invalid(name: str, type_name: str, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        Argument(name, type_name)
