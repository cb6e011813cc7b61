"""Intervals written as Proton shorthands: ``500ms``, ``5s``, ``10m``, ``1h``, ``1d``."""

from __future__ import annotations

import re

from sqlglot import exp

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.sql.nodes import UNIT_MILLISECONDS
from pyproton_ml.sql.nodes import IntervalShorthand

_SHORTHAND = re.compile(r"([1-9][0-9]{0,8})(ms|s|m|h|d)")


def parse_interval(text: object, *, owner: str) -> IntervalShorthand:
    """Parse ``text`` into an interval node; ``owner`` names the setting in errors."""
    if not isinstance(text, str):
        raise FeatureDefinitionError(f"{owner}: interval {text!r} must be a string such as '10m'.")

    match = _SHORTHAND.fullmatch(text.strip())
    if not match:
        raise FeatureDefinitionError(
            f"{owner}: invalid interval {text!r}. Write a positive whole number and one of the units "
            f"{', '.join(UNIT_MILLISECONDS)}, for example '30s' or '10m'."
        )

    number, unit = match.groups()
    return IntervalShorthand(this=exp.Literal.number(int(number)).this, unit=exp.var(unit))


def interval_seconds(text: str, *, owner: str) -> float:
    return parse_interval(text, owner=owner).seconds


def interval_literal(milliseconds: int) -> exp.Interval:
    """Build ``INTERVAL n SECOND`` (``MILLISECOND`` for a fraction of a second), which both Proton and ClickHouse read in arithmetic."""
    seconds, remainder = divmod(milliseconds, 1000)
    if not remainder:
        return exp.Interval(this=exp.Literal.number(seconds), unit=exp.var("SECOND"))
    return exp.Interval(this=exp.Literal.number(milliseconds), unit=exp.var("MILLISECOND"))
