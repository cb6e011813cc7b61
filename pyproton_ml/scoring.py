"""The scoring view: a materialized view that calls a model UDF over a feature stream."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.features.feature_set import FeatureSet
from pyproton_ml.features.streams import Column
from pyproton_ml.features.streams import Stream
from pyproton_ml.models.names import validate_function_name
from pyproton_ml.models.names import validate_version
from pyproton_ml.sql.identifiers import column
from pyproton_ml.sql.identifiers import identifier
from pyproton_ml.sql.identifiers import validate_identifier
from pyproton_ml.sql.nodes import CreateMaterializedView


@dataclass(frozen=True)
class ScoringView:
    """Scores of ``features`` by the UDF ``function_name``, written into stream ``name``.

    Each row carries ``keys`` from the feature stream, the ``score``, the
    ``model_version`` that produced it and the event time.
    """

    name: str
    features: FeatureSet
    function_name: str
    model_version: str
    keys: tuple[str, ...] = ("event_id",)
    return_type: str = "float64"

    def __post_init__(self) -> None:
        validate_identifier(self.name, kind="stream")
        validate_function_name(self.function_name)
        validate_version(self.model_version)
        object.__setattr__(self, "keys", tuple(self.keys))
        for key in self.keys:
            if key not in self.features.passthrough:
                raise FeatureDefinitionError(
                    f"ScoringView {self.name!r}: key {key!r} is not a passthrough column of feature set "
                    f"{self.features.name!r} ({', '.join(self.features.passthrough)})."
                )

    @property
    def event_time(self) -> str:
        return self.features.source.event_time

    @property
    def output(self) -> Stream:
        source = self.features.output
        columns = (
            *(source.column(key) for key in self.keys),
            Column("score", self.return_type),
            Column("model_version", "string"),
            source.column(self.event_time),
        )
        return Stream(self.name, columns, event_time=self.event_time)

    @property
    def view_name(self) -> str:
        return f"{self.name}_mv"

    def select(self) -> exp.Select:
        """Build ``SELECT keys, udf(features...) AS score, 'version' AS model_version, time FROM features``."""
        call = exp.Anonymous(
            this=self.function_name,
            expressions=[column(name) for name in self.features.feature_names],
        )
        return exp.select(
            *(column(key) for key in self.keys),
            exp.alias_(call, identifier("score", kind="column")),
            exp.alias_(exp.Literal.string(self.model_version), identifier("model_version", kind="column")),
            column(self.event_time),
        ).from_(exp.Table(this=identifier(self.features.name, kind="stream")))

    def output_query(self, *, seek_to: str | None = None, limit: int | None = None) -> exp.Select:
        """Build a streaming read of the scores stream; ``seek_to='earliest'`` replays stored rows first."""
        query = exp.select(*(column(name) for name in self.output.column_names)).from_(
            exp.Table(this=identifier(self.name, kind="stream"))
        )
        if limit is not None:
            query = query.limit(limit)
        if seek_to is not None:
            query.set("settings", [exp.EQ(this=exp.var("seek_to"), expression=exp.Literal.string(seek_to))])
        return query

    def statements(self) -> list[exp.Expr]:
        """Build the scores stream and the materialized view that fills it (the UDF must exist first)."""
        view = CreateMaterializedView(
            this=exp.Table(this=identifier(self.view_name, kind="view")),
            into=exp.Table(this=identifier(self.name, kind="stream")),
            expression=self.select(),
            exists=True,
        )
        return [self.output.create_statement(), view]
