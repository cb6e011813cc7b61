"""Facts about Proton that our SQL relies on, each pinned next to the Proton source it comes from."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from pyproton_ml.errors import InvalidIdentifierError
from pyproton_ml.features.windows import EmitPolicy
from pyproton_ml.features.windows import Hop
from pyproton_ml.models.names import COMBINATOR_SUFFIXES
from pyproton_ml.models.names import validate_function_name
from pyproton_ml.sql.functions import PROTON_FUNCTION_NAMES
from pyproton_ml.sql.functions import proton_function_name
from pyproton_ml.sql.nodes import IntervalShorthand
from pyproton_ml.sql.nodes import WindowTableFunction
from pyproton_ml.sql.remote_function import create_remote_function
from pyproton_ml.sql.render import render

# Each aggregate-function combinator registers its suffix through getName() in
# timeplus-io/proton src/AggregateFunctions/ (read at commit 5d0a11e8):
# AggregateFunctionIf.cpp, AggregateFunctionArray.cpp, AggregateFunctionDistinct.cpp,
# AggregateFunctionForEach.cpp, AggregateFunctionMap.cpp, AggregateFunctionMerge.cpp,
# AggregateFunctionNull.cpp, AggregateFunctionState.cpp, AggregateFunctionSimpleState.cpp
# ("_simple_state"), AggregateFunctionOrFill.cpp ("_or_null" and "_or_default") and
# AggregateFunctionResample.cpp ("_resample").
PROTON_COMBINATOR_SUFFIXES = {
    "_if",
    "_array",
    "_distinct",
    "_for_each",
    "_map",
    "_merge",
    "_null",
    "_state",
    "_simple_state",
    "_or_null",
    "_or_default",
    "_resample",
}

# Entries of the ClickHouse-to-Proton name table in timeplus-io/proton
# src/Parsers/ExpressionElementParsers.cpp (read at commit fe4ef29c). The table's keys are
# lower-cased ClickHouse names.
PROTON_SOURCE_ENTRIES = {
    "tostartofinterval": "to_start_of_interval",
    "multiif": "multi_if",
    "ifnull": "if_null",
    "fromunixtimestamp64milli": "from_unix_timestamp64_milli",
}


def snake_case(name: str) -> str:
    """Split a camelCase name before each capital that follows a lower-case letter or digit."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def test_combinator_suffixes_match_proton() -> None:
    assert set(COMBINATOR_SUFFIXES) == PROTON_COMBINATOR_SUFFIXES
    assert len(COMBINATOR_SUFFIXES) == len(PROTON_COMBINATOR_SUFFIXES)


# AggregateFunctionCombinatorFactory::tryFindSuffix lower-cases the name before it
# compares suffixes (timeplus-io/proton src/AggregateFunctions/AggregateFunctionCombinatorFactory.cpp,
# read at commit 5b609737), so upper-case suffixes count too.
@pytest.mark.parametrize("name", ["score_IF", "Score_Or_Null", "SCORE_RESAMPLE"])
def test_combinator_suffix_case_insensitive(name: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="combinator suffix"):
        validate_function_name(name)


@pytest.mark.parametrize(("clickhouse", "proton"), sorted(PROTON_FUNCTION_NAMES.items()))
def test_function_name_snake_case(clickhouse: str, proton: str) -> None:
    assert proton == snake_case(clickhouse)
    assert proton_function_name(clickhouse) == proton


@pytest.mark.parametrize(("lowered", "proton"), sorted(PROTON_SOURCE_ENTRIES.items()))
def test_function_name_matches_proton_source(lowered: str, proton: str) -> None:
    ours = {clickhouse.lower(): name for clickhouse, name in PROTON_FUNCTION_NAMES.items()}

    assert ours[lowered] == proton


def emit_query(version: str) -> str:
    select = exp.select("count(*)").from_("payments").limit(5)
    select.set("emit", EmitPolicy.after_window_close(delay="5s").clause())
    select.set("settings", [exp.EQ(this=exp.column("seek_to"), expression=exp.Literal.string("earliest"))])
    return sqlglot.Dialect.get_or_raise(f"proton, version={version}").generate(select)


