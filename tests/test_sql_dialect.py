"""The Proton dialect: registration, types, function names, EMIT per version, round trips."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from pyproton_ml.errors import UnsupportedError
from pyproton_ml.proton.statements import read_sql_directory
from pyproton_ml.proton.statements import read_sql_file
from pyproton_ml.sql import EmbeddedClickHouse
from pyproton_ml.sql import Proton
from pyproton_ml.sql import Target
from pyproton_ml.sql import render
from pyproton_ml.sql.nodes import Emit
from pyproton_ml.sql.nodes import IntervalShorthand

REPO = Path(__file__).resolve().parent.parent


def test_dialect_registered_as_proton() -> None:
    assert isinstance(sqlglot.Dialect.get_or_raise("proton"), Proton)


def test_dialect_entry_point_declared() -> None:
    names = {entry.name: entry.value for entry in entry_points(group="sqlglot.dialects")}
    assert names.get("proton") == "pyproton_ml.sql.dialect:Proton"


@pytest.mark.parametrize(
    ("type_text", "proton", "clickhouse"),
    [
        ("float64", "float64", "Float64"),
        ("nullable(float64)", "nullable(float64)", "Nullable(Float64)"),
        ("Nullable(Float64)", "nullable(float64)", "Nullable(Float64)"),
        ("uint64", "uint64", "UInt64"),
        ("int32", "int32", "Int32"),
        ("bool", "bool", "Bool"),
        ("string", "string", "String"),
        ("datetime64(3)", "datetime64(3)", "DateTime64(3)"),
        ("low_cardinality(string)", "low_cardinality(string)", "LowCardinality(String)"),
        ("array(int32)", "array(int32)", "Array(Int32)"),
        ("decimal(10, 2)", "decimal(10, 2)", "Decimal(10, 2)"),
    ],
)
def test_types_render_per_target(type_text: str, proton: str, clickhouse: str) -> None:
    data_type = exp.DataType.build(type_text, dialect="proton")
    assert data_type.sql("proton") == proton
    assert data_type.sql(EmbeddedClickHouse) == clickhouse


@pytest.mark.parametrize(
    ("clickhouse_sql", "proton_sql"),
    [
        ("SELECT toStartOfInterval(t, INTERVAL 1 MINUTE) FROM s", "SELECT to_start_of_interval(t, INTERVAL 1 MINUTE) FROM s"),
        ("SELECT toUInt8(x IS NULL) FROM s", "SELECT to_uint8(x IS NULL) FROM s"),
        ("SELECT toHour(t) FROM s", "SELECT to_hour(t) FROM s"),
        ("SELECT COUNT(*), AVG(x), MAX(x) FROM s", "SELECT count(*), avg(x), max(x) FROM s"),
        ("SELECT quantile(0.9)(x) FROM s", "SELECT quantile(x, 0.9) FROM s"),
    ],
)
def test_functions_renamed_for_proton(clickhouse_sql: str, proton_sql: str) -> None:
    expression = sqlglot.parse_one(clickhouse_sql, read="clickhouse")
    assert render(expression, pretty=False) == proton_sql


def test_unmapped_camel_case_function_rejected() -> None:
    expression = sqlglot.parse_one("SELECT arrayReverseSplit(x) FROM s", read="clickhouse")
    with pytest.raises(UnsupportedError, match="arrayReverseSplit"):
        render(expression)


def _emit_query(emit: Emit) -> exp.Select:
    query = sqlglot.parse_one("SELECT count(*) FROM s LIMIT 5 SETTINGS seek_to = 'earliest'", read="clickhouse")
    query.set("emit", emit)
    return query


def _shorthand(number: int, unit: str) -> IntervalShorthand:
    return IntervalShorthand(this=str(number), unit=exp.var(unit))


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("3.0.29", "EMIT AFTER WINDOW CLOSE WITH DELAY 10s"),
        ("3.0.0", "EMIT AFTER WINDOW CLOSE WITH DELAY 10s"),
        ("2.9.9", "EMIT AFTER WATERMARK WITH DELAY 10s"),
        ("1.6.0", "EMIT AFTER WATERMARK WITH DELAY 10s"),
    ],
)
def test_emit_grammar_follows_version(version: str, expected: str) -> None:
    emit = Emit(policy=exp.var("AFTER WINDOW CLOSE"), delay=_shorthand(10, "s"))
    sql = render(_emit_query(emit), proton_version=version, pretty=False)
    assert sql == f"SELECT count(*) FROM s LIMIT 5 {expected} SETTINGS seek_to = 'earliest'"


def test_emit_before_version_1_6_rejected() -> None:
    emit = Emit(policy=exp.var("AFTER WINDOW CLOSE"))
    with pytest.raises(UnsupportedError, match="1.5.0"):
        render(_emit_query(emit), proton_version="1.5.0")


@pytest.mark.parametrize(
    ("emit", "message"),
    [
        (Emit(policy=exp.var("PERIODIC"), interval=_shorthand(5, "s"), delay=_shorthand(1, "s")), "watermark delay"),
        (Emit(policy=exp.var("AFTER KEY EXPIRE")), "not supported"),
    ],
)
def test_emit_invalid_combinations_rejected(emit: Emit, message: str) -> None:
    with pytest.raises(UnsupportedError, match=message):
        render(_emit_query(emit))


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT window_start, count(*) FROM tumble(s, t, 5s) GROUP BY window_start EMIT AFTER WINDOW CLOSE",
        "SELECT window_end, k, max(v) FROM hop(s, t, 1m, 10m) GROUP BY window_end, k EMIT AFTER WINDOW CLOSE WITH DELAY 10s",
        "SELECT count(*) FROM hop(table(s), t, 1m, 10m) GROUP BY window_start",
        "SELECT count(*) FROM s EMIT PERIODIC 2s",
        "SELECT count(*) FROM s EMIT ON UPDATE",
        "SELECT count(*) FROM s EMIT AFTER WINDOW CLOSE WITH DELAY 5s AND TIMEOUT 1m",
        "SELECT a.x FROM table(s) AS a",
        "SELECT e.x, d.y FROM s AS e LEFT ASOF JOIN d AS d ON e.k = d.k AND e.t >= d.t SETTINGS keep_versions = 16",
        "CREATE MATERIALIZED VIEW IF NOT EXISTS v INTO t AS SELECT x FROM s",
        "CREATE STREAM IF NOT EXISTS s (a string, b nullable(float64), t datetime64(3)) SETTINGS mode = 'append', event_time_column = 't'",
        "CREATE STREAM IF NOT EXISTS d (k string, v float64) PRIMARY KEY (k) SETTINGS mode = 'versioned_kv'",
        "CREATE OR REPLACE REMOTE FUNCTION f(a float64, b uint64) RETURNS float64 URL 'http://h:8000/udf/f' AUTH_METHOD 'auth_header' AUTH_HEADER 'X-API-Key' AUTH_KEY 'k' EXECUTION_TIMEOUT 10000",
        "CREATE REMOTE FUNCTION f(a float64) RETURNS float64 URL 'http://h/udf/f' AUTH_METHOD 'none'",
    ],
)
def test_proton_sql_round_trips(sql: str) -> None:
    assert render(sqlglot.parse_one(sql, read="proton"), pretty=False) == sql


def test_after_watermark_reads_as_window_close() -> None:
    expression = sqlglot.parse_one("SELECT count(*) FROM tumble(s, 5s) GROUP BY window_start EMIT AFTER WATERMARK", read="proton")
    assert render(expression, pretty=False).endswith("EMIT AFTER WINDOW CLOSE")


def _generated_statements() -> list[str]:
    return [*read_sql_directory(REPO / "sql"), *read_sql_file(REPO / "sql" / "historical" / "training_set.proton.sql")]


@pytest.mark.parametrize("statement", _generated_statements(), ids=lambda s: " ".join(s.split()[:4]))
def test_generated_sql_round_trips(statement: str) -> None:
    assert render(sqlglot.parse_one(statement, read="proton")) == statement.rstrip(";").strip()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM s EMIT PERIODIC 2s",
        "SELECT count(*) FROM session(s, t, 5m) GROUP BY window_start",
        "CREATE MATERIALIZED VIEW v INTO t AS SELECT x FROM s",
        "CREATE REMOTE FUNCTION f(a float64) RETURNS float64 URL 'http://h/udf/f' AUTH_METHOD 'none'",
    ],
)
def test_embedded_target_rejects_streaming_constructs(sql: str) -> None:
    with pytest.raises(UnsupportedError):
        render(sqlglot.parse_one(sql, read="proton"), Target.CLICKHOUSE)


@pytest.mark.parametrize("amount", ["\u00b2", "\u0667"])
def test_interval_with_non_ascii_digit_kept_as_string(amount: str) -> None:
    # str.isdigit accepts these; int() rejects '²' and reads '٧' as 7.
    sql = render(sqlglot.parse_one(f"SELECT INTERVAL '{amount}' SECOND", read="proton"), pretty=False)
    assert sql == f"SELECT INTERVAL '{amount}' SECOND"
