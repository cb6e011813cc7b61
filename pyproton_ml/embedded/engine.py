"""An in-process ClickHouse (chDB) session that holds streams as tables.

It runs what Proton would run, rendered for ClickHouse: ``CREATE STREAM``
becomes a MergeTree table with the same columns, and historical queries lose
their ``table()`` wrappers and window table functions (see
``pyproton_ml.sql.embedded_dialect``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType

import pandas as pd
from sqlglot import exp

from pyproton_ml.errors import InputDataError
from pyproton_ml.features.streams import Stream
from pyproton_ml.sql.identifiers import column, identifier, table
from pyproton_ml.sql.render import Target
from pyproton_ml.sql.render import render

logger = logging.getLogger(__name__)


class EmbeddedEngine:
    """A chDB session in a temporary directory, removed by :meth:`close`.

    Times are interpreted in UTC whatever the machine's time zone, as in the
    bundled Proton stack.
    """

    def __init__(self) -> None:
        self._directory: Path | None = None
        self._session = None

    def __enter__(self) -> EmbeddedEngine:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        # Imported here: chDB loads a large native library, which the rest of
        # the package (the UDF server, the CLI's help) does not need.
        import chdb.session

        self._directory = Path(tempfile.mkdtemp(prefix="pyproton-ml-chdb-"))
        self._session = chdb.session.Session(str(self._directory / "data"))
        self._session.query("SET session_timezone = 'UTC'")
        logger.info("Started the embedded engine in %s", self._directory)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            logger.info("Stopped the embedded engine and removed %s", self._directory)
            self._directory = None

    def execute(self, statement: exp.Expr) -> None:
        """Render ``statement`` for ClickHouse and run it."""
        self._run(render(statement, Target.CLICKHOUSE))

    def create(self, stream: Stream) -> None:
        """Create the table that stands in for ``stream``."""
        self.execute(stream.create_statement())
        logger.debug("Created table %s", stream.name)

    def insert(self, stream: Stream, frame: pd.DataFrame) -> int:
        """Insert the columns of ``stream`` from ``frame``; return the row count."""
        missing = [name for name in stream.column_names if name not in frame.columns]
        if missing:
            raise InputDataError(
                f"Rows for stream {stream.name!r} lack columns {missing}; "
                f"expected {list(stream.column_names)}, got {list(frame.columns)[:20]}."
            )

        path = self._require_directory() / f"insert-{stream.name}-{time.monotonic_ns()}.parquet"
        frame.loc[:, list(stream.column_names)].to_parquet(path, index=False)
        try:
            columns = [column(name) for name in stream.column_names]
            source = exp.Anonymous(
                this="file",
                expressions=[exp.Literal.string(str(path)), exp.var("Parquet")],
            )
            insert = exp.Insert(
                this=exp.Schema(
                    this=table(stream.name), expressions=[identifier(name, kind="column") for name in stream.column_names]
                ),
                expression=exp.select(*columns).from_(exp.Table(this=source)),
            )
            self._run(render(insert, Target.CLICKHOUSE, pretty=False))
        finally:
            path.unlink(missing_ok=True)

        logger.info("Inserted %d rows into %s", len(frame), stream.name)
        return len(frame)

    def query(self, query: exp.Expr) -> pd.DataFrame:
        """Run a historical query and return its rows."""
        return self._run(render(query, Target.CLICKHOUSE), output="DataFrame")

    def _run(self, sql: str, output: str = "CSV") -> pd.DataFrame | None:
        if self._session is None:
            raise RuntimeError("The embedded engine is not started; use it as a context manager or call start().")
        started = time.perf_counter()
        result = self._session.query(sql, output)
        logger.debug("Ran SQL in %.1f ms", (time.perf_counter() - started) * 1000)
        return result if output == "DataFrame" else None

    def _require_directory(self) -> Path:
        if self._directory is None:
            raise RuntimeError("The embedded engine is not started; use it as a context manager or call start().")
        return self._directory
