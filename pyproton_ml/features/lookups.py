"""Point-in-time lookups: ASOF joins from each event to the latest row at or before its time."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.features.intervals import interval_literal
from pyproton_ml.features.streams import Stream
from pyproton_ml.features.types import is_nullable
from pyproton_ml.features.types import base_type
from pyproton_ml.features.window_aggregate import AVAILABLE_AT
from pyproton_ml.features.window_aggregate import WindowAggregate
from pyproton_ml.sql.identifiers import column
from pyproton_ml.sql.identifiers import validate_column_name
from pyproton_ml.sql.identifiers import validate_identifier


@dataclass(frozen=True)
class AsofLookup:
    """Join each event to the latest row of ``source`` with equal keys and time at or before the event's.

    ``on`` maps event columns to ``source`` columns. For a window aggregate the
    time column is ``available_at`` (window end plus watermark delay); for a
    stream it is the stream's ``event_time``. Events with no earlier row get
    NULL for nullable columns and the type's default otherwise (a LEFT join).
    """

    source: Stream | WindowAggregate
    on: tuple[tuple[str, str], ...]
    alias: str
    time_column: str | None = None

    def __post_init__(self) -> None:
        validate_identifier(self.alias, kind="lookup alias")
        if not isinstance(self.source, (Stream, WindowAggregate)):
            raise FeatureDefinitionError(
                f"AsofLookup {self.alias!r}: source {self.source!r:.80} is not a Stream or a WindowAggregate."
            )
        on = _key_pairs(self.on, self.alias)
        object.__setattr__(self, "on", on)

        stream = self.stream
        for _, right in on:
            stream.column(right)

        time_column = self.time_column or (AVAILABLE_AT if isinstance(self.source, WindowAggregate) else stream.event_time)
        if time_column is None:
            raise FeatureDefinitionError(
                f"AsofLookup {self.alias!r}: stream {stream.name!r} has no event_time; pass time_column=."
            )
        stream.column(time_column)
        object.__setattr__(self, "time_column", time_column)

    def check_event_columns(self, events: Stream) -> None:
        """Check that the event side of every ``on`` pair is a column of ``events``, the stream that joins this lookup."""
        for left, _ in self.on:
            if left not in events.column_names:
                raise FeatureDefinitionError(
                    f"AsofLookup {self.alias!r}: on= key {left!r} is not a column of the event stream {events.name!r}. "
                    f"Its columns are: {', '.join(events.column_names)}."
                )

    @property
    def stream(self) -> Stream:
        """The stream the lookup reads: the window aggregate's output, or the source itself."""
        return self.source.output if isinstance(self.source, WindowAggregate) else self.source

    def value(self, name: str, event_alias: str, event_time: str) -> exp.Expr:
        """Reference column ``name`` of the matched row.

        For a window aggregate, the ASOF join alone would return the last window
        the key had, however old: a card idle for a day would still see
        yesterday's count. So the lookup keeps only the latest window that can
        be visible at the event's time: the one whose ``available_at`` lies
        within one slide before it. An older match reads as no match, which is
        NULL, or the type's default for a non-nullable column, as a LEFT join gives.
        """
        value = column(name, self.alias)
        if not isinstance(self.source, WindowAggregate):
            return value

        slide = interval_literal(self.source.window.slide_milliseconds)
        fresh = exp.LT(
            this=column(event_time, event_alias),
            expression=exp.Add(this=column(AVAILABLE_AT, self.alias), expression=slide),
        )
        column_type = self.stream.column(name).type
        if is_nullable(column_type):
            stale: exp.Expr = exp.Null()
        elif base_type(column_type) == "string":
            stale = exp.Literal.string("")
        else:
            stale = exp.Literal.number(0)
        return exp.Case().when(fresh, value).else_(stale)

    def condition(self, event_alias: str, event_time: str) -> exp.Expr:
        """Build ``e.k = a.k AND ... AND e.time >= a.time``; ASOF needs the inequality last."""
        terms: list[exp.Expr] = [
            exp.EQ(this=column(left, event_alias), expression=column(right, self.alias)) for left, right in self.on
        ]
        terms.append(exp.GTE(this=column(event_time, event_alias), expression=column(self.time_column, self.alias)))
        return exp.and_(*terms)


def _key_pairs(on: object, alias: str) -> tuple[tuple[str, str], ...]:
    """Read ``on`` (a dict, or pairs of event column and lookup column) as checked column-name pairs."""
    pairs = on.items() if isinstance(on, Mapping) else on
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
        raise FeatureDefinitionError(
            f"AsofLookup {alias!r}: on={on!r:.80} must map event columns to lookup columns, such as on={{'card_id': 'card_id'}}."
        )
    checked = []
    for item in pairs:
        pair = tuple(item) if isinstance(item, Iterable) and not isinstance(item, (str, bytes)) else ()
        if len(pair) != 2:
            raise FeatureDefinitionError(
                f"AsofLookup {alias!r}: on= item {item!r:.80} is not a pair of event column and lookup column."
            )
        checked.append((validate_column_name(pair[0]), validate_column_name(pair[1])))
    if not checked:
        raise FeatureDefinitionError(f"AsofLookup {alias!r} needs at least one key pair in on=.")
    return tuple(checked)
