"""Proton column types as strings, parsed and checked through the Proton dialect."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from pyproton_ml.errors import FeatureDefinitionError

# sqlglot folds nullable(nullable(T)) into nullable(T), which hides a type that Proton rejects
# (ClickHouse src/DataTypes/DataTypeNullable.cpp: "Nested type ... cannot be inside Nullable type").
_NESTED_NULLABLE = re.compile(r"nullable\s*\(\s*(nullable|array|low_cardinality|map|tuple)\s*\(", re.IGNORECASE)

NUMERIC_TYPES = frozenset(
    {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"}
)


def parse_type(type_name: object, *, owner: str) -> exp.DataType:
    """Parse a Proton type string such as ``nullable(float64)`` into a sqlglot ``DataType``.

    ``owner`` names the column or feature in the error message.
    """
    if not isinstance(type_name, str) or not type_name.strip():
        raise FeatureDefinitionError(f"{owner}: the type {type_name!r} is not a Proton type string, such as 'float64'.")

    # parse_one, unlike exp.DataType.build, rejects text after the type ('float64; DROP') instead
    # of dropping it. RecursionError comes from hundreds of nested brackets.
    try:
        data_type = sqlglot.parse_one(type_name, read="proton", into=exp.DataType)
    except (ParseError, ValueError, RecursionError) as error:
        raise FeatureDefinitionError(
            f"{owner}: {type_name!r:.80} is not a Proton type. "
            "Use lower-case Proton types such as 'float64', 'nullable(float64)', 'string' or 'datetime64(3)'."
        ) from error

    if _NESTED_NULLABLE.search(type_name):
        raise FeatureDefinitionError(
            f"{owner}: {type_name!r:.80} wraps a nullable, array, low_cardinality, map or tuple type in nullable(), "
            "which Proton rejects. Put nullable() around the element type, e.g. 'array(nullable(float64))'."
        )
    return data_type


def normalize_type(type_name: str, *, owner: str) -> str:
    """Return the canonical Proton spelling of ``type_name`` (``Nullable(Float64)`` becomes ``nullable(float64)``)."""
    return parse_type(type_name, owner=owner).sql("proton")


def is_nullable(type_name: str) -> bool:
    return type_name.startswith("nullable(")


def base_type(type_name: str) -> str:
    """Strip one ``nullable(...)`` wrapper."""
    return type_name[len("nullable(") : -1] if is_nullable(type_name) else type_name
