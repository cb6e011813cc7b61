"""The embedded demo end to end: chDB features, training, and scoring over HTTP on 127.0.0.1."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pyproton_ml.embedded.udf_client import MAX_BLOCK_SIZE
from pyproton_ml.examples.fraud.data import FraudExample
from pyproton_ml.examples.fraud.data import generate_fraud_example
from pyproton_ml.examples.fraud.datasets import load_public_example
from pyproton_ml.examples.fraud.demo import EmbeddedSummary
from pyproton_ml.examples.fraud.demo import run_embedded
from pyproton_ml.examples.fraud.replay import first_payments
from pyproton_ml.examples.fraud.pipeline import FUNCTION_NAME
from pyproton_ml.models import load_model


@pytest.fixture(scope="module")
def small_example() -> FraudExample:
    return generate_fraud_example(seed=3, cards=300, merchants=40, days=3)


def check_summary(summary: EmbeddedSummary, block_size: int) -> None:
    assert summary.scored_rows > 0
    assert summary.block_size == block_size
    assert summary.requests == math.ceil(summary.scored_rows / block_size)
    assert summary.max_score_difference == 0.0
    assert 0.0 <= summary.precision <= 1.0
    assert 0.0 <= summary.recall <= 1.0
    assert 0.0 <= summary.threshold <= 1.0
    assert summary.training_rows > summary.scored_rows


def test_run_embedded_generated(small_example: FraudExample, tmp_path: Path) -> None:
    steps: list[str] = []
    advanced: list[int] = []

    def progress(label: str, total: int):
        assert total > 0
        return advanced.append

    summary = run_embedded(small_example, tmp_path, block_size=200, progress=progress, step=steps.append)

    check_summary(summary, 200)
    assert sum(advanced) == summary.scored_rows
    assert summary.model_path == tmp_path / FUNCTION_NAME / "1"
    assert load_model(summary.model_path).metadata.function_name == FUNCTION_NAME
    assert any(step.startswith("Serving fraud_score at http://127.0.0.1:") for step in steps)


def test_run_embedded_public_dataset(tmp_path: Path) -> None:
    example = load_public_example()

    summary = run_embedded(example, tmp_path)

    check_summary(summary, 500)
    assert summary.training_rows + summary.scored_rows == len(example.payments)


@pytest.mark.parametrize("block_size", [MAX_BLOCK_SIZE, 1])
def test_run_embedded_block_size(small_example: FraudExample, tmp_path: Path, block_size: int) -> None:
    example = first_payments(small_example, 400)

    summary = run_embedded(example, tmp_path, block_size=block_size)

    check_summary(summary, block_size)


def test_run_embedded_replaces_model(small_example: FraudExample, tmp_path: Path) -> None:
    example = first_payments(small_example, 400)
    first = run_embedded(example, tmp_path, block_size=MAX_BLOCK_SIZE)

    second = run_embedded(example, tmp_path, block_size=MAX_BLOCK_SIZE)

    assert second.model_path == first.model_path
    assert second.max_score_difference == 0.0
