"""Splitting SQL scripts into statements, and what the logs may show of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyproton_ml.errors import ProtonError
from pyproton_ml.proton import read_sql_directory, read_sql_file, redact_statement, split_statements, summarize_statement

SCRIPT = """-- Streams of the fraud example.
CREATE STREAM IF NOT EXISTS payments (
  event_id string,
  note string DEFAULT 'a;b -- not a comment'
) SETTINGS mode = 'append';

/* a block comment; with a semicolon */
CREATE MATERIALIZED VIEW IF NOT EXISTS payment_features_mv INTO payment_features AS
SELECT `odd;name` FROM tumble(payments, 5s) GROUP BY window_start;
-- trailing comment only
"""


def test_split_statements_script() -> None:
    statements = split_statements(SCRIPT)

    assert len(statements) == 2
    assert statements[0].startswith("CREATE STREAM IF NOT EXISTS payments (")
    assert statements[0].endswith("SETTINGS mode = 'append'")
    assert "'a;b -- not a comment'" in statements[0]
    assert statements[1].startswith("CREATE MATERIALIZED VIEW")
    assert "`odd;name`" in statements[1]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("", []),
        ("-- only a comment\n", []),
        (";;", []),
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1;\nSELECT 2", ["SELECT 1", "SELECT 2"]),
        ("SELECT ';'; SELECT \"a;b\";", ["SELECT ';'", 'SELECT "a;b"']),
    ],
)
def test_split_statements_cases(script: str, expected: list[str]) -> None:
    assert split_statements(script) == expected


def test_split_statements_unclosed_string_raises() -> None:
    with pytest.raises(ProtonError, match=r"Cannot split SQL from 'x.sql'.*unclosed string"):
        split_statements("SELECT 'oops;", source="x.sql")


def test_read_sql_directory_orders_files(tmp_path: Path) -> None:
    (tmp_path / "020_views.sql").write_text("CREATE VIEW v AS SELECT 1;\n")
    (tmp_path / "010_streams.sql").write_text("CREATE STREAM a (x int8);\nCREATE STREAM b (x int8);\n")
    (tmp_path / "notes.txt").write_text("not sql;")

    statements = read_sql_directory(tmp_path)

    assert statements == ["CREATE STREAM a (x int8)", "CREATE STREAM b (x int8)", "CREATE VIEW v AS SELECT 1"]


@pytest.mark.parametrize(("name", "match"), [("missing", "is not a directory"), ("empty", "contains no \\*.sql files")])
def test_read_sql_directory_errors(tmp_path: Path, name: str, match: str) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(ProtonError, match=match):
        read_sql_directory(tmp_path / name)


def test_read_sql_file_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(ProtonError, match="Cannot read SQL file"):
        read_sql_file(tmp_path / "absent.sql")


def test_read_sql_file_not_utf8_raises(tmp_path: Path) -> None:
    path = tmp_path / "latin1.sql"
    path.write_bytes("SELECT 'café'".encode("latin-1"))

    with pytest.raises(ProtonError, match=r"latin1\.sql': byte 11 is not UTF-8 .*Save the file as UTF-8"):
        read_sql_file(path)


@pytest.mark.parametrize(
    ("statement", "kind", "name"),
    [
        ("CREATE STREAM IF NOT EXISTS payments (a string)", "CREATE STREAM", "payments"),
        ("CREATE MATERIALIZED VIEW IF NOT EXISTS mv INTO s AS SELECT 1", "CREATE MATERIALIZED VIEW", "mv"),
        ("CREATE OR REPLACE REMOTE FUNCTION fraud_score(a float64) RETURNS float64 URL 'u'", "CREATE OR REPLACE REMOTE FUNCTION", "fraud_score"),
        ("CREATE RANDOM STREAM r (a int8) SETTINGS eps=1", "CREATE RANDOM STREAM", "r"),
        ("CREATE EXTERNAL STREAM db.k (raw string) SETTINGS type='kafka'", "CREATE EXTERNAL STREAM", "db.k"),
        ("DROP FUNCTION IF EXISTS fraud_score", "DROP FUNCTION", "fraud_score"),
        ("DROP STREAM payments", "DROP STREAM", "payments"),
        ("INSERT INTO payments (a) VALUES", "INSERT", "payments"),
        ("SELECT 1", "SELECT", None),
        ("-- nothing", "EMPTY", None),
    ],
)
def test_summarize_statement(statement: str, kind: str, name: str | None) -> None:
    summary = summarize_statement(statement)

    assert summary.kind == kind
    assert summary.name == name


@pytest.mark.parametrize(
    ("statement", "secret"),
    [
        ("CREATE REMOTE FUNCTION f(a float64) RETURNS float64 URL 'http://u' AUTH_METHOD 'auth_header' AUTH_HEADER 'X-API-Key' AUTH_KEY 'k3y-value'", "k3y-value"),
        ("CREATE EXTERNAL STREAM k (raw string) SETTINGS type='kafka', username='u', password='pa55'", "pa55"),
        ("CREATE EXTERNAL STREAM k (raw string) SETTINGS sasl_password = 'pa55'", "pa55"),
    ],
)
def test_redact_statement_hides_secrets(statement: str, secret: str) -> None:
    redacted = redact_statement(statement)

    assert secret not in redacted
    assert "'***'" in redacted


def test_redact_statement_keeps_other_literals() -> None:
    statement = "CREATE REMOTE FUNCTION f(a float64) RETURNS float64 URL 'http://u' AUTH_KEY 'k'"

    assert "'http://u'" in redact_statement(statement)
