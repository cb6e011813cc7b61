"""ClickHouse as the embedded engine (chDB) runs it, with Proton nodes rewritten.

The historical form of a feature pipeline is one expression tree. The Proton
generator prints it with ``table()`` reads and window table functions; this
generator prints the same tree as plain ClickHouse: ``table(s)`` becomes ``s``,
and ``tumble``/``hop`` become a subquery that assigns each row to its windows.
Streaming-only constructs (EMIT, session windows, stream DDL settings) raise
``UnsupportedError`` instead of being dropped.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.generators.clickhouse import ClickHouseGenerator

from pyproton_ml.errors import UnsupportedError
from pyproton_ml.sql import nodes


def _seconds_literal(interval: exp.Expr) -> int:
    if not isinstance(interval, nodes.IntervalShorthand):
        raise UnsupportedError(f"Window interval {interval.sql()!r} must be written as a number and unit, like 10m.")
    seconds, remainder = divmod(interval.milliseconds, 1000)
    if remainder or seconds <= 0:
        raise UnsupportedError(
            f"The embedded engine runs windows of whole seconds only, and {interval.this}{interval.text('unit')} is not. "
            "Run this query on Proton or use whole seconds, such as 1s."
        )
    return seconds


def _interval_seconds(seconds: exp.Expr | int) -> exp.Expr:
    argument = exp.Literal.number(seconds) if isinstance(seconds, int) else seconds
    return exp.Anonymous(this="toIntervalSecond", expressions=[argument])


def window_subquery(window: nodes.WindowTableFunction) -> exp.Subquery:
    """Rewrite a tumble or hop window table function into a ClickHouse subquery.

    Proton aligns windows to multiples of the slide since the Unix epoch and
    treats them as half-open ``[window_start, window_end)`` (docs
    ``tumble-aggregation.md`` and ``hop-aggregation.md``). A row at time ``t``
    belongs to the hop windows starting at ``floor(t / slide) * slide - k * slide``
    for ``k`` in ``0 .. size / slide - 1``; ``arrayJoin`` emits one row per window.
    """
    kind = window.text("kind")
    time_column = window.args.get("time_column")
    if time_column is None:
        raise UnsupportedError("The embedded engine needs an explicit time column in tumble() and hop().")

    source = window.this
    if isinstance(source, nodes.StreamTable):
        source = source.this.copy()

    if kind == "tumble":
        (size_interval,) = window.expressions
        slide = size = _seconds_literal(size_interval)
    elif kind == "hop":
        slide_interval, size_interval = window.expressions
        slide = _seconds_literal(slide_interval)
        size = _seconds_literal(size_interval)
        if size % slide:
            raise UnsupportedError(f"hop() size {size}s must be a whole multiple of its slide {slide}s.")
    else:
        raise UnsupportedError(f"The embedded engine cannot run {kind}() windows; they need a Proton server.")

    aligned = exp.Anonymous(this="toStartOfInterval", expressions=[time_column.copy(), _interval_seconds(slide)])
    if size == slide:
        window_start: exp.Expr = aligned
    else:
        offset = exp.Identifier(this="window_offset")
        starts = exp.Anonymous(
            this="arrayMap",
            expressions=[
                exp.Lambda(
                    this=exp.Sub(this=aligned, expression=_interval_seconds(exp.Mul(this=exp.column(offset), expression=exp.Literal.number(slide)))),
                    expressions=[offset],
                ),
                exp.Anonymous(this="range", expressions=[exp.Literal.number(size // slide)]),
            ],
        )
        window_start = exp.Anonymous(this="arrayJoin", expressions=[starts])

    window_end = exp.Add(this=exp.column("window_start"), expression=_interval_seconds(size))
    select = exp.select(
        exp.Star(),
        exp.alias_(window_start, "window_start"),
        exp.alias_(window_end, "window_end"),
    ).from_(source)

    alias = window.args.get("alias")
    return exp.Subquery(this=select, alias=alias.copy() if alias else None)


class EmbeddedClickHouseGenerator(ClickHouseGenerator):
    def streamtable_sql(self, expression: nodes.StreamTable) -> str:
        table = expression.this.copy()
        alias = expression.args.get("alias")
        if alias:
            table.set("alias", alias.copy())
        return self.sql(table)

    def windowtablefunction_sql(self, expression: nodes.WindowTableFunction) -> str:
        return self.sql(window_subquery(expression))

    def intervalshorthand_sql(self, expression: nodes.IntervalShorthand) -> str:
        return self.sql(_interval_seconds(_seconds_literal(expression)))

    def after_limit_modifiers(self, expression: exp.Expr) -> list[str]:
        if expression.args.get("emit"):
            raise UnsupportedError("EMIT is streaming-only; the embedded engine runs historical queries without it.")
        return super().after_limit_modifiers(expression)

    def emit_sql(self, expression: nodes.Emit) -> str:
        raise UnsupportedError("EMIT is streaming-only; the embedded engine runs historical queries without it.")

    def createstream_sql(self, expression: nodes.CreateStream) -> str:
        # A stream becomes a MergeTree table with the same columns; stream
        # settings (mode, event_time_column) have no ClickHouse meaning.
        create = exp.Create(
            this=expression.this.copy(),
            kind="TABLE",
            exists=expression.args.get("exists"),
            properties=exp.Properties(expressions=[exp.EngineProperty(this=exp.var("MergeTree"))]),
        )
        return f"{self.sql(create)} ORDER BY tuple()"

    def creatematerializedview_sql(self, expression: nodes.CreateMaterializedView) -> str:
        raise UnsupportedError("Materialized views into streams need a Proton server; the embedded engine runs the historical query instead.")

    def createremotefunction_sql(self, expression: nodes.CreateRemoteFunction) -> str:
        raise UnsupportedError("Remote functions need a Proton server; the embedded engine calls the UDF server over HTTP itself.")

    def dropfunction_sql(self, expression: nodes.DropFunction) -> str:
        raise UnsupportedError("Remote functions need a Proton server.")


EmbeddedClickHouseGenerator.TRANSFORMS = {**EmbeddedClickHouseGenerator.TRANSFORMS, **nodes.node_transforms(EmbeddedClickHouseGenerator)}


class EmbeddedClickHouse(ClickHouse):
    """ClickHouse for chDB, with Proton-only nodes rewritten or rejected."""

    Generator = EmbeddedClickHouseGenerator
