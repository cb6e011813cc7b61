"""Building CREATE REMOTE FUNCTION and DROP FUNCTION statements for model UDFs."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlglot

from pyproton_ml.errors import InvalidIdentifierError
from pyproton_ml.models.names import COMBINATOR_SUFFIXES
from pyproton_ml.sql.nodes import CreateRemoteFunction
from pyproton_ml.sql.remote_function import create_remote_function
from pyproton_ml.sql.remote_function import drop_function
from pyproton_ml.sql.render import render

ARGUMENTS = [("amount", "float64"), ("card_txn_count_10m", "uint64"), ("event_time", "datetime64(3)")]
URL = "http://udf:8000/udf/fraud_score"

VALID: dict[str, Any] = {
    "function_name": "fraud_score",
    "arguments": ARGUMENTS,
    "return_type": "float64",
    "url": URL,
    "auth_header": "X-API-Key",
    "auth_key": "secret-key",
    "execution_timeout_ms": 5000,
}

EXPECTED_SQL = """\
CREATE OR REPLACE REMOTE FUNCTION fraud_score(amount float64, card_txn_count_10m uint64, event_time datetime64(3))
RETURNS float64
URL 'http://udf:8000/udf/fraud_score'
AUTH_METHOD 'auth_header' AUTH_HEADER 'X-API-Key' AUTH_KEY 'secret-key'
EXECUTION_TIMEOUT 5000"""


def build(**changes: Any) -> CreateRemoteFunction:
    parameters = {**VALID, **changes}
    name = parameters.pop("function_name")
    arguments = parameters.pop("arguments")
    return create_remote_function(name, arguments, **parameters)


def test_create_remote_function_sql() -> None:
    assert render(build()) == EXPECTED_SQL


def test_create_remote_function_one_line() -> None:
    assert render(build(), pretty=False) == EXPECTED_SQL.replace("\n", " ")


def test_create_remote_function_no_auth() -> None:
    sql = render(build(auth_header=None, auth_key=None, execution_timeout_ms=10_000, replace=False))

    assert sql.splitlines() == [
        "CREATE REMOTE FUNCTION fraud_score(amount float64, card_txn_count_10m uint64, event_time datetime64(3))",
        "RETURNS float64",
        "URL 'http://udf:8000/udf/fraud_score'",
        "AUTH_METHOD 'none'",
        "EXECUTION_TIMEOUT 10000",
    ]


def test_create_remote_function_default_timeout() -> None:
    statement = create_remote_function("fraud_score", ARGUMENTS, return_type="float64", url=URL)

    assert render(statement).endswith("\nEXECUTION_TIMEOUT 10000")


@pytest.mark.parametrize("key", ["it's", "back\\slash", "both ' and \\ in one", "\\'", "''"])
def test_create_remote_function_key_escaped(key: str) -> None:
    sql = render(build(auth_key=key))

    parsed = sqlglot.parse_one(sql, read="proton")

    assert isinstance(parsed, CreateRemoteFunction)
    assert parsed.args["auth_key"].name == key
    assert parsed.args["auth_header"].name == "X-API-Key"
    assert parsed.args["url"].name == URL


def test_create_remote_function_round_trip() -> None:
    sql = render(build())

    assert render(sqlglot.parse_one(sql, read="proton")) == sql


def test_drop_function_sql() -> None:
    assert render(drop_function("fraud_score")) == "DROP FUNCTION IF EXISTS fraud_score"


def combinator_cases() -> list[Any]:
    return [pytest.param({"function_name": f"fraud{suffix}"}, "combinator suffix", id=f"suffix{suffix}") for suffix in COMBINATOR_SUFFIXES]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        *combinator_cases(),
        pytest.param({"function_name": "FRAUD_SCORE_IF"}, "combinator suffix '_if'", id="suffix-upper-case"),
        pytest.param({"function_name": "fraud-score"}, "Invalid UDF function name 'fraud-score'", id="name-dash"),
        pytest.param({"function_name": "1score"}, "Invalid UDF function name '1score'", id="name-digit-first"),
        pytest.param({"function_name": ""}, "Invalid UDF function name ''", id="name-empty"),
        pytest.param({"arguments": []}, "needs at least one argument", id="no-arguments"),
        pytest.param({"url": "ftp://udf:8000/udf/fraud_score"}, "Invalid UDF URL 'ftp://", id="url-ftp"),
        pytest.param({"url": "http:///udf/fraud_score"}, "Invalid UDF URL 'http:///udf", id="url-no-host"),
        pytest.param({"url": "udf:8000/udf/fraud_score"}, "Invalid UDF URL", id="url-no-scheme"),
        pytest.param({"url": "http://udf:8000/udf/fraud score"}, "white space", id="url-space"),
        pytest.param({"url": "http://udf:8000/udf/fraud_score\nX-Injected: 1"}, "white space", id="url-newline"),
        pytest.param({"url": "http://udf:8000/udf/\x00"}, "control characters", id="url-nul"),
        pytest.param({"auth_key": None}, "Pass both auth_header and auth_key", id="header-without-key"),
        pytest.param({"auth_header": None}, "Pass both auth_header and auth_key", id="key-without-header"),
        pytest.param({"auth_key": ""}, "auth key is empty", id="key-empty"),
        pytest.param({"auth_key": "line\nbreak"}, "line break", id="key-newline"),
        pytest.param({"auth_key": "carriage\rreturn"}, "line break", id="key-carriage-return"),
        pytest.param({"auth_header": "X API Key"}, "Invalid HTTP header name 'X API Key'", id="header-space"),
        pytest.param({"auth_header": "X-Key:"}, "Invalid HTTP header name", id="header-colon"),
        pytest.param({"execution_timeout_ms": 0}, "execution_timeout_ms=0 must be a positive", id="timeout-zero"),
        pytest.param({"execution_timeout_ms": -1}, "execution_timeout_ms=-1 must be a positive", id="timeout-negative"),
        pytest.param({"execution_timeout_ms": True}, "execution_timeout_ms=True must be a positive", id="timeout-bool"),
        pytest.param({"execution_timeout_ms": 1.5}, "execution_timeout_ms=1.5 must be a positive", id="timeout-float"),
    ],
)
def test_create_remote_function_invalid(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=re.escape(message)):
        build(**changes)


@pytest.mark.parametrize("suffix", COMBINATOR_SUFFIXES)
def test_drop_function_combinator_suffix(suffix: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="combinator suffix"):
        drop_function(f"fraud{suffix}")


def test_create_remote_function_suffix_inside_name() -> None:
    statement = build(function_name="if_state_score")

    assert render(statement).startswith("CREATE OR REPLACE REMOTE FUNCTION if_state_score(")
