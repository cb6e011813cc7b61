"""Talk to a Proton server: settings, DDL scripts, inserts and streaming reads."""

from __future__ import annotations

from pyproton_ml.proton.client import ProtonClient, insert_query
from pyproton_ml.proton.settings import ProtonSettings
from pyproton_ml.proton.statements import (
    StatementSummary,
    read_sql_directory,
    read_sql_file,
    redact_statement,
    split_statements,
    summarize_statement,
)

__all__ = [
    "ProtonClient",
    "ProtonSettings",
    "StatementSummary",
    "insert_query",
    "read_sql_directory",
    "read_sql_file",
    "redact_statement",
    "split_statements",
    "summarize_statement",
]
