"""Proton SQL as sqlglot expressions: the dialect, safe names and literals, and rendering.

Importing this package registers the ``proton`` dialect with sqlglot, so that
``sqlglot.parse_one(sql, read="proton")`` and ``expression.sql("proton")`` work.
"""

from __future__ import annotations

from pyproton_ml.sql.dialect import Proton
from pyproton_ml.sql.embedded_dialect import EmbeddedClickHouse
from pyproton_ml.sql.identifiers import identifier
from pyproton_ml.sql.identifiers import validate_identifier
from pyproton_ml.sql.render import Target
from pyproton_ml.sql.render import render

__all__ = [
    "EmbeddedClickHouse",
    "Proton",
    "Target",
    "identifier",
    "render",
    "validate_identifier",
]
