"""``CREATE REMOTE FUNCTION`` and ``DROP FUNCTION`` statements for model UDFs.

Grammar source: Proton ``src/Parsers/ParserCreateFunctionQuery.cpp`` (the
``REMOTE FUNCTION`` branch: ``URL``, then ``AUTH_METHOD 'none'`` or
``'auth_header'`` with ``AUTH_HEADER`` and ``AUTH_KEY``), and the Proton docs
``remote-udf.md`` for ``EXECUTION_TIMEOUT`` in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlglot import exp

from pyproton_ml.errors import InvalidIdentifierError
from pyproton_ml.features.types import parse_type
from pyproton_ml.models.names import validate_function_name
from pyproton_ml.sql.identifiers import identifier
from pyproton_ml.sql.nodes import CreateRemoteFunction
from pyproton_ml.sql.nodes import DropFunction

# Proton's receive timeout for a remote call when EXECUTION_TIMEOUT is absent.
DEFAULT_EXECUTION_TIMEOUT_MS = 10_000

# An HTTP header name is an RFC 9110 token.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def create_remote_function(
    function_name: str,
    arguments: Sequence[tuple[str, str]],
    *,
    return_type: str,
    url: str,
    auth_header: str | None = None,
    auth_key: str | None = None,
    execution_timeout_ms: int = DEFAULT_EXECUTION_TIMEOUT_MS,
    replace: bool = True,
) -> CreateRemoteFunction:
    """Build the registration statement after checking every part Proton would reject."""
    validate_function_name(function_name)
    if not arguments:
        raise InvalidIdentifierError(f"Remote function {function_name!r} needs at least one argument.")

    definitions = [
        exp.ColumnDef(this=identifier(name, kind="argument"), kind=parse_type(type_name, owner=f"Argument {name!r}"))
        for name, type_name in arguments
    ]

    _validate_url(url)
    if (auth_header is None) != (auth_key is None):
        raise InvalidIdentifierError("Pass both auth_header and auth_key, or neither for AUTH_METHOD 'none'.")
    if auth_header is not None:
        if not _HEADER_NAME.fullmatch(auth_header):
            raise InvalidIdentifierError(f"Invalid HTTP header name {auth_header!r}; use a token such as 'X-API-Key'.")
        if not auth_key or any(character in auth_key for character in "\r\n\0"):
            raise InvalidIdentifierError("The auth key is empty or has a line break or NUL; set a printable key.")

    if isinstance(execution_timeout_ms, bool) or not isinstance(execution_timeout_ms, int) or execution_timeout_ms <= 0:
        raise InvalidIdentifierError(f"execution_timeout_ms={execution_timeout_ms!r} must be a positive whole number of milliseconds.")

    return CreateRemoteFunction(
        this=identifier(function_name, kind="function"),
        expressions=definitions,
        returns=parse_type(return_type, owner=f"Return type of {function_name!r}"),
        url=exp.Literal.string(url),
        auth_header=exp.Literal.string(auth_header) if auth_header is not None else None,
        auth_key=exp.Literal.string(auth_key) if auth_key is not None else None,
        execution_timeout=exp.Literal.number(execution_timeout_ms),
        replace=replace,
    )


def drop_function(function_name: str) -> DropFunction:
    """Build ``DROP FUNCTION IF EXISTS name``."""
    validate_function_name(function_name)
    return DropFunction(this=identifier(function_name, kind="function"), exists=True)


# A DNS name (with underscores, which Docker service names may hold) or IPv4 address, or an IPv6 address in brackets.
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\]")


def _validate_url(url: object) -> None:
    if not isinstance(url, str):
        raise InvalidIdentifierError(f"The UDF URL {url!r} is not a string.")
    try:
        parts = urlsplit(url)
        # Reading the port raises for a port out of range or not a number.
        parts.port
    except ValueError as error:
        raise InvalidIdentifierError(
            f"Invalid UDF URL {url[:120]!r}: {error}. Use http:// or https:// with a host, such as 'http://udf:8000'."
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidIdentifierError(
            f"Invalid UDF URL {url[:120]!r}: use http:// or https:// with a host, such as 'http://udf:8000/udf/fraud_score'."
        )
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise InvalidIdentifierError(f"Invalid UDF URL {url[:120]!r}: it contains white space or control characters.")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise InvalidIdentifierError(
            f"Invalid UDF URL {url[:120]!r}: a ?query or #fragment would swallow the /udf/<function> path. "
            "Pass the server's base URL only, such as 'http://udf:8000'."
        )
    if "@" in parts.netloc:
        # A password here would be stored in Proton's function definition and shown in logs.
        raise InvalidIdentifierError(
            f"Invalid UDF URL {url.split('@')[-1][:120]!r} with user information: drop 'user:password@' "
            "and authenticate with the auth header and key instead."
        )
    if not _HOST.fullmatch(parts.netloc.rsplit(":", 1)[0] if parts.port is not None else parts.netloc) or parts.port == 0:
        raise InvalidIdentifierError(
            f"Invalid UDF URL {url[:120]!r}: expected a host name, an IPv4 address or a bracketed IPv6 "
            "address, and a port from 1 to 65535, such as 'http://udf:8000'."
        )
