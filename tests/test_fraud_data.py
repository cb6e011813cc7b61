from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyproton_ml.errors import InputDataError
from pyproton_ml.examples.fraud.data import (
    FRAUD_PATTERNS,
    MERCHANT_CATEGORIES,
    FraudExample,
    generate_fraud_example,
    write_example,
)

EXPECTED_COLUMNS = {
    "payments": ["event_id", "card_id", "merchant_id", "merchant_category", "amount", "event_time"],
    "merchants": ["merchant_id", "merchant_category", "risk_score", "updated_at"],
    "labels": ["event_id", "is_fraud", "fraud_pattern", "label_time"],
}
STRING_COLUMNS = {"event_id", "card_id", "merchant_id", "merchant_category", "fraud_pattern"}
EXPECTED_NUMPY_DTYPES = {
    "amount": np.dtype("float64"),
    "risk_score": np.dtype("float64"),
    "is_fraud": np.dtype("uint8"),
    "event_time": np.dtype("datetime64[ms]"),
    "updated_at": np.dtype("datetime64[ms]"),
    "label_time": np.dtype("datetime64[ms]"),
}


@pytest.fixture(scope="module")
def example() -> FraudExample:
    return generate_fraud_example()


@pytest.fixture(scope="module")
def joined(example: FraudExample) -> pd.DataFrame:
    return example.payments.merge(example.labels, on="event_id", validate="one_to_one")


def test_generate_deterministic_for_seed() -> None:
    first = generate_fraud_example(seed=3, cards=300, merchants=30, days=2)
    second = generate_fraud_example(seed=3, cards=300, merchants=30, days=2)
    other = generate_fraud_example(seed=4, cards=300, merchants=30, days=2)
    for name in EXPECTED_COLUMNS:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))
    assert not first.payments.equals(other.payments)


@pytest.mark.parametrize("table", list(EXPECTED_COLUMNS))
def test_generate_columns_and_dtypes(example: FraudExample, table: str) -> None:
    frame: pd.DataFrame = getattr(example, table)
    assert list(frame.columns) == EXPECTED_COLUMNS[table]
    for column in frame.columns:
        if column in STRING_COLUMNS:
            assert pd.api.types.is_string_dtype(frame[column].dtype), column
            assert not frame[column].isna().any(), column
        else:
            assert frame[column].dtype == EXPECTED_NUMPY_DTYPES[column], column


def test_generate_default_size(example: FraudExample) -> None:
    times = example.payments["event_time"]
    assert 20_000 <= len(example.payments) <= 60_000
    assert times.min() >= pd.Timestamp("2024-01-01")
    assert times.max() < pd.Timestamp("2024-01-08")
    assert times.max() - times.min() > pd.Timedelta(days=6)


def test_generate_event_ids_unique(example: FraudExample) -> None:
    assert example.payments["event_id"].is_unique
    assert example.labels["event_id"].is_unique
    assert set(example.labels["event_id"]) == set(example.payments["event_id"])


def test_generate_categories_fixed(example: FraudExample) -> None:
    assert set(example.payments["merchant_category"]) == set(MERCHANT_CATEGORIES)
    assert set(example.merchants["merchant_category"]) == set(MERCHANT_CATEGORIES)


def test_generate_payment_category_matches_merchant(example: FraudExample) -> None:
    categories = example.merchants.drop_duplicates("merchant_id").set_index("merchant_id")
    expected = example.payments["merchant_id"].map(categories["merchant_category"])
    assert (expected == example.payments["merchant_category"]).all()


def test_generate_fraud_rate(example: FraudExample) -> None:
    rate = example.labels["is_fraud"].mean()
    assert 0.01 <= rate <= 0.03


@pytest.mark.parametrize("pattern", FRAUD_PATTERNS)
def test_generate_pattern_present(example: FraudExample, pattern: str) -> None:
    rows = example.labels[example.labels["fraud_pattern"] == pattern]
    assert len(rows) >= 50
    assert (rows["is_fraud"] == 1).all()


def test_generate_legitimate_pattern_empty(example: FraudExample) -> None:
    legitimate = example.labels[example.labels["is_fraud"] == 0]
    assert (legitimate["fraud_pattern"] == "").all()
    assert set(example.labels["fraud_pattern"]) == {"", *FRAUD_PATTERNS}


def test_generate_burst_within_minutes(joined: pd.DataFrame) -> None:
    bursts = joined[joined["fraud_pattern"] == "card_burst"].sort_values("event_time")
    per_card_span = bursts.groupby("card_id")["event_time"].agg(["count", "min", "max"])
    tight = per_card_span[
        (per_card_span["count"] >= 4)
        & (per_card_span["max"] - per_card_span["min"] <= pd.Timedelta(minutes=15))
    ]
    assert len(tight) >= 5
    online = bursts["merchant_category"].isin(["online_retail", "electronics"]).mean()
    assert online >= 0.6


def test_generate_outlier_far_above_category(joined: pd.DataFrame) -> None:
    legitimate = joined[joined["is_fraud"] == 0]
    medians = legitimate.groupby("merchant_category")["amount"].median()
    outliers = joined[joined["fraud_pattern"] == "amount_outlier"]
    ratio = outliers["amount"] / outliers["merchant_category"].map(medians)
    assert ratio.min() >= 5.0
    assert not outliers["amount"].isna().any()