# Proton parses EMIT after LIMIT and before SETTINGS (timeplus-io/proton
# src/Parsers/ParserSelectQuery.cpp, read at commit 0619da7c).
@pytest.mark.parametrize("version", ["1.6.0", "3.0.29"])
def test_emit_after_limit_before_settings(version: str) -> None:
    sql = emit_query(version)

    assert sql.index("LIMIT 5") < sql.index("EMIT ") < sql.index("SETTINGS seek_to = 'earliest'")


# Older copies of timeplus-io/proton src/Parsers/Streaming/ParserEmitQuery.cpp accept only
# AFTER WATERMARK. Newer copies accept AFTER WINDOW CLOSE and keep AFTER WATERMARK as an alias,
# so 1.6 output uses the old spelling and 3.x output the new one.
@pytest.mark.parametrize(
    ("version", "clause"),
    [
        ("1.6.0", "EMIT AFTER WATERMARK WITH DELAY 5s"),
        ("1.6.1", "EMIT AFTER WATERMARK WITH DELAY 5s"),
        ("3.0.0", "EMIT AFTER WINDOW CLOSE WITH DELAY 5s"),
        ("3.0.29", "EMIT AFTER WINDOW CLOSE WITH DELAY 5s"),
    ],
)
def test_emit_policy_by_version(version: str, clause: str) -> None:
    sql = emit_query(version)

    assert f"LIMIT 5 {clause} SETTINGS" in sql


def test_emit_default_dialect_is_3x() -> None:
    select = exp.select("count(*)").from_("payments")
    select.set("emit", EmitPolicy.after_window_close().clause())

    assert sqlglot.Dialect.get_or_raise("proton").generate(select).endswith("EMIT AFTER WINDOW CLOSE")


# hop(stream, [time column], slide, size): the slide comes first (timeplus-io/docs
# docs/hop-aggregation.md).
def test_hop_slide_before_size() -> None:
    window = Hop(slide="1m", size="10m").table_function(exp.to_table("payments"), "event_time")

    assert render(window) == "hop(payments, event_time, 1m, 10m)"


def test_hop_parse_keeps_order() -> None:
    select = sqlglot.parse_one("SELECT count(*) FROM hop(payments, event_time, 2s, 5s) GROUP BY window_end", read="proton")

    window = select.find(WindowTableFunction)
    assert window is not None
    assert [(interval.this, interval.text("unit")) for interval in window.expressions if isinstance(interval, IntervalShorthand)] == [("2", "s"), ("5", "s")]


# Keyword order of CREATE REMOTE FUNCTION: name and arguments, RETURNS, URL, then AUTH_METHOD
# with AUTH_HEADER and AUTH_KEY (timeplus-io/proton src/Parsers/ParserCreateFunctionQuery.cpp,
# read at commit 750f0222), then EXECUTION_TIMEOUT in ms (timeplus-io/docs
# docs/sql-create-remote-function.md, added in Proton 1.5.18).
REMOTE_FUNCTION_GRAMMAR = re.compile(
    r"CREATE OR REPLACE REMOTE FUNCTION (?P<name>\w+)\((?P<arguments>[^)]*)\) "
    r"RETURNS (?P<returns>\w+) "
    r"URL '(?P<url>[^']*)' "
    r"AUTH_METHOD 'auth_header' AUTH_HEADER '(?P<header>[^']*)' AUTH_KEY '(?P<key>[^']*)' "
    r"EXECUTION_TIMEOUT (?P<timeout>\d+)"
)


def test_remote_function_keyword_order() -> None:
    statement = create_remote_function(
        "fraud_score",
        [("amount", "float64"), ("hour_of_day", "uint8")],
        return_type="float64",
        url="http://udf:8000/udf/fraud_score",
        auth_header="X-API-Key",
        auth_key="key",
        execution_timeout_ms=2500,
    )

    match = REMOTE_FUNCTION_GRAMMAR.fullmatch(render(statement, pretty=False))

    assert match is not None
    assert match.group("name") == "fraud_score"
    assert match.group("arguments") == "amount float64, hour_of_day uint8"
    assert match.group("returns") == "float64"
    assert match.group("url") == "http://udf:8000/udf/fraud_score"
    assert match.group("header") == "X-API-Key"
    assert match.group("key") == "key"
    assert match.group("timeout") == "2500"
