"""Validation of UDF function names and model version strings."""

from __future__ import annotations

import re

from pyproton_ml.errors import InvalidIdentifierError

# Proton's validateUDFName (timeplus-io/proton, src/Functions/UserDefined/UDFHelper.cpp) accepts
# [A-Za-z0-9_], needs at least one letter and a first character that is a letter or '_'.
# Every pattern here is used with fullmatch: `$` would also match before a trailing newline.
_FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Proton resolves aggregate-function combinators by snake_case suffix (for example
# src/AggregateFunctions/AggregateFunctionOrFill.cpp registers '_or_null' and '_or_default'),
# so a UDF whose name ends with one of them would be parsed as a combinator call.
COMBINATOR_SUFFIXES = (
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
)

_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def validate_function_name(name: object) -> str:
    """Return `name` when Proton accepts it as a remote UDF name, else raise `InvalidIdentifierError`."""
    if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name) or not re.search(r"[A-Za-z]", name):
        raise InvalidIdentifierError(
            f"Invalid UDF function name {name!r:.80}. Use letters, digits and underscores, "
            "start with a letter or underscore, and include at least one letter."
        )
    lowered = name.lower()
    for suffix in sorted(COMBINATOR_SUFFIXES, key=len, reverse=True):
        if lowered.endswith(suffix):
            raise InvalidIdentifierError(
                f"Invalid UDF function name {name!r:.80}: it ends with the aggregate combinator suffix "
                f"{suffix!r}, which Proton would parse as a combinator. Rename it, e.g. to {name + '_udf'!r}."
            )
    return name


def validate_version(version: object) -> str:
    """Return `version` when it is safe as one directory name, else raise `InvalidIdentifierError`."""
    if not isinstance(version, str) or not _VERSION.fullmatch(version) or ".." in version:
        raise InvalidIdentifierError(
            f"Invalid model version {version!r:.80}. Use 1 to 64 characters from letters, digits, "
            "'.', '_' and '-', starting with a letter or digit, e.g. '3' or '2024-06-01'."
        )
    return version
