"""A thin proton-driver 0.3.0 client: apply DDL, insert frames, tail streaming queries."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pandas as pd
from proton_driver import Client
from proton_driver import errors as driver_errors
from sqlglot import exp

from pyproton_ml.errors import ProtonError
from pyproton_ml.proton.settings import ENV_PREFIX, ProtonSettings
from pyproton_ml.proton.statements import redact_statement, redact_text, scrub, secret_literals, summarize_statement
from pyproton_ml.sql.identifiers import identifier

logger = logging.getLogger(__name__)

DEFAULT_INSERT_BATCH_ROWS = 10_000
# How long tail() waits for Proton to confirm a cancel before it drops the connection.
_CANCEL_WAIT_S = 5.0


class _DropDriverTraceback(logging.Filter):
    """Keep proton-driver's "Failed to connect" record but drop its traceback.

    proton-driver 0.3.0 (`connection.py`, `Connection.connect`) logs every refused
    connection with ``exc_info=True`` before it raises NetworkError. ProtonClient
    raises a ProtonError with the cause instead, so the traceback is noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("Failed to connect"):
            record.exc_info = None
            record.exc_text = None
        return True


class _RedactDriverSecrets(logging.Filter):
    """Replace keys and passwords in proton-driver's log records with ``'***'``.

    proton-driver 0.3.0 logs every query at DEBUG (`connection.py`, ``send_query``:
    ``logger.debug('Query: %s', query)``), and `log.py` relays the server's own log
    lines, which can quote a query. A CREATE REMOTE FUNCTION carries its AUTH_KEY.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.msg) if isinstance(record.msg, str) else record.msg
        if isinstance(record.args, tuple):
            record.args = tuple(redact_text(value) if isinstance(value, str) else value for value in record.args)
        return True


# Logger filters see only records of their own logger, not of its children.
_DRIVER_LOGGERS = ("proton_driver.connection", "proton_driver.log", "proton_driver.client")
_driver_filters: tuple[logging.Filter, ...] = (_DropDriverTraceback(), _RedactDriverSecrets())


def _install_driver_filter() -> None:
    for name in _DRIVER_LOGGERS:
        driver_logger = logging.getLogger(name)
        for driver_filter in _driver_filters:
            if driver_filter not in driver_logger.filters:
                driver_logger.addFilter(driver_filter)


class ProtonClient:
    """One connection to a Proton server through proton-driver's native TCP client.

    The constructor only stores settings. The connection opens on first use and
    reopens after a network error. Not thread-safe: use one client per thread.
    """

    def __init__(self, settings: ProtonSettings | None = None, **overrides: Any) -> None:
        self.settings = ProtonSettings.from_env(**overrides) if settings is None else settings
        self._driver: Client | None = None

    def __enter__(self) -> ProtonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def close(self) -> None:
        """Close the connection if one is open."""
        if self._driver is not None:
            self._driver.disconnect()
            self._driver = None
            logger.debug("Closed Proton connection to %s", self.address)

    def ping(self) -> None:
        """Run ``SELECT 1`` and raise ProtonError when the server does not answer."""
        self._run("SELECT 1", description="ping")
        logger.debug("Proton at %s answered ping", self.address)

    def execute(self, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (an empty list for DDL)."""
        result = self._run(statement, params=params, description=str(summarize_statement(statement)))
        return result if isinstance(result, list) else []

    def apply(self, statements: Iterable[str]) -> int:
        """Run DDL statements in order, stop at the first failure, and return how many ran."""
        pending = list(statements)
        logger.info("Applying %d statement(s) to Proton at %s", len(pending), self.address)

        for index, statement in enumerate(pending, start=1):
            summary = summarize_statement(statement)
            logger.info("Applying statement %d/%d: %s", index, len(pending), summary)
            logger.debug("Statement %d SQL: %s", index, redact_statement(statement))
            self._run(statement, description=f"statement {index}/{len(pending)} ({summary})")

        logger.info("Applied %d statement(s) to Proton at %s", len(pending), self.address)
        return len(pending)

    def insert(self, stream: str, frame: pd.DataFrame, *, batch_rows: int = DEFAULT_INSERT_BATCH_ROWS) -> int:
        """Insert the rows of a DataFrame into a stream, ``batch_rows`` rows per INSERT.

        Columns are matched by name, so the frame may hold a subset of the stream's
        columns in any order. NaN, NaT and None become NULL. Returns the row count.
        """
        if batch_rows < 1:
            raise ValueError(f"Invalid batch_rows {batch_rows!r}: expected a positive number of rows per INSERT.")
        columns = [str(column) for column in frame.columns]
        query = insert_query(stream, columns)

        inserted = 0
        for start in range(0, len(frame), batch_rows):
            rows = _frame_rows(frame.iloc[start : start + batch_rows])
            self._run(query, params=rows, description=f"INSERT into {stream} (rows {start}-{start + len(rows) - 1})")
            inserted += len(rows)

        logger.info("Inserted %d row(s) into %s on Proton at %s", inserted, stream, self.address)
        return inserted

    def tail(self, query: str, *, limit: int, timeout_s: float) -> list[tuple[Any, ...]]:
        """Read up to ``limit`` rows of an unbounded streaming query, waiting at most ``timeout_s``.

        The query runs on its own connection and is cancelled once it has ``limit``
        rows or the time is up. Returns the rows read so far, possibly none.
        """
        if limit < 1 or timeout_s <= 0:
            raise ValueError(f"Invalid tail limits (limit={limit!r}, timeout_s={timeout_s!r}): expected limit >= 1 and timeout_s > 0.")

        query_id = str(uuid.uuid4())
        driver = self._new_driver(send_receive_timeout=timeout_s)
        deadline = time.monotonic() + timeout_s
        rows: list[tuple[Any, ...]] = []
        finished = False
        logger.info("Tailing query %s on Proton at %s (limit %d rows, timeout %.1f s)", query_id, self.address, limit, timeout_s)

        try:
            iterator: Iterator[tuple[Any, ...]] = iter(driver.execute_iter(query, query_id=query_id))
            while len(rows) < limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                _set_socket_timeout(driver, remaining)
                try:
                    rows.append(next(iterator))
                except StopIteration:
                    finished = True
                    break
        except driver_errors.SocketTimeoutError:
            # A read cut off mid-packet leaves the protocol out of step, so the
            # connection cannot be cancelled politely: drop it instead.
            logger.info("Tail of query %s timed out after %.1f s with %d row(s)", query_id, timeout_s, len(rows))
            driver.disconnect()
            return rows
        except driver_errors.Error as error:
            driver.disconnect()
            raise self._translate(error, f"tail query {query_id}", secrets=secret_literals(query)) from None

        if not finished:
            _cancel_quietly(driver, query_id)
        driver.disconnect()
        logger.info("Tail of query %s stopped with %d row(s)", query_id, len(rows))
        return rows

    def _run(self, statement: str, *, params: Any = None, description: str) -> Any:
        driver = self._connection()
        try:
            return driver.execute(statement, params)
        except driver_errors.Error as error:
            # proton-driver already closed the connection (disconnect_on_error), so drop our handle.
            self._driver = None
            raise self._translate(error, description, secrets=secret_literals(statement)) from None

    def _connection(self) -> Client:
        if self._driver is None:
            self._driver = self._new_driver(send_receive_timeout=self.settings.send_receive_timeout_s)
        return self._driver

    def _new_driver(self, *, send_receive_timeout: float) -> Client:
        _install_driver_filter()
        return Client(
            host=self.settings.host,
            port=self.settings.port,
            user=self.settings.user,
            password=self.settings.password,
            database=self.settings.database,
            connect_timeout=self.settings.connect_timeout_s,
            send_receive_timeout=send_receive_timeout,
        )

    def _translate(self, error: driver_errors.Error, description: str, *, secrets: list[str]) -> ProtonError:
        """Turn a proton-driver error into a ProtonError without passwords, keys or tracebacks."""
        hidden = [self.settings.password, *secrets]
        first_line = scrub(str(getattr(error, "message", None) or error), hidden).strip().splitlines()
        detail = first_line[0] if first_line else type(error).__name__
        code = getattr(error, "code", None)

        if isinstance(error, (driver_errors.NetworkError, driver_errors.SocketTimeoutError)):
            logger.info("Proton at %s is unreachable during %s: %s (code %s)", self.address, description, detail, code)
            return ProtonError(
                f"Proton at {self.address} is unreachable during {description}: {detail} (code {code}). "
                f"Check that the server runs and that {ENV_PREFIX}HOST and {ENV_PREFIX}PORT point to its native TCP port."
            )

        logger.info("Proton at %s rejected %s: code %s: %s", self.address, description, code, detail)
        return ProtonError(f"Proton at {self.address} rejected {description}: code {code}: {detail}")


