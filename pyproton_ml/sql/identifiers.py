"""Validation and quoting of stream, column and view names.

Proton (like ClickHouse) accepts almost anything inside backquotes, but the names
we generate must also be valid remote-UDF argument names, Grafana column names
and Python identifiers in user code. We therefore accept only the portable
subset ``[A-Za-z_][A-Za-z0-9_]*`` and quote names that collide with a keyword.
"""

from __future__ import annotations

import re

from sqlglot import exp

from pyproton_ml.errors import InvalidIdentifierError

IDENTIFIER_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Proton limits names to the file-system name length; 255 bytes is also the
# ext4 limit for the on-disk directory of a stream.
MAX_IDENTIFIER_LENGTH = 255

# Columns that Proton adds to every stream. Source: Proton docs
# `sql-create-stream.md` (the `_tp_*` columns).
RESERVED_COLUMNS = frozenset({"_tp_time", "_tp_sn", "_tp_delta", "_tp_shard"})

# Words that must be quoted where they are used as names, because the
# Proton and ClickHouse parsers read them as keywords in that position.
KEYWORDS = frozenset(
    {
        "all", "and", "any", "array", "as", "asc", "asof", "between", "by", "case",
        "cross", "desc", "distinct", "else", "emit", "end", "except", "false", "from",
        "full", "function", "global", "group", "having", "in", "inner", "interval",
        "intersect", "into", "is", "join", "latest", "left", "like", "limit", "not",
        "null", "offset", "on", "or", "order", "outer", "prewhere", "right", "select",
        "settings", "stream", "table", "then", "true", "union", "using", "when",
        "where", "window", "with",
    }
    # Words that start a non-column element of a CREATE column list: an unquoted
    # column `index float64` reads as an index declaration. Source: Proton
    # src/Parsers/ParserCreateQuery.cpp (ParserTablePropertyDeclaration); FOREIGN
    # KEY is ClickHouse's, and PROJECTION is disabled in Proton but not in chDB.
    | {"constraint", "foreign", "index", "primary", "projection"}
)  # fmt: skip


def validate_identifier(name: object, *, kind: str = "identifier") -> str:
    """Check that ``name`` is a safe name and return it unchanged.

    ``kind`` names the role ("stream", "column", ...) in the error message.
    """
    if not isinstance(name, str):
        raise InvalidIdentifierError(f"Invalid {kind} name {name!r}: expected a string, got {type(name).__name__}.")

    if not name:
        raise InvalidIdentifierError(f"Invalid {kind} name: the name is empty. Use letters, digits and '_'.")

    if len(name) > MAX_IDENTIFIER_LENGTH:
        raise InvalidIdentifierError(
            f"Invalid {kind} name {name[:40]!r}...: it has {len(name)} characters, "
            f"and at most {MAX_IDENTIFIER_LENGTH} are allowed."
        )

    if not IDENTIFIER_PATTERN.fullmatch(name):
        raise InvalidIdentifierError(
            f"Invalid {kind} name {name[:80]!r}: use only letters, digits and '_', "
            "starting with a letter or '_' (for example 'card_id')."
        )

    return name


def validate_column_name(name: object) -> str:
    """Check a user-defined column name, which must also avoid Proton's reserved columns."""
    validated = validate_identifier(name, kind="column")
    if validated in RESERVED_COLUMNS:
        raise InvalidIdentifierError(
            f"Invalid column name {validated!r}: Proton reserves it "
            f"({', '.join(sorted(RESERVED_COLUMNS))}). Choose another name."
        )
    return validated


def identifier(name: str, *, kind: str = "identifier") -> exp.Identifier:
    """Build a validated sqlglot identifier, quoted when ``name`` is a keyword."""
    validated = validate_identifier(name, kind=kind)
    return exp.Identifier(this=validated, quoted=validated.lower() in KEYWORDS)


def column(name: str, table: str | None = None) -> exp.Column:
    """Build a validated, optionally qualified, column reference."""
    table_identifier = identifier(table, kind="table alias") if table else None
    return exp.Column(this=identifier(name, kind="column"), table=table_identifier)


def table(name: str, alias: str | None = None) -> exp.Table:
    """Build a validated table (stream) reference with an optional alias."""
    reference = exp.Table(this=identifier(name, kind="stream"))
    if alias:
        reference.set("alias", exp.TableAlias(this=identifier(alias, kind="table alias")))
    return reference
