from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyproton_ml.errors import InputDataError
from pyproton_ml.models.training import train_classifier
from pyproton_ml.models.types import Argument

FEATURES = ["amount", "tx_count", "merchant_risk", "is_foreign", "account_age_days", "avg_amount_7d"]


def make_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01", periods=rows, freq="min"),
            "amount": rng.gamma(2.0, 50.0, rows),
            "tx_count": rng.integers(0, 30, rows).astype("uint64"),
            "merchant_risk": rng.uniform(0, 1, rows),
            "is_foreign": rng.uniform(0, 1, rows) < 0.2,
            "account_age_days": rng.integers(1, 3000, rows).astype("int32"),
            "avg_amount_7d": rng.gamma(2.0, 50.0, rows),
        }
    )
    frame.loc[rng.uniform(0, 1, rows) < 0.05, "avg_amount_7d"] = np.nan
    logit = -3 + 3 * frame["merchant_risk"] + 1.5 * frame["is_foreign"] + 0.01 * frame["amount"] - 0.0005 * frame["account_age_days"]
    frame["is_fraud"] = (rng.uniform(0, 1, rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def test_train_reports_metrics() -> None:
    trained = train_classifier(make_frame(), FEATURES, "is_fraud", "ts")
    assert set(trained.metrics) >= {"precision", "recall", "f1", "roc_auc", "threshold"}
    assert 0.5 < trained.metrics["roc_auc"] <= 1.0
    assert 0.0 < trained.threshold < 1.0
    assert trained.metrics["threshold"] == trained.threshold


def test_train_default_split_by_time() -> None:
    frame = make_frame(rows=400)
    trained = train_classifier(frame, FEATURES, "is_fraud", "ts")
    assert trained.split_at == pd.Timestamp("2024-01-01") + (frame["ts"].max() - frame["ts"].min()) * 0.75
    assert trained.training_rows + trained.test_rows == 400
    assert trained.test_rows == 100


def test_train_explicit_split() -> None:
    trained = train_classifier(make_frame(), FEATURES, "is_fraud", "ts", split_at="2024-01-01 05:00")
    assert trained.training_rows == 300


def test_train_reference_statistics() -> None:
    trained = train_classifier(make_frame(), FEATURES, "is_fraud", "ts")
    assert sorted(trained.reference) == sorted(FEATURES)
    assert trained.reference["avg_amount_7d"]["missing"] > 0
    assert sum(trained.score_reference["fractions"]) == pytest.approx(1.0)


def test_train_deterministic() -> None:
    first = train_classifier(make_frame(), FEATURES, "is_fraud", "ts")
    second = train_classifier(make_frame(), FEATURES, "is_fraud", "ts")
    assert first.metrics == second.metrics


def test_train_one_class_in_test() -> None:
    frame = make_frame()
    frame.loc[frame.index >= 300, "is_fraud"] = 0
    trained = train_classifier(frame, FEATURES, "is_fraud", "ts")
    assert trained.metrics["roc_auc"] is None


def test_train_to_metadata() -> None:
    trained = train_classifier(make_frame(), FEATURES, "is_fraud", "ts")
    arguments = [Argument(name, "float64") for name in FEATURES]
    metadata = trained.to_metadata("fraud", "1", "fraud_score", arguments)
    assert metadata.threshold == trained.threshold
    assert metadata.training_rows == trained.training_rows
    assert metadata.label == "is_fraud"


def test_train_to_metadata_wrong_order() -> None:
    trained = train_classifier(make_frame(), FEATURES, "is_fraud", "ts")
    arguments = [Argument(name, "float64") for name in reversed(FEATURES)]
    with pytest.raises(InputDataError, match="do not match the features"):
        trained.to_metadata("fraud", "1", "fraud_score", arguments)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["amount"]), r"Columns \['amount'\] are missing"),
        (lambda f: f.head(15), "Too few rows"),
        (lambda f: f.assign(is_fraud=0), "needs at least 2 rows of each class"),
        (lambda f: f.assign(is_fraud=2), "must hold 0/1 or bool"),
    ],
)
def test_train_invalid_input(change: object, message: str) -> None:
    frame = change(make_frame())  # type: ignore[operator]
    with pytest.raises(InputDataError, match=message):
        train_classifier(frame, FEATURES, "is_fraud", "ts")


def test_train_no_features() -> None:
    with pytest.raises(InputDataError, match="No feature names"):
        train_classifier(make_frame(), [], "is_fraud", "ts")
