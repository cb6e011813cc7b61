"""Streams: the sources and outputs of a feature pipeline, and their CREATE STREAM statements."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.features.types import normalize_type
from pyproton_ml.features.types import parse_type
from pyproton_ml.sql.identifiers import identifier
from pyproton_ml.sql.identifiers import validate_column_name
from pyproton_ml.sql.identifiers import validate_identifier
from pyproton_ml.sql.nodes import CreateStream

# Stream modes. Source: Proton docs `sql-create-stream.md`.
STREAM_MODES = ("append", "versioned_kv", "changelog_kv", "changelog")


@dataclass(frozen=True)
class Column:
    """A stream column: a name and a Proton type string such as ``nullable(float64)``."""

    name: str
    type: str

    def __post_init__(self) -> None:
        validate_column_name(self.name)
        object.__setattr__(self, "type", normalize_type(self.type, owner=f"Column {self.name!r}"))

    def definition(self) -> exp.ColumnDef:
        return exp.ColumnDef(
            this=identifier(self.name, kind="column"),
            kind=parse_type(self.type, owner=f"Column {self.name!r}"),
        )


@dataclass(frozen=True)
class Stream:
    """A Proton stream.

    ``event_time`` names the column Proton copies into ``_tp_time`` (setting
    ``event_time_column``); windows and ASOF joins use it. A ``versioned_kv``
    stream needs a ``primary_key``.
    """

    name: str
    columns: tuple[Column, ...]
    event_time: str | None = None
    mode: str = "append"
    primary_key: tuple[str, ...] = ()
    settings: dict[str, str | int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_identifier(self.name, kind="stream")
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "primary_key", tuple(self.primary_key))

        if not self.columns:
            raise FeatureDefinitionError(f"Stream {self.name!r} has no columns. Give at least one Column.")

        names = [column.name for column in self.columns]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise FeatureDefinitionError(f"Stream {self.name!r} has duplicate columns {duplicates}. Rename them.")

        if self.mode not in STREAM_MODES:
            raise FeatureDefinitionError(
                f"Stream {self.name!r}: mode {self.mode!r} is invalid. Use one of {', '.join(STREAM_MODES)}."
            )

        if self.event_time is not None:
            self.column(self.event_time)

        for key in self.primary_key:
            self.column(key)
        if self.mode != "append" and not self.primary_key:
            raise FeatureDefinitionError(
                f"Stream {self.name!r}: mode {self.mode!r} needs a primary_key, such as primary_key=('merchant_id',)."
            )

        for setting in self.settings:
            validate_identifier(setting, kind="stream setting")
            if setting in {"mode", "event_time_column"}:
                raise FeatureDefinitionError(
                    f"Stream {self.name!r}: set {setting!r} through the Stream field, not through settings."
                )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> Column:
        """Look up a column by name."""
        for column in self.columns:
            if column.name == name:
                return column
        raise FeatureDefinitionError(
            f"Stream {self.name!r} has no column {name!r}. Its columns are: {', '.join(self.column_names)}."
        )

    def create_statement(self) -> CreateStream:
        """Build ``CREATE STREAM IF NOT EXISTS`` for this stream."""
        schema = exp.Schema(
            this=exp.Table(this=identifier(self.name, kind="stream")),
            expressions=[column.definition() for column in self.columns],
        )

        settings: list[exp.Expr] = [_setting("mode", self.mode)]
        if self.event_time:
            settings.append(_setting("event_time_column", self.event_time))
        settings.extend(_setting(name, value) for name, value in sorted(self.settings.items()))

        primary_key = [identifier(key, kind="column") for key in self.primary_key] or None
        return CreateStream(this=schema, exists=True, primary_key=primary_key, settings=settings)


def _setting(name: str, value: str | int | float) -> exp.EQ:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FeatureDefinitionError(f"Setting {name!r} has value {value!r}; use a string or a number.")
    literal = exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)
    return exp.EQ(this=exp.var(name), expression=literal)
