"""Rendering one expression tree for each target: Proton or the embedded ClickHouse."""

from __future__ import annotations

import enum

from sqlglot import exp
from sqlglot.errors import ErrorLevel

from pyproton_ml.sql.dialect import Proton
from pyproton_ml.sql.embedded_dialect import EmbeddedClickHouse

# The Proton release that docker-compose.yml runs and that the generated SQL targets.
DEFAULT_PROTON_VERSION = "3.0.29"


class Target(enum.Enum):
    PROTON = "proton"
    CLICKHOUSE = "clickhouse"


def render(
    expression: exp.Expr,
    target: Target = Target.PROTON,
    *,
    proton_version: str = DEFAULT_PROTON_VERSION,
    pretty: bool = True,
) -> str:
    """Render ``expression`` as SQL for ``target``.

    Anything the target cannot express raises ``UnsupportedError`` (ours, or
    sqlglot's when the stock generator finds it), never a silent approximation.
    """
    if target is Target.PROTON:
        dialect = Proton(version=proton_version)
    else:
        dialect = EmbeddedClickHouse()

    return dialect.generate(expression, pretty=pretty, unsupported_level=ErrorLevel.RAISE)
