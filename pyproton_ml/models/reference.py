"""Reference statistics: quantile bins of the training data that a drift monitor compares live data with.

`compute_reference` and `bin_fractions` share one binning rule, so that a monitor can compute PSI
without the training data. `edges` are the distinct 10 %, 20 %, ..., 90 % quantiles of the
non-missing reference values (numpy method "lower", so each edge is an observed value). They cut
the number line into len(edges) + 1 right-closed bins: (-inf, e0], (e0, e1], ..., (e_last, +inf).
With 10 distinct edges that makes up to 10 populated bins plus one upper bin, and a column with
few distinct values (such as a bool) gets fewer bins. Missing values (NaN, None, +-inf) are
counted apart in `missing` and are not part of `fractions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pyproton_ml.errors import InputDataError

BIN_COUNT = 10


def compute_reference(frame: pd.DataFrame, columns: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Compute quantile bins for each numeric column of `frame`.

    Returns one entry per column: `edges`, `fractions` (one per bin, summing to 1 when any value is
    present), `count` of non-missing values and `missing`.
    """
    names = list(columns)
    absent = [name for name in names if name not in frame.columns]
    if absent:
        raise InputDataError(
            f"Cannot compute reference statistics: columns {absent!r:.200} are missing from the frame, "
            f"which has {list(frame.columns)!r:.200}."
        )
    return {name: summarize_values(frame[name], name) for name in names}


def summarize_values(values: Iterable[Any], name: str = "score") -> dict[str, Any]:
    """Compute the quantile bins of one sequence of numbers (for example model scores)."""
    series = pd.Series(values)
    if series.dtype == bool:
        series = series.astype("float64")
    if not (pd.api.types.is_numeric_dtype(series) or series.isna().all()):
        raise InputDataError(
            f"Cannot compute reference statistics for column {name!r}: dtype {str(series.dtype)!r} is not numeric. "
            "Pass only numeric or bool columns."
        )
    numbers = series.astype("float64").to_numpy()
    finite = numbers[np.isfinite(numbers)]
    missing = int(numbers.size - finite.size)
    if finite.size == 0:
        return {"edges": [], "fractions": [], "count": 0, "missing": missing, "min": None, "max": None}

    quantiles = np.linspace(0.0, 1.0, BIN_COUNT + 1)[1:-1]
    edges = [float(edge) for edge in np.unique(np.quantile(finite, quantiles, method="lower"))]
    return {
        "edges": edges,
        "fractions": bin_fractions(finite, edges),
        "count": int(finite.size),
        "missing": missing,
        "min": float(finite.min()),
        "max": float(finite.max()),
    }


def bin_fractions(values: Iterable[Any], edges: Sequence[float]) -> list[float]:
    """Return the fraction of non-missing `values` in each of the len(edges) + 1 bins (see the module rule)."""
    if len(edges) < 1:
        raise InputDataError("Reference edges are empty, so they define no bins; pass at least one edge.")
    numbers = pd.Series(values).astype("float64").to_numpy()
    finite = numbers[np.isfinite(numbers)]
    bin_count = len(edges) + 1
    if finite.size == 0:
        return [0.0] * bin_count
    indexes = np.searchsorted(np.asarray(edges, dtype="float64"), finite, side="left")
    counts = np.bincount(indexes, minlength=bin_count)
    return [float(count) / finite.size for count in counts]
