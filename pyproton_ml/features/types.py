"""Proton column types as strings, parsed and checked through the Proton dialect."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError

from pyproton_ml.errors import FeatureDefinitionError

NUMERIC_TYPES = frozenset(
    {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"}
)


def parse_type(type_name: object, *, owner: str) -> exp.DataType:
    """Parse a Proton type string such as ``nullable(float64)`` into a sqlglot ``DataType``.

    ``owner`` names the column or feature in the error message.
    """
    if not isinstance(type_name, str) or not type_name.strip():
        raise FeatureDefinitionError(f"{owner}: the type {type_name!r} is not a Proton type string, such as 'float64'.")

    try:
        data_type = exp.DataType.build(type_name, dialect="proton", udt=False)
    except (ParseError, ValueError) as error:
        raise FeatureDefinitionError(
            f"{owner}: {type_name!r} is not a Proton type. "
            "Use lower-case Proton types such as 'float64', 'nullable(float64)', 'string' or 'datetime64(3)'."
        ) from error

    return data_type


def normalize_type(type_name: str, *, owner: str) -> str:
    """Return the canonical Proton spelling of ``type_name`` (``Nullable(Float64)`` becomes ``nullable(float64)``)."""
    return parse_type(type_name, owner=owner).sql("proton")


def is_nullable(type_name: str) -> bool:
    return type_name.startswith("nullable(")


def base_type(type_name: str) -> str:
    """Strip one ``nullable(...)`` wrapper."""
    return type_name[len("nullable(") : -1] if is_nullable(type_name) else type_name
