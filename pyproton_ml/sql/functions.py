"""ClickHouse function names and their Proton spellings.

Proton renamed ClickHouse's camelCase functions to snake_case. The mapping
below is a subset of the table in Proton's
``src/Parsers/ExpressionElementParsers.cpp`` (read at commit fe4ef29c), which
maps each lower-cased ClickHouse name to its Proton name. The feature compiler
builds expressions with ClickHouse names, so that the embedded engine (chDB)
runs them as written and the Proton generator renames them through this table.
"""

from __future__ import annotations

import re

from pyproton_ml.errors import UnsupportedError

PROTON_FUNCTION_NAMES = {
    "countIf": "count_if",
    "fromUnixTimestamp64Milli": "from_unix_timestamp64_milli",
    "ifNull": "if_null",
    "multiIf": "multi_if",
    "toFloat64": "to_float64",
    "toHour": "to_hour",
    "toStartOfInterval": "to_start_of_interval",
    "toUInt8": "to_uint8",
    "toUInt16": "to_uint16",
    "toUInt32": "to_uint32",
    "toUInt64": "to_uint64",
}

_CAMEL_CASE = re.compile(r"[a-z][A-Z]")


def proton_function_name(name: str) -> str:
    """Return the Proton spelling of a ClickHouse function name.

    Names without an inner capital (``count``, ``avg``, ``coalesce``, ``CAST``)
    are the same in both. A camelCase name missing from the table raises, so
    that no ClickHouse-only spelling reaches a Proton server.
    """
    if name in PROTON_FUNCTION_NAMES:
        return PROTON_FUNCTION_NAMES[name]

    if _CAMEL_CASE.search(name):
        raise UnsupportedError(
            f"Function {name!r} has no Proton spelling in pyproton_ml.sql.functions. "
            "Add its snake_case name from Proton's function table to PROTON_FUNCTION_NAMES."
        )

    return name
