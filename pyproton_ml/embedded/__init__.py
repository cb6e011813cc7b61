"""The embedded engine: chDB runs the ClickHouse rendering of the historical SQL in-process."""

from __future__ import annotations

from pyproton_ml.embedded.engine import EmbeddedEngine

__all__ = ["EmbeddedEngine"]
