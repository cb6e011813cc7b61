"""Proton column types as strings, parsed and checked through the Proton dialect."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from pyproton_ml.errors import FeatureDefinitionError

# sqlglot folds nullable(nullable(T)) into nullable(T), which hides a type that Proton rejects
# (ClickHouse src/DataTypes/DataTypeNullable.cpp: "Nested type ... cannot be inside Nullable type").
_NESTED_NULLABLE = re.compile(r"nullable\s*\(\s*(nullable|array|low_cardinality|map|tuple)\s*\(", re.IGNORECASE)

# Control characters other than white space, which no type string needs.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

NUMERIC_TYPES = frozenset(
    {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"}
)

# The values each integer type holds, lowest and highest.
INTEGER_RANGES = {
    **{f"int{bits}": (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) for bits in (8, 16, 32, 64)},
    **{f"uint{bits}": (0, 2**bits - 1) for bits in (8, 16, 32, 64)},
}


def parse_type(type_name: object, *, owner: str) -> exp.DataType:
    """Parse a Proton type string such as ``nullable(float64)`` into a sqlglot ``DataType``.

    ``owner`` names the column or feature in the error message.
    """
    if not isinstance(type_name, str) or not type_name.strip():
        raise FeatureDefinitionError(f"{owner}: the type {type_name!r} is not a Proton type string, such as 'float64'.")
    if _CONTROL_CHARACTER.search(type_name):
        raise FeatureDefinitionError(
            f"{owner}: the type {type_name!r:.80} contains a control character. Write only the type, such as 'float64'."
        )

    # parse_one, unlike exp.DataType.build, rejects text after the type ('float64; DROP') instead
    # of dropping it. SqlglotError covers ParseError and the tokenizer's TokenError, which an unclosed
    # quote raises, as in datetime64(3, 'UTC\') where the backslash escapes the closing quote.
    # ValueError and IndexError come from sqlglot's builders on broken arguments, RecursionError from deep nesting.
    try:
        tokens = sqlglot.tokenize(type_name, read="proton")
        data_type = sqlglot.parse_one(type_name, read="proton", into=exp.DataType)
        printed = data_type.sql("proton")
        reprinted = sqlglot.parse_one(printed, read="proton", into=exp.DataType).sql("proton")
    except (SqlglotError, ValueError, IndexError, RecursionError) as error:
        raise _not_a_type(type_name, owner) from error

    if any(token.comments for token in tokens):
        raise FeatureDefinitionError(
            f"{owner}: the type {type_name!r:.80} contains an SQL comment. Write only the type, such as 'float64'."
        )
    # sqlglot also reads spellings that Proton lacks and may print them as another type. For example,
    # 'int8[' becomes 'array(int8)', and 'int8[1]' prints as a type that reads back differently.
    if any(token.token_type in (TokenType.L_BRACKET, TokenType.R_BRACKET) for token in tokens) or reprinted != printed:
        raise _not_a_type(type_name, owner)
    if _NESTED_NULLABLE.search(type_name):
        raise FeatureDefinitionError(
            f"{owner}: {type_name!r:.80} wraps a nullable, array, low_cardinality, map or tuple type in nullable(), "
            "which Proton rejects. Put nullable() around the element type, e.g. 'array(nullable(float64))'."
        )
    return data_type


def _not_a_type(type_name: str, owner: str) -> FeatureDefinitionError:
    return FeatureDefinitionError(
        f"{owner}: {type_name!r:.80} is not a Proton type. "
        "Use lower-case Proton types such as 'float64', 'nullable(float64)', 'string' or 'datetime64(3)'."
    )


def normalize_type(type_name: str, *, owner: str) -> str:
    """Return the canonical Proton spelling of ``type_name`` (``Nullable(Float64)`` becomes ``nullable(float64)``)."""
    return parse_type(type_name, owner=owner).sql("proton")


def is_nullable(type_name: str) -> bool:
    return type_name.startswith("nullable(")


def base_type(type_name: str) -> str:
    """Strip one ``nullable(...)`` wrapper."""
    return type_name[len("nullable(") : -1] if is_nullable(type_name) else type_name
