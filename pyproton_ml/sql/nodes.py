"""sqlglot expression types for the Proton constructs that ClickHouse lacks.

Each type is rendered by the Proton generator (``dialect.py``) and either
rewritten into plain ClickHouse or rejected by the embedded generator
(``embedded_dialect.py``).
"""

from __future__ import annotations

from sqlglot import exp


class IntervalShorthand(exp.Expression):
    """An interval written as a number and a unit suffix, such as ``10m`` or ``5s``.

    Proton accepts this form in window table functions and EMIT clauses
    (source: Proton 1.6 ``src/Parsers/Streaming/ParserIntervalAliasExpression.cpp``).
    """

    arg_types = {"this": True, "unit": True}

    @property
    def milliseconds(self) -> int:
        """The exact length. Compare intervals by this, not by the float :attr:`seconds`."""
        return int(self.this) * UNIT_MILLISECONDS[self.text("unit")]

    @property
    def seconds(self) -> float:
        return self.milliseconds / 1000


# Units Proton's interval alias parser accepts, and their length in milliseconds.
UNIT_MILLISECONDS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class StreamTable(exp.Expression):
    """A bounded historical read of a stream: ``table(name)``."""

    arg_types = {"this": True, "alias": False}


class WindowTableFunction(exp.Expression):
    """A window table function in FROM: ``tumble``, ``hop`` or ``session``.

    ``this`` is the source (a table or a :class:`StreamTable`), ``time_column``
    the event-time column, and ``expressions`` the interval arguments in Proton's
    order: ``hop(source, time, slide, size)`` puts the slide before the size.
    """

    arg_types = {"kind": True, "this": True, "time_column": False, "expressions": True, "alias": False}


class Emit(exp.Expression):
    """The EMIT clause of a streaming query.

    ``policy`` is one of ``AFTER WINDOW CLOSE``, ``PERIODIC`` or ``ON UPDATE``;
    ``interval`` goes with ``PERIODIC``; ``delay`` is the watermark delay and
    ``timeout`` the idle timeout.
    """

    arg_types = {"policy": True, "interval": False, "delay": False, "timeout": False, "stream": False}


class CreateStream(exp.Expression):
    """``CREATE [RANDOM|EXTERNAL] STREAM [IF NOT EXISTS] name (columns) [PRIMARY KEY ...] SETTINGS ...``.

    ``this`` is an ``exp.Schema`` over the table name and its ``ColumnDef``s;
    ``settings`` are ``exp.EQ`` pairs of name and literal.
    """

    arg_types = {"this": True, "exists": False, "primary_key": False, "settings": False}


class CreateMaterializedView(exp.Expression):
    """``CREATE MATERIALIZED VIEW [IF NOT EXISTS] name [INTO target] AS SELECT ...``.

    Source: Proton ``src/Parsers/Streaming/ParserCreateMaterializedViewQuery.cpp``.
    """

    arg_types = {"this": True, "into": False, "expression": True, "exists": False}


class CreateRemoteFunction(exp.Expression):
    """``CREATE [OR REPLACE] REMOTE FUNCTION name(arg type, ...) RETURNS type URL '...' ...``.

    ``expressions`` are ``ColumnDef``s for the arguments, ``returns`` a
    ``DataType``, ``url`` a string literal, ``auth_header`` and ``auth_key``
    string literals (both or neither), ``execution_timeout`` a number in ms.
    """

    arg_types = {
        "this": True,
        "expressions": True,
        "returns": True,
        "url": True,
        "auth_header": False,
        "auth_key": False,
        "execution_timeout": False,
        "replace": False,
    }


class DropFunction(exp.Expression):
    """``DROP FUNCTION [IF EXISTS] name``."""

    arg_types = {"this": True, "exists": False}


PROTON_NODES: tuple[type[exp.Expression], ...] = (
    IntervalShorthand,
    StreamTable,
    WindowTableFunction,
    Emit,
    CreateStream,
    CreateMaterializedView,
    CreateRemoteFunction,
    DropFunction,
)


def node_transforms(generator: type) -> dict[type[exp.Expression], object]:
    """Map each Proton node to the generator's ``<key>_sql`` method.

    sqlglot finds ``<key>_sql`` methods only for its own expression classes, so
    generators register ours through ``TRANSFORMS``.
    """
    return {node: getattr(generator, f"{node.key}_sql") for node in PROTON_NODES}
