"""Window shapes (tumble, hop) and EMIT policies for window aggregates."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.features.intervals import parse_interval
from pyproton_ml.sql.identifiers import column
from pyproton_ml.sql.identifiers import identifier
from pyproton_ml.sql.nodes import Emit
from pyproton_ml.sql.nodes import StreamTable
from pyproton_ml.sql.nodes import WindowTableFunction


@dataclass(frozen=True)
class Tumble:
    """Fixed, non-overlapping windows of ``size``, such as ``'1m'``."""

    size: str

    def __post_init__(self) -> None:
        parse_interval(self.size, owner="Tumble size")

    @property
    def size_milliseconds(self) -> int:
        return parse_interval(self.size, owner="Tumble size").milliseconds

    @property
    def slide_milliseconds(self) -> int:
        return self.size_milliseconds

    @property
    def size_seconds(self) -> float:
        return self.size_milliseconds / 1000

    @property
    def slide_seconds(self) -> float:
        return self.size_seconds

    def table_function(self, source: exp.Expr, time_column: str) -> WindowTableFunction:
        return WindowTableFunction(
            kind=exp.var("tumble"),
            this=source,
            time_column=column(time_column),
            expressions=[parse_interval(self.size, owner="Tumble size")],
        )


@dataclass(frozen=True)
class Hop:
    """Overlapping windows of ``size`` that start every ``slide``.

    Proton's argument order is ``hop(stream, time, slide, size)``: the slide
    comes first (docs ``hop-aggregation.md``).
    """

    slide: str
    size: str

    def __post_init__(self) -> None:
        # Compare whole milliseconds, because in float seconds 1.0 % 0.1 is not 0.
        slide = parse_interval(self.slide, owner="Hop slide").milliseconds
        size = parse_interval(self.size, owner="Hop size").milliseconds
        if slide > size:
            raise FeatureDefinitionError(
                f"Hop slide {self.slide!r} is longer than its size {self.size!r}; the slide must be at most the size."
            )
        if size % slide:
            raise FeatureDefinitionError(
                f"Hop size {self.size!r} is not a whole multiple of its slide {self.slide!r}. "
                "Pick sizes such as slide='1m', size='10m'."
            )

    @property
    def size_milliseconds(self) -> int:
        return parse_interval(self.size, owner="Hop size").milliseconds

    @property
    def slide_milliseconds(self) -> int:
        return parse_interval(self.slide, owner="Hop slide").milliseconds

    @property
    def size_seconds(self) -> float:
        return self.size_milliseconds / 1000

    @property
    def slide_seconds(self) -> float:
        return self.slide_milliseconds / 1000

    def table_function(self, source: exp.Expr, time_column: str) -> WindowTableFunction:
        return WindowTableFunction(
            kind=exp.var("hop"),
            this=source,
            time_column=column(time_column),
            expressions=[parse_interval(self.slide, owner="Hop slide"), parse_interval(self.size, owner="Hop size")],
        )


Window = Tumble | Hop


@dataclass(frozen=True)
class EmitPolicy:
    """When a streaming window aggregate emits its rows.

    ``after_window_close`` (the default) emits each window once, after the
    watermark passes its end plus ``delay``; events later than that are dropped.
    """

    policy: str = "AFTER WINDOW CLOSE"
    delay: str | None = None
    interval: str | None = None

    def __post_init__(self) -> None:
        if self.policy not in ("AFTER WINDOW CLOSE", "PERIODIC", "ON UPDATE"):
            raise FeatureDefinitionError(
                f"EMIT policy {self.policy!r} is invalid. Use 'AFTER WINDOW CLOSE', 'PERIODIC' or 'ON UPDATE'."
            )
        if self.delay is not None:
            if self.policy != "AFTER WINDOW CLOSE":
                raise FeatureDefinitionError(f"EMIT {self.policy} takes no delay; only AFTER WINDOW CLOSE does.")
            parse_interval(self.delay, owner="EMIT delay")
        if (self.policy == "PERIODIC") != (self.interval is not None):
            raise FeatureDefinitionError("EMIT PERIODIC needs an interval, and only PERIODIC takes one.")
        if self.interval is not None:
            parse_interval(self.interval, owner="EMIT interval")

    @classmethod
    def after_window_close(cls, delay: str | None = None) -> EmitPolicy:
        return cls("AFTER WINDOW CLOSE", delay=delay)

    @property
    def delay_milliseconds(self) -> int:
        return parse_interval(self.delay, owner="EMIT delay").milliseconds if self.delay else 0

    @property
    def delay_seconds(self) -> float:
        return self.delay_milliseconds / 1000

    def clause(self) -> Emit:
        return Emit(
            policy=exp.var(self.policy),
            delay=parse_interval(self.delay, owner="EMIT delay") if self.delay else None,
            interval=parse_interval(self.interval, owner="EMIT interval") if self.interval else None,
        )


def source_reference(stream_name: str, *, historical: bool, alias: str | None = None) -> exp.Expr:
    """Reference a stream: unbounded (``s``) for streaming, bounded (``table(s)``) for history."""
    table = exp.Table(this=identifier(stream_name, kind="stream"))
    table_alias = exp.TableAlias(this=identifier(alias, kind="table alias")) if alias else None
    if historical:
        return StreamTable(this=table, alias=table_alias)
    if table_alias:
        table.set("alias", table_alias)
    return table
