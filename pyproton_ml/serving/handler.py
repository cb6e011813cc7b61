"""Scoring: a pure function from a loaded model and decoded columns to one result per row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pyproton_ml.errors import ModelArtifactError
from pyproton_ml.models.artifact import LoadedModel
from pyproton_ml.models.types import FLOATS, parse_type


def score_frame(model: LoadedModel, frame: pd.DataFrame) -> np.ndarray:
    """Score every row of `frame` (columns in argument order) and return one value per row.

    Classifiers return `predict_proba(...)[:, 1]` as float64, other estimators `predict`. Exceptions
    from the estimator propagate unchanged. Raises `ModelArtifactError` when the estimator returns a
    result of the wrong shape, or non-finite values for a float return type, because Proton would
    reject or silently mask them.
    """
    rows = len(frame)
    if rows == 0:
        return np.empty(0, dtype=np.float64)

    estimator = model.estimator
    if hasattr(estimator, "predict_proba"):
        probabilities = np.asarray(estimator.predict_proba(frame))
        if probabilities.ndim != 2 or probabilities.shape[1] < 2:
            raise ModelArtifactError(
                f"Model {model.metadata.function_name!r} returned probabilities of shape {probabilities.shape}; "
                "a binary classifier must return shape (rows, 2)."
            )
        result = probabilities[:, 1].astype(np.float64)
    else:
        result = np.asarray(estimator.predict(frame))

    if result.shape != (rows,):
        raise ModelArtifactError(
            f"Model {model.metadata.function_name!r} returned {result.shape} values for {rows} rows; "
            "it must return one value per row."
        )
    if parse_type(model.metadata.return_type).base.name in FLOATS:
        result = result.astype(np.float64, copy=False)
        non_finite = int(np.count_nonzero(~np.isfinite(result)))
        if non_finite:
            raise ModelArtifactError(
                f"Model {model.metadata.function_name!r} returned {non_finite} NaN or infinite value(s) in {rows} rows."
            )
    return result
