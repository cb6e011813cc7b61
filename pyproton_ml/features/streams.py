"""Streams: the sources and outputs of a feature pipeline, and their CREATE STREAM statements."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
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

# A whole-number setting value is a ClickHouse Field of type Int64 or UInt64.
SETTING_INTEGER_RANGE = (-(2**63), 2**64 - 1)


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
    settings: dict[str, str | int | float | bool] = field(default_factory=dict)

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

        object.__setattr__(self, "settings", checked_settings(self.settings, owner=f"Stream {self.name!r}", kind="stream setting"))
        for name in self.settings:
            if name in {"mode", "event_time_column"}:
                raise FeatureDefinitionError(
                    f"Stream {self.name!r}: set {name!r} through the Stream field, not through settings."
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

        owner = f"Stream {self.name!r}"
        settings: list[exp.Expr] = [setting("mode", self.mode, owner=owner)]
        if self.event_time:
            settings.append(setting("event_time_column", self.event_time, owner=owner))
        settings.extend(setting(name, value, owner=owner) for name, value in sorted(self.settings.items()))

        primary_key = [identifier(key, kind="column") for key in self.primary_key] or None
        return CreateStream(this=schema, exists=True, primary_key=primary_key, settings=settings)


def checked_settings(settings: object, *, owner: str, kind: str) -> dict[str, object]:
    """Return ``settings`` as a dict after checking each name and value; ``owner`` names it in errors."""
    if not isinstance(settings, Mapping):
        raise FeatureDefinitionError(f"{owner}: settings {settings!r:.80} must be a dict of setting name to value.")
    for name, value in settings.items():
        validate_identifier(name, kind=kind)
        setting(name, value, owner=owner)
    return dict(settings)


def setting(name: str, value: object, *, owner: str) -> exp.EQ:
    """Build ``name = value`` for a SETTINGS clause; ``owner`` names the stream or query in errors."""
    return exp.EQ(this=exp.var(name), expression=_setting_literal(name, value, owner=owner))


def _setting_literal(name: str, value: object, *, owner: str) -> exp.Literal:
    # A bool becomes 1 or 0, which every Proton version reads for a boolean setting.
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, numbers.Integral):
        low, high = SETTING_INTEGER_RANGE
        if low <= int(value) <= high:
            return exp.Literal.number(int(value))
    elif isinstance(value, numbers.Real) and math.isfinite(value):
        return exp.Literal.number(float(value))
    raise FeatureDefinitionError(
        f"{owner}: setting {name!r} has the invalid value {value!r:.80}. Use a string, a bool, a finite number "
        "or a whole number within 64 bits, such as 16."
    )
