"""Aggregate functions of a window aggregate, with the Proton type of each result."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.features.streams import Stream
from pyproton_ml.features.types import NUMERIC_TYPES
from pyproton_ml.features.types import base_type
from pyproton_ml.features.types import is_nullable
from pyproton_ml.sql.identifiers import column
from pyproton_ml.sql.identifiers import validate_column_name


@dataclass(frozen=True)
class Aggregate:
    """One output column of a window aggregate: ``name`` = function(``column``)."""

    name: str
    column: str | None = None

    def __post_init__(self) -> None:
        validate_column_name(self.name)
        if self.column is not None:
            validate_column_name(self.column)

    def expression(self, source: Stream) -> exp.Expr:
        raise NotImplementedError

    def result_type(self, source: Stream) -> str:
        raise NotImplementedError

    def _numeric_input(self, source: Stream) -> str:
        if self.column is None:
            raise FeatureDefinitionError(f"Aggregate {self.name!r} ({type(self).__name__}) needs a column.")
        column_type = source.column(self.column).type
        if base_type(column_type) not in NUMERIC_TYPES:
            raise FeatureDefinitionError(
                f"Aggregate {self.name!r}: column {self.column!r} of stream {source.name!r} has type "
                f"{column_type!r}, but {type(self).__name__} needs a numeric column."
            )
        return column_type


class Count(Aggregate):
    """Number of rows in the window; give ``column`` to count only its non-null values."""

    def expression(self, source: Stream) -> exp.Expr:
        if self.column is None:
            return exp.Count(this=exp.Star())
        source.column(self.column)
        return exp.Count(this=column(self.column))

    def result_type(self, source: Stream) -> str:
        return "uint64"


class Mean(Aggregate):
    """Average of the non-null values of ``column``."""

    def expression(self, source: Stream) -> exp.Expr:
        self._numeric_input(source)
        return exp.Avg(this=column(self.column))

    def result_type(self, source: Stream) -> str:
        return "nullable(float64)" if is_nullable(self._numeric_input(source)) else "float64"


class Max(Aggregate):
    """Largest non-null value of ``column``."""

    def expression(self, source: Stream) -> exp.Expr:
        self._numeric_input(source)
        return exp.Max(this=column(self.column))

    def result_type(self, source: Stream) -> str:
        return self._numeric_input(source)


class Min(Aggregate):
    """Smallest non-null value of ``column``."""

    def expression(self, source: Stream) -> exp.Expr:
        self._numeric_input(source)
        return exp.Min(this=column(self.column))

    def result_type(self, source: Stream) -> str:
        return self._numeric_input(source)


class Sum(Aggregate):
    """Sum of the non-null values of ``column``, as float64."""

    def expression(self, source: Stream) -> exp.Expr:
        self._numeric_input(source)
        return exp.Sum(this=column(self.column))

    def result_type(self, source: Stream) -> str:
        return "nullable(float64)" if is_nullable(self._numeric_input(source)) else "float64"
