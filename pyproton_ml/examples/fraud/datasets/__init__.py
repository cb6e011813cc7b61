"""Real public data shipped with the fraud example, mapped onto the example's contract."""

from __future__ import annotations

from pyproton_ml.examples.fraud.datasets.us_employment import load_public_example

__all__ = ["load_public_example"]
