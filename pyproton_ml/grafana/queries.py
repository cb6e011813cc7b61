"""Proton SQL for the panels of a scores dashboard, built as sqlglot expressions.

Whether a panel is live or bounded is decided by its SQL alone. The Proton
datasource plugin 2.1.x asks Proton's query analyzer (HTTP port 3218) whether a
query is streaming (`pkg/plugin/datasource.go`, `IsStreamingQuery`). A streaming
query is pushed to the panel through Grafana Live, and a query over ``table(...)``
runs once per refresh like any SQL datasource (plugin README, "unbounded streaming
query and bounded historical query").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from pyproton_ml.sql.identifiers import column, identifier, validate_identifier

# The Proton dialect of pyproton_ml.sql, registered with sqlglot under this name.
SQL_DIALECT = "proton"

# Proton stamps every row with `_tp_time` (datetime64(3, 'UTC')), taken from the stream's
# event_time_column when one is set (Proton docs, sql-create-stream).
_TP_TIME = "_tp_time"


@dataclass(frozen=True)
class ScoreColumns:
    """Column names of a scores stream: append, one row per scored event."""

    event_id: str = "event_id"
    card_id: str = "card_id"
    score: str = "score"
    model_version: str = "model_version"
    event_time: str = "event_time"

    def names(self) -> tuple[str, ...]:
        return (self.event_time, self.event_id, self.card_id, self.score, self.model_version)


def validate_name(name: str, *, kind: str = "stream") -> str:
    """Return the name if it is a safe Proton name, else raise InvalidIdentifierError."""
    return validate_identifier(name, kind=kind)


def score_rate_sql(stream: str, *, window_seconds: int = 5, backfill_minutes: int = 15) -> str:
    """Return the streaming query for events scored per second, one row per tumbling window.

    Live: a throughput chart should move as events arrive. The ``_tp_time`` filter
    makes Proton backfill the last ``backfill_minutes`` from its historical store
    before it follows new events, so the chart is not empty on load. The Timeplus
    docs (query-settings, seek_to) recommend this filter over ``seek_to``.
    """
    _check_positive(window_seconds=window_seconds, backfill_minutes=backfill_minutes)
    window = _interval(window_seconds, "SECOND")
    source = exp.Table(this=_call("tumble", identifier(stream, kind="stream"), window))

    rate = exp.Div(this=_call("count"), expression=exp.Literal.number(window_seconds))
    return (
        exp.select(
            exp.alias_(exp.column("window_end"), "time"),
            exp.alias_(rate, "events_per_second"),
        )
        .from_(source)
        .where(_newer_than(_TP_TIME, backfill_minutes))
        .group_by(exp.column("window_end"))
        .sql(dialect=SQL_DIALECT)
    )


def score_quantiles_sql(
    stream: str,
    columns: ScoreColumns = ScoreColumns(),
    *,
    bucket_minutes: int = 1,
    lookback_minutes: int = 60,
    quantiles: tuple[float, ...] = (0.5, 0.9, 0.99),
) -> str:
    """Return the bounded query for score quantiles per time bucket over the last hour.

    Bounded: quantiles over settled history are what an analyst compares across
    refreshes, and a historical query returns the whole range at once instead of
    waiting for new windows to close.
    """
    _check_positive(bucket_minutes=bucket_minutes, lookback_minutes=lookback_minutes)
    if not quantiles or any(not 0 < level < 1 for level in quantiles):
        raise ValueError(f"Invalid quantiles {quantiles!r}: expected one or more levels strictly between 0 and 1.")

    event_time = validate_name(columns.event_time, kind="column")
    score = column(columns.score)
    bucket = _call("to_start_of_interval", column(event_time), _interval(bucket_minutes, "MINUTE"))

    # Proton spells quantiles quantile(x, level), not ClickHouse's quantile(level)(x).
    selected: list[exp.Expression] = [exp.alias_(bucket, "time")]
    for level in quantiles:
        selected.append(exp.alias_(_call("quantile", score, exp.Literal.number(level)), _quantile_alias(level)))

    return (
        exp.select(*selected)
        .from_(_historical(stream))
        .where(_newer_than(event_time, lookback_minutes))
        .group_by(exp.column("time"))
        .order_by(exp.column("time"))
        .sql(dialect=SQL_DIALECT)
    )


def top_scores_sql(
    stream: str,
    columns: ScoreColumns = ScoreColumns(),
    *,
    lookback_minutes: int = 15,
    limit: int = 20,
) -> str:
    """Return the bounded query for the highest scores of the last ``lookback_minutes``.

    Bounded: ORDER BY ... LIMIT ranks a finite set, and a streaming query could
    never finish that ranking. The table is refreshed with the dashboard.
    """
    _check_positive(lookback_minutes=lookback_minutes, limit=limit)
    return (
        exp.select(*(column(name) for name in columns.names()))
        .from_(_historical(stream))
        .where(_newer_than(columns.event_time, lookback_minutes))
        .order_by(exp.Ordered(this=column(columns.score), desc=True))
        .limit(limit)
        .sql(dialect=SQL_DIALECT)
    )


def _historical(stream: str) -> exp.Table:
    """Return ``table(stream)``, Proton's bounded read of a stream's historical store."""
    return exp.Table(this=_call("table", identifier(stream, kind="stream")))


def _newer_than(time_column: str, minutes: int) -> exp.Expression:
    cutoff = exp.Sub(this=_call("now"), expression=_interval(minutes, "MINUTE"))
    return exp.GT(this=column(time_column), expression=cutoff)


def _interval(amount: int, unit: str) -> exp.Interval:
    return exp.Interval(this=exp.Literal.number(amount), unit=exp.var(unit))


def _call(name: str, *arguments: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(arguments))


def _quantile_alias(level: float) -> str:
    """Return ``p50`` for 0.5, ``p99`` for 0.99 and ``p999`` for 0.999."""
    digits = f"{level:.6f}".split(".")[1].rstrip("0")
    return "p" + digits.ljust(2, "0")


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"Invalid {name} {value!r}: expected a positive integer.")
