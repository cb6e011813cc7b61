"""The small expression language of feature definitions.

Each expression builds a sqlglot expression against a :class:`Scope`, which
resolves column references to the source stream or to a lookup and checks
that the column exists. Literals go through sqlglot, which escapes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.features.types import INTEGER_RANGES
from pyproton_ml.features.types import base_type
from pyproton_ml.sql.identifiers import validate_column_name


class Scope(Protocol):
    def column(self, name: str, source: str | None) -> exp.Expr: ...


class FeatureExpr:
    """Base of feature expressions."""

    def build(self, scope: Scope) -> exp.Expr:
        raise NotImplementedError

    def check_type(self, type_name: str, *, owner: str) -> None:
        """Check that the values of this expression fit ``type_name``, the feature's type."""


def _as_expr(value: FeatureExpr | str) -> FeatureExpr:
    if isinstance(value, FeatureExpr):
        return value
    if isinstance(value, str):
        return Col(value)
    raise FeatureDefinitionError(f"Expected a column name or a feature expression, got {value!r}.")


def _literal(value: object, *, owner: str) -> exp.Expr:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FeatureDefinitionError(f"{owner}: {value!r:.80} is not a number or a string.")
    if isinstance(value, float) and value != value:
        raise FeatureDefinitionError(f"{owner}: NaN cannot be written as a SQL literal; use a number.")
    # A larger whole number reads as a 128- or 256-bit integer, which no float64 or int64 column takes.
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        raise FeatureDefinitionError(f"{owner}: {value!r:.80} does not fit in 64 bits. Use a float such as 1e40.")
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def _check_finite_number(value: object, *, owner: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FeatureDefinitionError(f"{owner}: {value!r:.80} is not a number. Use a finite number such as 0.0.")
    if isinstance(value, float) and not math.isfinite(value):
        raise FeatureDefinitionError(f"{owner}: {value!r} is not a finite number. Use one such as 0.0.")
    _literal(value, owner=owner)


@dataclass(frozen=True)
class Col(FeatureExpr):
    """A column of the source stream, or of the lookup named ``source``."""

    name: str
    source: str | None = None

    def __post_init__(self) -> None:
        validate_column_name(self.name)

    def build(self, scope: Scope) -> exp.Expr:
        return scope.column(self.name, self.source)


@dataclass(frozen=True)
class Impute(FeatureExpr):
    """``value`` where ``expression`` is NULL (a missing value, or a lookup that found no row)."""

    expression: FeatureExpr | str
    value: float | int | str

    def build(self, scope: Scope) -> exp.Expr:
        inner = _as_expr(self.expression).build(scope)
        return exp.Coalesce(this=inner, expressions=[_literal(self.value, owner="Impute value")])


@dataclass(frozen=True)
class IsMissing(FeatureExpr):
    """1 where ``expression`` is NULL, else 0."""

    expression: FeatureExpr | str

    def build(self, scope: Scope) -> exp.Expr:
        inner = _as_expr(self.expression).build(scope)
        return exp.Anonymous(this="toUInt8", expressions=[exp.Is(this=inner, expression=exp.Null())])


@dataclass(frozen=True)
class Encode(FeatureExpr):
    """Ordinal encoding: the position of ``expression`` in ``categories``, or ``unknown``.

    The list is part of the definition, so training and serving share one
    encoding; a category added later maps to ``unknown`` until the list changes.
    """

    expression: FeatureExpr | str
    categories: tuple[str, ...]
    unknown: int = -1

    def __post_init__(self) -> None:
        # A set has no fixed order, so its codes could differ between training and serving.
        if isinstance(self.categories, (str, bytes)) or not isinstance(self.categories, Sequence):
            raise FeatureDefinitionError(
                f"Encode categories={self.categories!r:.80} must be a list or tuple of strings in a fixed order, "
                "such as ('food', 'travel')."
            )
        object.__setattr__(self, "categories", tuple(self.categories))
        if not self.categories:
            raise FeatureDefinitionError("Encode needs at least one category.")
        for category in self.categories:
            if not isinstance(category, str):
                raise FeatureDefinitionError(f"Encode category {category!r} is not a string.")
        duplicates = sorted({c for c in self.categories if self.categories.count(c) > 1})
        if duplicates:
            raise FeatureDefinitionError(f"Encode categories {duplicates} appear more than once.")
        low, high = INTEGER_RANGES["int32"]
        if isinstance(self.unknown, bool) or not isinstance(self.unknown, int) or not low <= self.unknown <= high:
            raise FeatureDefinitionError(
                f"Encode unknown={self.unknown!r:.80} must be an integer from {low} to {high} (int32), such as -1."
            )
        if 0 <= self.unknown < len(self.categories):
            raise FeatureDefinitionError(
                f"Encode unknown={self.unknown!r} collides with the position of category "
                f"{self.categories[self.unknown]!r}; use a negative number such as -1."
            )

    def check_type(self, type_name: str, *, owner: str) -> None:
        limits = INTEGER_RANGES.get(base_type(type_name))
        if limits is None:
            return
        low, high = limits
        for label, code in (("unknown", self.unknown), ("position of the last category", len(self.categories) - 1)):
            if not low <= code <= high:
                raise FeatureDefinitionError(
                    f"{owner}: the Encode {label}, {code}, does not fit type {type_name!r} ({low} to {high}). "
                    "Use a wider type such as 'int32', or another unknown=."
                )

    def build(self, scope: Scope) -> exp.Expr:
        inner = _as_expr(self.expression).build(scope)
        case = exp.Case()
        for position, category in enumerate(self.categories):
            case = case.when(exp.EQ(this=inner.copy(), expression=exp.Literal.string(category)), exp.Literal.number(position))
        return case.else_(exp.Literal.number(self.unknown))


@dataclass(frozen=True)
class Ratio(FeatureExpr):
    """``numerator / denominator`` where the denominator is positive, else ``default``."""

    numerator: FeatureExpr | str
    denominator: FeatureExpr | str
    default: float = 0.0

    def __post_init__(self) -> None:
        _check_finite_number(self.default, owner="Ratio default")

    def build(self, scope: Scope) -> exp.Expr:
        numerator = _as_expr(self.numerator).build(scope)
        denominator = _as_expr(self.denominator).build(scope)
        division = exp.Div(this=numerator, expression=denominator.copy(), typed=False, safe=False)
        condition = exp.GT(this=denominator, expression=exp.Literal.number(0))
        return exp.Case().when(condition, division).else_(_literal(self.default, owner="Ratio default"))


@dataclass(frozen=True)
class HourOfDay(FeatureExpr):
    """Hour (0–23) of a timestamp, in the server's time zone (UTC in the bundled stack)."""

    expression: FeatureExpr | str

    def build(self, scope: Scope) -> exp.Expr:
        return exp.Anonymous(this="toHour", expressions=[_as_expr(self.expression).build(scope)])
