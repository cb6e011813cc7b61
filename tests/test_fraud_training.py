"""The example's training set: checks on user data that would otherwise weaken the model silently."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from pyproton_ml.embedded.engine import EmbeddedEngine
from pyproton_ml.errors import InputDataError, ModelArtifactError
from pyproton_ml.examples.fraud import training
from pyproton_ml.examples.fraud.pipeline import FUNCTION_NAME, MODEL_NAME, MODEL_VERSION
from pyproton_ml.models.artifact import METADATA_FILE
from pyproton_ml.examples.fraud.data import FraudExample, generate_fraud_example
from pyproton_ml.examples.fraud.training import build_training_set

LOGGER = "pyproton_ml.examples.fraud.training"


@pytest.fixture(scope="module")
def example() -> FraudExample:
    return generate_fraud_example(seed=11, cards=150, merchants=25, days=2)


def build(example: FraudExample) -> pd.DataFrame:
    with EmbeddedEngine() as engine:
        return build_training_set(engine, example)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER and record.levelno == logging.WARNING]


def test_generated_example_builds_without_warnings(example: FraudExample, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)

    training_set = build(example)

    assert len(training_set) == len(example.payments)
    assert warnings_of(caplog) == []


def test_unknown_categories_warn_and_encode_as_minus_one(example: FraudExample, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    shouting = example.payments.assign(merchant_category=example.payments["merchant_category"].str.upper())

    training_set = build(FraudExample(payments=shouting, merchants=example.merchants, labels=example.labels))

    (message,) = warnings_of(caplog)
    assert f"{len(shouting)} of {len(shouting)} payments have a merchant category outside the encoding" in message
    assert "'GROCERY' (" in message
    assert "Known categories: grocery, fuel" in message
    assert (training_set["merchant_category_code"] == -1).all()


def test_unmatched_labels_warn(example: FraudExample, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    stray = pd.DataFrame(
        {
            "event_id": ["X1", "X2"],
            "is_fraud": pd.Series([1, 0], dtype="uint8"),
            "fraud_pattern": ["", ""],
            "label_time": pd.to_datetime(["2024-01-02", "2024-01-02"]).astype("datetime64[ms]"),
        }
    )
    labels = pd.concat([example.labels, stray], ignore_index=True)

    build(FraudExample(payments=example.payments, merchants=example.merchants, labels=labels))

    (message,) = warnings_of(caplog)
    assert f"2 of {len(labels)} labels match no payment event_id and are ignored (first: 'X1')" in message


def test_unlabelled_payments_warn(example: FraudExample, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    kept = example.labels.iloc[: len(example.labels) // 2]

    training_set = build(FraudExample(payments=example.payments, merchants=example.merchants, labels=kept))

    (message,) = warnings_of(caplog)
    missing = len(example.payments) - len(kept)
    assert f"{missing} of {len(example.payments)} payments " in message
    assert "have no label and count as legitimate (is_fraud=0)" in message
    assert int(training_set["is_fraud"].sum()) == int(kept["is_fraud"].sum())


def test_unremovable_previous_model_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model folder written by root (the compose train job) cannot be replaced by a normal user."""
    version_dir = tmp_path / "models" / FUNCTION_NAME / MODEL_VERSION
    version_dir.mkdir(parents=True)
    (version_dir / METADATA_FILE).write_text("{}")
    monkeypatch.setattr(training, "read_metadata", lambda directory: SimpleNamespace(name=MODEL_NAME))

    def denied(path: object) -> None:
        raise PermissionError(13, "Permission denied", "model.joblib")

    monkeypatch.setattr(training.shutil, "rmtree", denied)

    with pytest.raises(ModelArtifactError, match=rf"Cannot replace the example model in '{re.escape(str(version_dir))}': Permission denied\. .*root.*--models-dir"):
        training._remove_previous_example_model(version_dir)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda labels: labels.assign(is_fraud=labels["is_fraud"] * 0), r"none of those has is_fraud=1"),
        (lambda labels: labels.assign(event_id="X" + labels["event_id"]), r"0 of \d+ labels match a payment"),
        (lambda labels: labels.iloc[:0], r"0 of 0 labels match a payment"),
    ],
    ids=["no-fraud", "no-match", "no-labels"],
)
def test_no_fraud_label_rejected(example: FraudExample, change, message: str) -> None:  # type: ignore[no-untyped-def]
    broken = FraudExample(payments=example.payments, merchants=example.merchants, labels=change(example.labels))

    with pytest.raises(InputDataError, match=message) as raised:
        build(broken)

    assert "Pass a labels file with is_fraud=1 rows" in str(raised.value)