def test_generate_risky_merchant_high_at_time(example: FraudExample, joined: pd.DataFrame) -> None:
    risky = joined[joined["fraud_pattern"] == "risky_merchant"].sort_values("event_time")
    history = example.merchants.sort_values("updated_at")
    scored = pd.merge_asof(
        risky, history[["merchant_id", "updated_at", "risk_score"]],
        left_on="event_time", right_on="updated_at", by="merchant_id",
    )  # fmt: skip
    assert scored["risk_score"].min() >= 0.75


def test_generate_merchant_risk_changes(example: FraudExample) -> None:
    history = example.merchants
    assert history["risk_score"].between(0.0, 1.0).all()
    per_merchant = history.groupby("merchant_id")["risk_score"].agg(["first", "max", "count"])
    turned_risky = per_merchant[(per_merchant["first"] < 0.5) & (per_merchant["max"] >= 0.8)]
    assert len(turned_risky) >= 1
    assert (per_merchant["count"] > 1).mean() > 0.5


def test_generate_merchant_row_before_payments(example: FraudExample) -> None:
    first_update = example.merchants.groupby("merchant_id")["updated_at"].min()
    assert (first_update <= example.payments["event_time"].min()).all()
    assert set(example.payments["merchant_id"]) <= set(first_update.index)


def test_generate_arrival_jitter(example: FraudExample) -> None:
    times = example.payments["event_time"]
    lateness = times.cummax() - times
    assert not times.is_monotonic_increasing
    assert (lateness > pd.Timedelta(seconds=2)).mean() > 0.01
    assert lateness.max() <= pd.Timedelta(minutes=10)


def test_generate_missing_amounts(example: FraudExample) -> None:
    missing = example.payments["amount"].isna().mean()
    assert 0.005 <= missing <= 0.03
    assert (example.payments["amount"].dropna() > 0).all()


def test_generate_amounts_right_skewed(joined: pd.DataFrame) -> None:
    legitimate = joined[joined["is_fraud"] == 0].groupby("merchant_category")["amount"]
    assert (legitimate.mean() > legitimate.median()).all()
    assert (legitimate.quantile(0.999) > 4 * legitimate.median()).all()


def test_generate_diurnal_activity(joined: pd.DataFrame) -> None:
    hours = joined.loc[joined["is_fraud"] == 0, "event_time"].dt.hour
    busy = hours.isin([12, 18, 19]).sum()
    quiet = hours.isin([2, 3, 4]).sum()
    assert busy > 5 * quiet


def test_generate_labels_delayed(joined: pd.DataFrame) -> None:
    delay = joined["label_time"] - joined["event_time"]
    assert delay.min() >= pd.Timedelta(hours=1)
    assert delay.max() <= pd.Timedelta(days=14, milliseconds=1)
    assert delay.median() >= pd.Timedelta(hours=12)


def test_generate_smallest_sizes() -> None:
    example = generate_fraud_example(seed=0, cards=1, merchants=len(MERCHANT_CATEGORIES), days=1)
    assert set(example.labels["fraud_pattern"]) >= set(FRAUD_PATTERNS)
    assert list(example.payments.columns) == EXPECTED_COLUMNS["payments"]


def test_generate_start_converted_to_utc() -> None:
    example = generate_fraud_example(cards=50, merchants=10, days=1, start="2024-03-01T02:00:00+02:00")
    assert example.merchants["updated_at"].min() == pd.Timestamp("2024-03-01") - pd.Timedelta(days=30)
    assert example.payments["event_time"].min() >= pd.Timestamp("2024-03-01")


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"cards": 0}, r"Invalid cards=0\. Expected an integer >= 1"),
        ({"cards": -5}, r"Invalid cards=-5"),
        ({"cards": 1.5}, r"Invalid cards=1\.5"),
        ({"cards": True}, r"Invalid cards=True"),
        ({"merchants": 7}, r"Invalid merchants=7\. Expected an integer >= 8"),
        ({"days": 0}, r"Invalid days=0"),
        ({"seed": -1}, r"Invalid seed=-1\. Expected an integer >= 0"),
        ({"start": "not a date"}, r"Invalid start='not a date': it is not a timestamp"),
        ({"start": None}, r"Invalid start=None: it is missing"),
    ],
)
def test_generate_invalid_arguments(arguments: dict[str, object], match: str) -> None:
    with pytest.raises(InputDataError, match=match):
        generate_fraud_example(**arguments)  # type: ignore[arg-type]


def test_write_example_invalid_format(tmp_path) -> None:
    example = generate_fraud_example(cards=20, merchants=8, days=1)
    with pytest.raises(InputDataError, match=r"Invalid example format 'json'"):
        write_example(example, tmp_path, format="json")  # type: ignore[arg-type]


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_write_example_files(tmp_path, format: str) -> None:
    example = generate_fraud_example(cards=20, merchants=8, days=1)
    paths = write_example(example, tmp_path / "nested", format=format)  # type: ignore[arg-type]
    assert sorted(paths) == ["labels", "merchants", "payments"]
    for name, path in paths.items():
        assert path == tmp_path / "nested" / f"{name}.{format}"
        assert path.stat().st_size > 0
