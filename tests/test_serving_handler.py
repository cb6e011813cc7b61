from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor

from pyproton_ml.errors import ModelArtifactError
from pyproton_ml.models.artifact import LoadedModel
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.types import Argument
from pyproton_ml.serving.handler import score_frame

FRAME = pd.DataFrame({"amount": [1.0, 2.0, 3.0]})


class FixedOutput:
    """An estimator that returns a fixed array from predict_proba."""

    def __init__(self, output: Any) -> None:
        self.output = output

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        return self.output


def wrap(estimator: Any, return_type: str = "float64") -> LoadedModel:
    metadata = ModelMetadata(
        name="m", version="1", function_name="m_score", arguments=[Argument("amount", "float64")], return_type=return_type
    )
    return LoadedModel(estimator=estimator, metadata=metadata, path=Path("."))


def test_score_classifier_positive_class() -> None:
    estimator = DummyClassifier(strategy="prior").fit(FRAME, [0, 1, 1])
    result = score_frame(wrap(estimator), FRAME)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, [2 / 3] * 3)


def test_score_regressor_predict() -> None:
    estimator = DummyRegressor(strategy="constant", constant=4.0).fit(FRAME, [0, 0, 0])
    assert score_frame(wrap(estimator), FRAME).tolist() == [4.0, 4.0, 4.0]


def test_score_empty_frame() -> None:
    assert score_frame(wrap(FixedOutput(None)), FRAME.iloc[:0]).size == 0


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (np.ones((2, 2)), r"returned \(2,\) values for 3 rows"),
        (np.ones((3, 1)), r"shape \(3, 1\)"),
        (np.ones(3), r"shape \(3,\)"),
        (np.array([[0.5, 0.5], [0.5, np.nan], [0.0, np.inf]]), "returned 2 NaN or infinite"),
    ],
)
def test_score_invalid_output(output: Any, message: str) -> None:
    with pytest.raises(ModelArtifactError, match=message):
        score_frame(wrap(FixedOutput(output)), FRAME)
