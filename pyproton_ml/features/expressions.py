"""The small expression language of feature definitions.

Each expression builds a sqlglot expression against a :class:`Scope`, which
resolves column references to the source stream or to a lookup and checks
that the column exists. Literals go through sqlglot, which escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.sql.identifiers import validate_column_name


class Scope(Protocol):
    def column(self, name: str, source: str | None) -> exp.Expr: ...


class FeatureExpr:
    """Base of feature expressions."""

    def build(self, scope: Scope) -> exp.Expr:
        raise NotImplementedError


def _as_expr(value: FeatureExpr | str) -> FeatureExpr:
    if isinstance(value, FeatureExpr):
        return value
    if isinstance(value, str):
        return Col(value)
    raise FeatureDefinitionError(f"Expected a column name or a feature expression, got {value!r}.")


def _literal(value: object, *, owner: str) -> exp.Expr:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FeatureDefinitionError(f"{owner}: {value!r} is not a number or a string.")
    if isinstance(value, float) and value != value:
        raise FeatureDefinitionError(f"{owner}: NaN cannot be written as a SQL literal; use a number.")
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


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
        object.__setattr__(self, "categories", tuple(self.categories))
        if not self.categories:
            raise FeatureDefinitionError("Encode needs at least one category.")
        for category in self.categories:
            if not isinstance(category, str):
                raise FeatureDefinitionError(f"Encode category {category!r} is not a string.")
        duplicates = sorted({c for c in self.categories if self.categories.count(c) > 1})
        if duplicates:
            raise FeatureDefinitionError(f"Encode categories {duplicates} appear more than once.")
        if isinstance(self.unknown, bool) or not isinstance(self.unknown, int):
            raise FeatureDefinitionError(f"Encode unknown={self.unknown!r} must be an integer, such as -1.")
        if 0 <= self.unknown < len(self.categories):
            raise FeatureDefinitionError(
                f"Encode unknown={self.unknown!r} collides with the position of category "
                f"{self.categories[self.unknown]!r}; use a negative number such as -1."
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
