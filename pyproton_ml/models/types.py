"""Proton argument types: a small parser for the lowercase type strings that remote UDFs declare.

The accepted spellings are the lowercase type names of Proton streams and
`CREATE REMOTE FUNCTION` (for example `float64`, `nullable(int32)`,
`datetime64(3, 'UTC')`, `array(float32)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyproton_ml.errors import InputDataError

SIGNED_INTEGERS = ("int8", "int16", "int32", "int64")
UNSIGNED_INTEGERS = ("uint8", "uint16", "uint32", "uint64")
FLOATS = ("float32", "float64")
SIMPLE_TYPES = SIGNED_INTEGERS + UNSIGNED_INTEGERS + FLOATS + ("bool", "string", "date", "datetime")
WRAPPER_TYPES = ("nullable", "low_cardinality", "array")
ALL_TYPE_NAMES = SIMPLE_TYPES + WRAPPER_TYPES + ("decimal", "datetime64")

# Inclusive (min, max) of every integer type.
INTEGER_BOUNDS: dict[str, tuple[int, int]] = {
    **{name: (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) for name, bits in zip(SIGNED_INTEGERS, (8, 16, 32, 64))},
    **{name: (0, 2**bits - 1) for name, bits in zip(UNSIGNED_INTEGERS, (8, 16, 32, 64))},
}

# ASCII only: `\d` and `\s` would also match other scripts' digits and spaces. A quoted parameter is
# a time zone, whose IANA names use letters, digits, '/', '_', '-' and '+'.
_TOKEN = re.compile(
    r"\s*(?:(?P<word>[a-z_][a-z0-9_]*)|(?P<number>[0-9]+)|(?P<quoted>'[A-Za-z0-9/_+-]*')|(?P<punct>[(),]))", re.ASCII
)
_ASCII_SPACE = " \t\n\r\f\v"
_NUMBER = re.compile(r"[0-9]+")
# Used with fullmatch: `$` would also match before a trailing newline.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_TYPE_DEPTH = 8

# ClickHouse's DataTypeNullable constructor rejects these inside nullable() ("Nested type ... cannot
# be inside Nullable type", src/DataTypes/DataTypeNullable.cpp), and Proton inherits that check.
_NOT_INSIDE_NULLABLE = ("nullable", "array", "low_cardinality")


@dataclass(frozen=True)
class ProtonType:
    """A parsed Proton type: a base name, numeric or quoted parameters, and the wrapped type if any."""

    name: str
    parameters: tuple[str, ...] = ()
    inner: ProtonType | None = None

    def __str__(self) -> str:
        if self.inner is not None:
            return f"{self.name}({self.inner})"
        if self.parameters:
            return f"{self.name}({', '.join(self.parameters)})"
        return self.name

    @property
    def base(self) -> ProtonType:
        """The type under `nullable` and `low_cardinality` wrappers (arrays are kept)."""
        current = self
        while current.name in ("nullable", "low_cardinality") and current.inner is not None:
            current = current.inner
        return current

    @property
    def is_nullable(self) -> bool:
        current: ProtonType | None = self
        while current is not None and current.name in ("nullable", "low_cardinality"):
            if current.name == "nullable":
                return True
            current = current.inner
        return False

    @property
    def is_numeric(self) -> bool:
        """True for integers, floats, decimals and bool, whose values a model reads as numbers."""
        return self.base.name in SIGNED_INTEGERS + UNSIGNED_INTEGERS + FLOATS + ("decimal", "bool")


def parse_type(text: str) -> ProtonType:
    """Parse a lowercase Proton type string such as `nullable(float64)` into a `ProtonType`.

    Raises `InputDataError` for an unknown type name, wrong parameters or trailing text.
    """
    if not isinstance(text, str):
        raise InputDataError(f"A Proton type must be a string, got {text!r:.80}.")
    tokens = _tokenize(text)
    parsed, position = _parse_tokens(text, tokens, 0)
    if position != len(tokens):
        raise InputDataError(f"Invalid Proton type {text!r:.80}: unexpected text after {str(parsed)!r}.")
    return parsed


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    stripped = text.rstrip(_ASCII_SPACE)
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            raise _token_error(text, stripped, position)
        tokens.append(match.group(match.lastgroup or "punct"))
        position = match.end()
    if not tokens:
        raise InputDataError("A Proton type must not be empty; use a type such as 'float64'.")
    return tokens


def _token_error(text: str, stripped: str, position: int) -> InputDataError:
    if stripped[position:].lstrip(_ASCII_SPACE).startswith("'"):
        return InputDataError(
            f"Invalid Proton type {text!r:.80}: a quoted time zone may contain only ASCII letters, digits, "
            "'/', '_', '-' and '+', e.g. 'UTC' or 'Europe/Berlin'."
        )
    return InputDataError(
        f"Invalid Proton type {text!r:.80}: unexpected character at position {position}. "
        "Write types in lowercase, for example 'float64' or 'nullable(int32)'."
    )


def _parse_tokens(text: str, tokens: list[str], position: int, depth: int = 1) -> tuple[ProtonType, int]:
    if depth > MAX_TYPE_DEPTH:
        raise InputDataError(f"Invalid Proton type {text!r:.80}: it nests more than {MAX_TYPE_DEPTH} types deep.")
    if position >= len(tokens):
        raise InputDataError(f"Invalid Proton type {text!r:.80}: a type name is missing at the end.")
    name = tokens[position]
    if name not in ALL_TYPE_NAMES:
        raise InputDataError(
            f"Unknown Proton type {name!r:.40} in {text!r:.80}. "
            f"Use one of: {', '.join(ALL_TYPE_NAMES)} (lowercase)."
        )
    position += 1
    has_arguments = position < len(tokens) and tokens[position] == "("

    if name in SIMPLE_TYPES:
        if has_arguments:
            raise InputDataError(f"Invalid Proton type {text!r:.80}: {name!r} takes no parameters.")
        return ProtonType(name), position

    if not has_arguments:
        if name == "datetime64":
            raise InputDataError(f"Invalid Proton type {text!r:.80}: write datetime64 with a precision, e.g. 'datetime64(3)'.")
        raise InputDataError(f"Invalid Proton type {text!r:.80}: {name!r} needs parameters in brackets.")
    position += 1

    if name in WRAPPER_TYPES:
        inner, position = _parse_tokens(text, tokens, position, depth + 1)
        if name == "nullable" and inner.name in _NOT_INSIDE_NULLABLE:
            raise InputDataError(
                f"Invalid Proton type {text!r:.80}: {inner.name} cannot be inside nullable. "
                "Write nullable() around the element type, e.g. 'array(nullable(float64))'."
            )
        position = _expect(text, tokens, position, ")")
        return ProtonType(name, inner=inner), position

    parameters, position = _parse_parameters(text, tokens, position)
    _check_parameters(text, name, parameters)
    return ProtonType(name, parameters=parameters), position


def _parse_parameters(text: str, tokens: list[str], position: int) -> tuple[tuple[str, ...], int]:
    parameters: list[str] = []
    while True:
        if position >= len(tokens):
            raise InputDataError(f"Invalid Proton type {text!r:.80}: missing ')'.")
        parameters.append(tokens[position])
        position += 1
        if position < len(tokens) and tokens[position] == ",":
            position += 1
            continue
        return tuple(parameters), _expect(text, tokens, position, ")")


def _check_parameters(text: str, name: str, parameters: tuple[str, ...]) -> None:
    if name == "decimal":
        if len(parameters) != 2 or not all(_NUMBER.fullmatch(p) for p in parameters):
            raise InputDataError(f"Invalid Proton type {text!r:.80}: write decimal as 'decimal(P, S)' with integers P and S.")
        precision, scale = _bounded_int(parameters[0]), _bounded_int(parameters[1])
        if not 1 <= precision <= 76 or not 0 <= scale <= precision:
            raise InputDataError(f"Invalid Proton type {text!r:.80}: decimal needs 1 <= P <= 76 and 0 <= S <= P.")
    if name == "datetime64":
        if not parameters or not _NUMBER.fullmatch(parameters[0]) or _bounded_int(parameters[0]) > 9:
            raise InputDataError(f"Invalid Proton type {text!r:.80}: datetime64 needs a precision from 0 to 9.")
        if len(parameters) > 2 or (len(parameters) == 2 and not parameters[1].startswith("'")):
            raise InputDataError(f"Invalid Proton type {text!r:.80}: the second datetime64 parameter is a quoted time zone.")


def _bounded_int(digits: str) -> int:
    # int() rejects strings of more than 4300 digits with a plain ValueError; every limit here is small.
    return int(digits) if len(digits) <= 9 else 10**9


def _expect(text: str, tokens: list[str], position: int, token: str) -> int:
    if position >= len(tokens) or tokens[position] != token:
        found = tokens[position] if position < len(tokens) else "the end"
        raise InputDataError(f"Invalid Proton type {text!r:.80}: expected {token!r}, found {found!r}.")
    return position + 1


@dataclass(frozen=True)
class Argument:
    """One declared argument of a remote UDF: its name in the JSONColumns body and its Proton type."""

    name: str
    type: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise InputDataError(
                f"Invalid argument name {self.name!r:.80}. "
                "Use letters, digits and underscores, starting with a letter or underscore."
            )
        parse_type(self.type)

    @property
    def proton_type(self) -> ProtonType:
        return parse_type(self.type)
