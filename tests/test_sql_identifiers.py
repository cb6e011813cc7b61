"""Names and literals in generated SQL: hostile input is rejected or escaped."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from pyproton_ml.errors import InvalidIdentifierError
from pyproton_ml.sql import render
from pyproton_ml.sql.identifiers import identifier
from pyproton_ml.sql.identifiers import validate_column_name
from pyproton_ml.sql.identifiers import validate_identifier


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("a; DROP STREAM payments", "use only letters"),
        ("`x`", "use only letters"),
        ("x y", "use only letters"),
        ("1abc", "starting with a letter"),
        ("caf\u00e9", "use only letters"),
        ("a\nb", "use only letters"),
        ("x" * 256, "256 characters"),
        (123, "expected a string"),
        (None, "expected a string"),
    ],
)
def test_invalid_identifier_rejected(name: object, message: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=message):
        validate_identifier(name, kind="stream")


@pytest.mark.parametrize("name", ["_tp_time", "_tp_sn", "_tp_delta"])
def test_reserved_column_rejected(name: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="reserves"):
        validate_column_name(name)


@pytest.mark.parametrize("name", ["card_id", "_private", "A1", "x" * 255])
def test_valid_identifier_accepted(name: str) -> None:
    assert validate_identifier(name) == name


@pytest.mark.parametrize(
    ("name", "quoted"),
    [("select", True), ("Table", True), ("amount", False), ("Index", True), ("projection", True), ("TRUE", True), ("function", True)],
)
def test_keyword_identifier_quoted(name: str, quoted: bool) -> None:
    assert identifier(name).args["quoted"] is quoted


def test_quoted_keyword_parses_back() -> None:
    query = exp.select(exp.column(identifier("select"))).from_(exp.Table(this=identifier("from")))
    sql = render(query, pretty=False)
    assert sqlglot.parse_one(sql, read="proton").find(exp.Column).name == "select"


@pytest.mark.parametrize("text", ["it's", "back\\slash", "x' OR 1=1 --", "line\nbreak", "\u00fcml\u00e4ut"])
def test_string_literal_escaped(text: str) -> None:
    sql = render(exp.select(exp.Literal.string(text)), pretty=False)
    assert sqlglot.parse_one(sql, read="proton").expressions[0].name == text
