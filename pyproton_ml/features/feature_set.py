"""A feature set: per-event features from a source stream and its lookups.

One definition compiles to two forms that share every expression:

- streaming: ``CREATE STREAM`` for the sources and outputs, a materialized view
  per window aggregate, and one ``MATERIALIZED VIEW ... INTO`` the feature stream;
- historical: one query over ``table(...)`` reads, with each window aggregate as
  a CTE, which builds the training set (on Proton, or in chDB through the
  embedded ClickHouse rendering).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import TypeVar

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.features.expressions import FeatureExpr
from pyproton_ml.features.lookups import AsofLookup
from pyproton_ml.features.streams import Column
from pyproton_ml.features.streams import Stream
from pyproton_ml.features.streams import checked_settings
from pyproton_ml.features.streams import setting
from pyproton_ml.features.types import parse_type
from pyproton_ml.features.window_aggregate import WindowAggregate
from pyproton_ml.features.windows import source_reference
from pyproton_ml.sql.identifiers import column
from pyproton_ml.sql.identifiers import identifier
from pyproton_ml.sql.identifiers import validate_column_name
from pyproton_ml.sql.identifiers import validate_identifier
from pyproton_ml.sql.nodes import CreateMaterializedView

EVENT_ALIAS = "e"

T = TypeVar("T")


@dataclass(frozen=True)
class Feature:
    """One model input: a name, its Proton type and the expression that computes it."""

    name: str
    type: str
    expression: FeatureExpr

    def __post_init__(self) -> None:
        validate_column_name(self.name)
        object.__setattr__(self, "type", Column(self.name, self.type).type)
        if not isinstance(self.expression, FeatureExpr):
            raise FeatureDefinitionError(
                f"Feature {self.name!r}: expression {self.expression!r:.80} is not a feature expression such as Col('amount')."
            )
        self.expression.check_type(self.type, owner=f"Feature {self.name!r}")


@dataclass(frozen=True)
class _Scope:
    source: Stream
    lookups: dict[str, AsofLookup]

    def column(self, name: str, source: str | None) -> exp.Expr:
        if source is None:
            self.source.column(name)
            return column(name, EVENT_ALIAS)

        lookup = self.lookups.get(source)
        if lookup is None:
            raise FeatureDefinitionError(
                f"Col({name!r}, source={source!r}): no lookup has alias {source!r}. "
                f"Lookups: {', '.join(self.lookups) or 'none'}."
            )
        lookup.stream.column(name)
        return lookup.value(name, EVENT_ALIAS, self.source.event_time)


@dataclass(frozen=True)
class FeatureSet:
    """Per-event features of ``source``, written into stream ``name``.

    ``passthrough`` columns (ids, keys) are copied from the source ahead of the
    features; the source's event time column is always copied.
    """

    name: str
    source: Stream
    features: tuple[Feature, ...]
    passthrough: tuple[str, ...] = ()
    lookups: tuple[AsofLookup, ...] = ()
    settings: dict[str, str | int | float | bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_identifier(self.name, kind="stream")
        validate_identifier(self.view_name, kind="materialized view")
        self._store_parts()
        if not isinstance(self.source, Stream):
            raise FeatureDefinitionError(f"FeatureSet {self.name!r}: source {self.source!r:.80} is not a Stream.")
        if self.source.event_time is None:
            raise FeatureDefinitionError(f"FeatureSet {self.name!r}: source stream {self.source.name!r} needs an event_time.")
        if not self.features:
            raise FeatureDefinitionError(f"FeatureSet {self.name!r} has no features.")

        for name in self.passthrough:
            self.source.column(name)

        names = [*self.passthrough, self.source.event_time, *(feature.name for feature in self.features)]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise FeatureDefinitionError(f"FeatureSet {self.name!r}: output columns {duplicates} appear twice.")

        self._check_lookups()
        self._check_object_names()
        self._check_settings()

        # Build once so that a bad column reference fails at definition time.
        self.select(historical=True)

    def _store_parts(self) -> None:
        """Store features, passthrough and lookups as tuples, checking the kind of each item."""
        parts = (("features", Feature, "a Feature"), ("passthrough", str, "a column name"), ("lookups", AsofLookup, "an AsofLookup"))
        for attribute, kind, description in parts:
            value = getattr(self, attribute)
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                raise FeatureDefinitionError(f"FeatureSet {self.name!r}: {attribute}={value!r:.80} must be a tuple.")
            items = tuple(value)
            for item in items:
                if not isinstance(item, kind):
                    raise FeatureDefinitionError(f"FeatureSet {self.name!r}: {attribute} item {item!r:.80} is not {description}.")
            object.__setattr__(self, attribute, items)

    def _check_lookups(self) -> None:
        aliases = [lookup.alias for lookup in self.lookups]
        if EVENT_ALIAS in aliases or len(set(aliases)) != len(aliases):
            raise FeatureDefinitionError(
                f"FeatureSet {self.name!r}: lookup aliases {aliases} must be unique and not {EVENT_ALIAS!r}."
            )

        streams = [self.source, *(lookup.stream for lookup in self.lookups)]
        names_in_query = {name for stream in streams for name in (stream.name, *stream.column_names)}
        for lookup in self.lookups:
            lookup.check_event_columns(self.source)
            # ClickHouse reads `v.x` as subcolumn x of a column v when the query has one, so `v.null` is
            # the null map of a nullable v. An alias that names another stream of the query fails too.
            if lookup.alias in names_in_query:
                raise FeatureDefinitionError(
                    f"FeatureSet {self.name!r}: lookup alias {lookup.alias!r} is also a column or stream name "
                    "of the query, which ClickHouse may read in its place. Choose another alias, such as 'l'."
                )

    def _check_object_names(self) -> None:
        """Reject one name for two different streams or views.

        Proton would skip the second ``CREATE ... IF NOT EXISTS``, so that, for example, a
        feature set named like its source would write its features into its own source.
        """
        definitions: list[tuple[str, object]] = [(stream.name, stream) for stream in self.source_streams()]
        for aggregate in self.window_aggregates:
            definitions.extend(
                [(aggregate.source.name, aggregate.source), (aggregate.name, aggregate), (aggregate.view_name, ("view", aggregate))]
            )
        definitions.extend([(self.name, ("features", self.name)), (self.view_name, ("view", self.name))])

        claimed: dict[str, object] = {}
        for name, definition in definitions:
            if claimed.setdefault(name, definition) != definition:
                raise FeatureDefinitionError(
                    f"FeatureSet {self.name!r}: the name {name!r} is given to two different streams or views. Rename one of them."
                )

    def _check_settings(self) -> None:
        settings = checked_settings(self.settings, owner=f"FeatureSet {self.name!r}", kind="query setting")
        object.__setattr__(self, "settings", settings)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    @property
    def signature(self) -> tuple[tuple[str, str], ...]:
        """Feature names and Proton types in argument order: the model UDF's signature."""
        return tuple((feature.name, feature.type) for feature in self.features)

    @property
    def output(self) -> Stream:
        columns = [
            *(self.source.column(name) for name in self.passthrough),
            self.source.column(self.source.event_time),
            *(Column(feature.name, feature.type) for feature in self.features),
        ]
        return Stream(self.name, tuple(columns), event_time=self.source.event_time)

    @property
    def view_name(self) -> str:
        return f"{self.name}_mv"

    @property
    def window_aggregates(self) -> tuple[WindowAggregate, ...]:
        """The looked-up window aggregates, each once even when two lookups share one."""
        return _unique(lookup.source for lookup in self.lookups if isinstance(lookup.source, WindowAggregate))

    def select(self, *, historical: bool) -> exp.Select:
        """Build the per-event feature query, streaming or historical."""
        scope = _Scope(self.source, {lookup.alias: lookup for lookup in self.lookups})
        event_time = self.source.event_time

        # Explicit aliases: ClickHouse names an unaliased `e.card_id` "e.card_id"
        # when a joined table also has a `card_id`.
        projections: list[exp.Expr] = [
            exp.alias_(column(name, EVENT_ALIAS), identifier(name, kind="column")) for name in (*self.passthrough, event_time)
        ]
        for feature in self.features:
            cast = exp.Cast(this=feature.expression.build(scope), to=parse_type(feature.type, owner=feature.name))
            projections.append(exp.alias_(cast, identifier(feature.name, kind="column")))

        query = exp.select(*projections).from_(source_reference(self.source.name, historical=historical, alias=EVENT_ALIAS))
        for lookup in self.lookups:
            join = exp.Join(
                this=self._lookup_reference(lookup, historical=historical),
                on=lookup.condition(EVENT_ALIAS, event_time),
                side="LEFT",
                kind="ASOF",
            )
            query.append("joins", join)

        if historical:
            for aggregate in self.window_aggregates:
                query = query.with_(identifier(aggregate.name, kind="stream"), as_=aggregate.select(historical=True))
            query = query.order_by(column(event_time, EVENT_ALIAS), column(self.passthrough[0], EVENT_ALIAS) if self.passthrough else None)
        elif self.settings:
            owner = f"FeatureSet {self.name!r}"
            query.set("settings", [setting(name, value, owner=owner) for name, value in sorted(self.settings.items())])
        return query

    @staticmethod
    def _lookup_reference(lookup: AsofLookup, *, historical: bool) -> exp.Expr:
        if historical and isinstance(lookup.source, WindowAggregate):
            # The CTE of the same name, computed from the historical source.
            return exp.Table(
                this=identifier(lookup.source.name, kind="stream"),
                alias=exp.TableAlias(this=identifier(lookup.alias, kind="table alias")),
            )
        return source_reference(lookup.stream.name, historical=historical, alias=lookup.alias)

    def source_streams(self) -> tuple[Stream, ...]:
        """Streams that events are inserted into: the source and the looked-up streams."""
        return _unique([self.source, *(lookup.source for lookup in self.lookups if isinstance(lookup.source, Stream))])

    def statements(self) -> list[exp.Expr]:
        """Build the streaming DDL in dependency order."""
        statements: list[exp.Expr] = [stream.create_statement() for stream in self.source_streams()]
        for aggregate in self.window_aggregates:
            statements.extend(aggregate.statements())
        statements.append(self.output.create_statement())
        statements.append(
            CreateMaterializedView(
                this=exp.Table(this=identifier(self.view_name, kind="view")),
                into=exp.Table(this=identifier(self.name, kind="stream")),
                expression=self.select(historical=False),
                exists=True,
            )
        )
        return statements


def _unique(items: Iterable[T]) -> tuple[T, ...]:
    """``items`` in their order, without repeats."""
    unique: list[T] = []
    for item in items:
        if item not in unique:
            unique.append(item)
    return tuple(unique)