def insert_query(stream: str, columns: list[str]) -> str:
    """Return ``INSERT INTO stream (c1, c2) VALUES``, the form proton-driver expects before row data."""
    table = exp.Table(this=identifier(stream, kind="stream"))
    if not columns:
        raise ValueError(f"Cannot insert into {stream!r}: the DataFrame has no columns.")

    target = exp.Schema(this=table, expressions=[identifier(name, kind="column") for name in columns])
    # proton-driver sends the rows after this text, so the statement ends with the bare VALUES keyword.
    return exp.Insert(this=target).sql(dialect="proton") + " VALUES"


def _frame_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Return the frame's rows as tuples of Python values, with missing values as None."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return [tuple(_python_value(value) for value in row) for row in cleaned.itertuples(index=False, name=None)]


def _python_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    item = getattr(value, "item", None)
    # numpy scalars expose item() to convert to the matching Python type.
    return item() if callable(item) and not isinstance(value, (str, bytes)) else value


def _set_socket_timeout(driver: Client, seconds: float) -> None:
    sock = getattr(driver.connection, "socket", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def _cancel_quietly(driver: Client, query_id: str) -> None:
    _set_socket_timeout(driver, _CANCEL_WAIT_S)
    try:
        driver.cancel()
        logger.debug("Cancelled query %s", query_id)
    except driver_errors.Error as error:
        logger.warning("Cancel of query %s failed (%s); dropping its connection", query_id, type(error).__name__)
