from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyproton_ml.errors import InputDataError
from pyproton_ml.models.reference import bin_fractions, compute_reference, summarize_values


def test_reference_ten_bins() -> None:
    frame = pd.DataFrame({"amount": np.arange(1000, dtype="float64")})
    stats = compute_reference(frame, ["amount"])["amount"]
    assert stats["edges"] == [99.0, 199.0, 299.0, 399.0, 499.0, 599.0, 699.0, 799.0, 899.0]
    assert stats["fractions"] == [0.1] * 10
    assert stats["count"] == 1000
    assert stats["missing"] == 0
    assert stats["min"] == 0.0
    assert stats["max"] == 999.0


def test_reference_counts_missing() -> None:
    frame = pd.DataFrame({"amount": [1.0, np.nan, 3.0, None, np.inf]})
    stats = compute_reference(frame, ["amount"])["amount"]
    assert stats["count"] == 2
    assert stats["missing"] == 3


def test_reference_constant_column() -> None:
    stats = summarize_values([5.0] * 20)
    assert stats["edges"] == [5.0]
    assert stats["fractions"] == [1.0, 0.0]


def test_reference_all_missing() -> None:
    stats = summarize_values([None, None])
    assert stats == {"edges": [], "fractions": [], "count": 0, "missing": 2, "min": None, "max": None}


def test_reference_bool_column() -> None:
    stats = compute_reference(pd.DataFrame({"flag": [True, False, False, False]}), ["flag"])["flag"]
    assert stats["edges"] == [0.0]
    assert stats["fractions"] == [0.75, 0.25]


def test_bin_fractions_matches_reference() -> None:
    values = np.random.default_rng(1).normal(size=500)
    stats = summarize_values(values)
    assert bin_fractions(values, stats["edges"]) == stats["fractions"]


def test_bin_fractions_outer_bins_open() -> None:
    fractions = bin_fractions([-100.0, 0.0, 0.5, 1.0, 100.0], [0.0, 1.0])
    assert fractions == [0.4, 0.4, 0.2]


@pytest.mark.parametrize(
    ("frame", "columns", "message"),
    [
        (pd.DataFrame({"a": [1.0]}), ["b"], r"columns \['b'\] are missing"),
        (pd.DataFrame({"a": ["x", "y"]}), ["a"], "is not numeric"),
    ],
)
def test_reference_invalid(frame: pd.DataFrame, columns: list[str], message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        compute_reference(frame, columns)


def test_bin_fractions_no_bins() -> None:
    with pytest.raises(InputDataError, match="define no bin"):
        bin_fractions([1.0], [])
