"""Per-key aggregates over time windows, written into their own stream."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.features.aggregates import Aggregate
from pyproton_ml.features.intervals import interval_literal
from pyproton_ml.features.streams import Column
from pyproton_ml.features.streams import Stream
from pyproton_ml.features.types import parse_type
from pyproton_ml.features.windows import EmitPolicy
from pyproton_ml.features.windows import Hop
from pyproton_ml.features.windows import Tumble
from pyproton_ml.features.windows import Window
from pyproton_ml.features.windows import source_reference
from pyproton_ml.sql.identifiers import column
from pyproton_ml.sql.identifiers import identifier
from pyproton_ml.sql.identifiers import validate_identifier
from pyproton_ml.sql.nodes import CreateMaterializedView

# The column on which lookups join a window aggregate's rows: the window end
# plus the watermark delay. A streaming query can only see a window once it has
# closed, which happens when the watermark passes `window_end + delay`, so the
# historical query must not see it earlier either.
AVAILABLE_AT = "available_at"


@dataclass(frozen=True)
class WindowAggregate:
    """Aggregates of ``source`` per ``keys`` over ``window``, written into stream ``name``.

    The output stream has ``window_start``, ``window_end``, ``available_at``,
    the keys and one column per aggregate.
    """

    name: str
    source: Stream
    keys: tuple[str, ...]
    window: Window
    aggregates: tuple[Aggregate, ...]
    emit: EmitPolicy = field(default_factory=EmitPolicy.after_window_close)
    time_column: str | None = None

    def __post_init__(self) -> None:
        validate_identifier(self.name, kind="stream")
        validate_identifier(self.view_name, kind="materialized view")
        self._store_parts()
        if self.source.name in (self.name, self.view_name):
            raise FeatureDefinitionError(
                f"WindowAggregate {self.name!r}: its stream or view would take the name of its source {self.source.name!r}. Rename it."
            )

        if not self.keys:
            raise FeatureDefinitionError(f"WindowAggregate {self.name!r} needs at least one key column, such as 'card_id'.")
        for key in self.keys:
            self.source.column(key)

        if not self.aggregates:
            raise FeatureDefinitionError(f"WindowAggregate {self.name!r} has no aggregates. Add Count(...) or Mean(...).")

        time_column = self.time_column or self.source.event_time
        if time_column is None:
            raise FeatureDefinitionError(
                f"WindowAggregate {self.name!r}: stream {self.source.name!r} has no event_time; "
                "set Stream(event_time=...) or WindowAggregate(time_column=...)."
            )
        self.source.column(time_column)
        object.__setattr__(self, "time_column", time_column)

        names = [*self.keys, *(aggregate.name for aggregate in self.aggregates)]
        reserved = {"window_start", "window_end", AVAILABLE_AT}
        clashes = sorted({name for name in names if names.count(name) > 1 or name in reserved})
        if clashes:
            raise FeatureDefinitionError(f"WindowAggregate {self.name!r}: output column names {clashes} clash. Rename them.")

        # tumble() and hop() add window_start and window_end to each source row, which hide source
        # columns of those names. Mean('m', 'window_start') would average the window's start time.
        inputs = {time_column, *(aggregate.column for aggregate in self.aggregates if aggregate.column)}
        hidden = sorted(inputs & {"window_start", "window_end"})
        if hidden:
            raise FeatureDefinitionError(
                f"WindowAggregate {self.name!r}: source columns {hidden} are hidden by the window's own columns. Rename them."
            )

        for aggregate in self.aggregates:
            aggregate.result_type(self.source)

    def _store_parts(self) -> None:
        """Check the kind of each part, and store keys and aggregates as tuples."""
        parts = (("source", Stream, "a Stream"), ("window", (Tumble, Hop), "a Tumble or a Hop"), ("emit", EmitPolicy, "an EmitPolicy"))
        for attribute, kind, description in parts:
            if not isinstance(getattr(self, attribute), kind):
                raise FeatureDefinitionError(
                    f"WindowAggregate {self.name!r}: {attribute}={getattr(self, attribute)!r:.80} is not {description}."
                )
        for attribute in ("keys", "aggregates"):
            value = getattr(self, attribute)
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise FeatureDefinitionError(f"WindowAggregate {self.name!r}: {attribute}={value!r:.80} must be a tuple.")
            object.__setattr__(self, attribute, tuple(value))
        for aggregate in self.aggregates:
            if not isinstance(aggregate, Aggregate):
                raise FeatureDefinitionError(
                    f"WindowAggregate {self.name!r}: {aggregate!r:.80} is not an aggregate such as Count('n')."
                )

    @property
    def output(self) -> Stream:
        """The stream this aggregate writes into."""
        columns = [
            Column("window_start", "datetime64(3)"),
            Column("window_end", "datetime64(3)"),
            Column(AVAILABLE_AT, "datetime64(3)"),
            *(self.source.column(key) for key in self.keys),
            *(Column(aggregate.name, aggregate.result_type(self.source)) for aggregate in self.aggregates),
        ]
        return Stream(self.name, tuple(columns), event_time="window_end")

    @property
    def view_name(self) -> str:
        return f"{self.name}_mv"

    def select(self, *, historical: bool) -> exp.Select:
        """Build the aggregate query over the source, unbounded or over ``table(source)``."""
        source = source_reference(self.source.name, historical=historical)
        window_function = self.window.table_function(source, self.time_column)
        available_at: exp.Expr = column("window_end")
        if self.emit.delay_milliseconds:
            available_at = exp.Add(this=available_at, expression=interval_literal(self.emit.delay_milliseconds))

        projections: list[exp.Expr] = [
            column("window_start"),
            column("window_end"),
            exp.alias_(
                exp.Cast(this=available_at, to=parse_type("datetime64(3)", owner=AVAILABLE_AT)),
                AVAILABLE_AT,
            ),
            *(column(key) for key in self.keys),
        ]
        for aggregate in self.aggregates:
            result_type = parse_type(aggregate.result_type(self.source), owner=aggregate.name)
            cast = exp.Cast(this=aggregate.expression(self.source), to=result_type)
            projections.append(exp.alias_(cast, identifier(aggregate.name, kind="column")))

        query = exp.select(*projections).from_(window_function)
        query = query.group_by(column("window_start"), column("window_end"), *(column(key) for key in self.keys))
        if not historical:
            query.set("emit", self.emit.clause())
        return query

    def statements(self) -> list[exp.Expr]:
        """Build the streaming DDL: the output stream and the materialized view that fills it."""
        view = CreateMaterializedView(
            this=exp.Table(this=identifier(self.view_name, kind="view")),
            into=exp.Table(this=identifier(self.name, kind="stream")),
            expression=self.select(historical=False),
            exists=True,
        )
        return [self.output.create_statement(), view]
