"""Calling a remote UDF the way Proton does, for the embedded demo and tests.

What Proton sends (sources: Proton ``src/Functions/UserDefined/RemoteUserDefinedFunction.h``
and ``src/Common/sendRequest.cpp``, docs ``remote-udf.md``):

- ``POST`` with ``Content-Type: application/json``, ``x-timeplus-query-id:
  from-<query id>`` and, with ``AUTH_METHOD 'auth_header'``, ``<header>: <key>``;
- a ClickHouse ``JSONColumns`` body: one array per declared argument name;
- 64-bit integers as quoted strings before Proton 3.0.13 and as numbers since
  (release notes: "Disable quoting 64 bit integers in JSON formats by default");
- NaN and infinities as ``null``; ``date`` as ``"2023-07-27"``; ``datetime`` as
  ``"2023-07-27 04:00:00"``; ``datetime64(3)`` with ``.000`` milliseconds;
- one request per block, over one kept-alive connection per host and port.
"""

from __future__ import annotations

import http.client
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
import orjson
import pandas as pd

from pyproton_ml.errors import ProtonError
from pyproton_ml.models.types import Argument
from pyproton_ml.models.types import ProtonType
from pyproton_ml.models.types import parse_type

logger = logging.getLogger(__name__)

# Proton's historical reads deliver blocks of up to `max_block_size` rows.
MAX_BLOCK_SIZE = 65409

# Proton stopped quoting 64-bit integers in JSON in this release.
UNQUOTED_INT64_VERSION = (3, 0, 13)

# Proton's hard-coded connect timeout and its default EXECUTION_TIMEOUT, in seconds.
CONNECT_TIMEOUT_S = 2.0
DEFAULT_RECEIVE_TIMEOUT_S = 10.0


def encode_block(frame: pd.DataFrame, arguments: Sequence[Argument], *, proton_version: tuple[int, int, int]) -> bytes:
    """Encode ``frame`` as the JSONColumns body Proton would send for ``arguments``."""
    quote_int64 = proton_version < UNQUOTED_INT64_VERSION
    body = {argument.name: _encode_column(frame[argument.name], parse_type(argument.type), quote_int64) for argument in arguments}
    return orjson.dumps(body)


def _encode_column(series: pd.Series, proton_type: ProtonType, quote_int64: bool) -> list[object]:
    base = proton_type.base.name
    values = series.to_numpy()

    if base in ("float32", "float64", "decimal"):
        floats = values.astype("float64")
        return [None if not np.isfinite(value) else float(value) for value in floats]
    if base in ("int64", "uint64"):
        integers = [int(value) for value in values]
        return [str(value) for value in integers] if quote_int64 else integers
    if base.startswith(("int", "uint")):
        return [int(value) for value in values]
    if base == "bool":
        return [bool(value) for value in values]
    if base == "date":
        return list(pd.to_datetime(series).dt.strftime("%Y-%m-%d"))
    if base == "datetime":
        return list(pd.to_datetime(series).dt.strftime("%Y-%m-%d %H:%M:%S"))
    if base == "datetime64":
        return [text[:-3] for text in pd.to_datetime(series).dt.strftime("%Y-%m-%d %H:%M:%S.%f")]
    if base == "string":
        return ["" if value is None or value is pd.NA else str(value) for value in values]
    raise ProtonError(f"Encoding arguments of type {proton_type} is not implemented by the embedded UDF client.")


@dataclass
class RemoteUdfClient:
    """A client that posts blocks to one UDF URL over one kept-alive connection, like Proton."""

    url: str
    arguments: Sequence[Argument]
    auth_header: str | None = None
    auth_key: str | None = None
    proton_version: tuple[int, int, int] = (3, 0, 29)
    receive_timeout_s: float = DEFAULT_RECEIVE_TIMEOUT_S

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname:
            raise ProtonError(f"The embedded UDF client supports http:// URLs only, got {self.url!r}.")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._path = parts.path or "/"
        self._connection: http.client.HTTPConnection | None = None
        self.requests = 0

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def score(self, frame: pd.DataFrame, *, query_id: str | None = None) -> np.ndarray:
        """Send one block and return the ``result`` column; raise ``ProtonError`` as Proton would fail."""
        body = encode_block(frame, self.arguments, proton_version=self.proton_version)
        headers = {
            "Content-Type": "application/json",
            "x-timeplus-query-id": f"from-{query_id or uuid.uuid4()}",
        }
        if self.auth_header and self.auth_key:
            headers[self.auth_header] = self.auth_key

        status, payload = self._post(body, headers)
        if status != 200:
            message = payload.decode("utf-8", "replace")[:500]
            raise ProtonError(f"Call remote uri {self.url} failed, message: {message}, http_status: {status}")

        document = orjson.loads(payload)
        if set(document) != {"result"}:
            raise ProtonError(f"Unknown column found in input data: {sorted(document)[:5]}")
        result = document["result"]
        if len(result) != len(frame):
            raise ProtonError(f"wrong result, expected {len(frame)} row(s), actual {len(result)}")
        return np.asarray(result, dtype="float64")

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        # One retry on a connection the server closed while idle; Proton itself
        # does not retry, but it opens a new pooled connection on the next call.
        for attempt in (1, 2):
            connection = self._connect()
            try:
                connection.request("POST", self._path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                self.requests += 1
                return response.status, payload
            except (ConnectionError, http.client.HTTPException) as error:
                self.close()
                if attempt == 2:
                    raise ProtonError(f"Call remote uri {self.url} failed: {error}") from error
                logger.warning("Reconnecting to %s after %s", self.url, type(error).__name__)
        raise AssertionError("unreachable")

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self._host, self._port, timeout=CONNECT_TIMEOUT_S)
            self._connection.connect()
            if self._connection.sock is not None:
                self._connection.sock.settimeout(self.receive_timeout_s)
        return self._connection


def blocks(frame: pd.DataFrame, block_size: int) -> Iterator[pd.DataFrame]:
    """Split ``frame`` into consecutive blocks of at most ``block_size`` rows."""
    if block_size < 1:
        raise ValueError(f"block_size={block_size!r} must be at least 1.")
    for start in range(0, len(frame), block_size):
        yield frame.iloc[start : start + block_size]
