"""Training of a binary classifier with a time-based split, an F1-best threshold and reference statistics."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import f1_score, precision_recall_curve, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from pyproton_ml.errors import InputDataError
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.reference import compute_reference, summarize_values
from pyproton_ml.models.types import Argument

logger = logging.getLogger(__name__)

RANDOM_STATE = 0
MIN_TRAIN_ROWS = 20
MIN_TEST_ROWS = 5
TEST_FRACTION = 0.25
MAX_FOLDS = 5


@dataclass
class TrainedModel:
    """A fitted pipeline with its evaluation and everything `ModelMetadata` needs besides names."""

    pipeline: Pipeline
    feature_names: list[str]
    label: str
    threshold: float
    metrics: dict[str, Any]
    split_at: Any
    training_rows: int
    test_rows: int
    reference: dict[str, Any] = field(default_factory=dict)
    score_reference: dict[str, Any] = field(default_factory=dict)

    def to_metadata(self, name: str, version: str, function_name: str, arguments: list[Argument]) -> ModelMetadata:
        """Build metadata for `save_model`; `arguments` must list the feature names in order."""
        if [argument.name for argument in arguments] != self.feature_names:
            raise InputDataError(
                f"Arguments {[a.name for a in arguments]!r:.200} do not match the features "
                f"{self.feature_names!r:.200} in order. Declare one argument per feature, in feature order."
            )
        return ModelMetadata(
            name=name,
            version=version,
            function_name=function_name,
            arguments=arguments,
            metrics=self.metrics,
            threshold=self.threshold,
            reference=self.reference,
            score_reference=self.score_reference,
            training_rows=self.training_rows,
            label=self.label,
        )


def build_pipeline() -> Pipeline:
    """Build the seeded pipeline: median imputation, then histogram gradient boosting."""
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("classify", HistGradientBoostingClassifier(random_state=RANDOM_STATE)),
        ]
    )


def train_classifier(
    frame: pd.DataFrame,
    feature_names: list[str],
    label: str,
    time_column: str,
    split_at: Any = None,
) -> TrainedModel:
    """Train on rows before `split_at` and evaluate on rows at or after it.

    The default `split_at` is the start of the last 25 % of the time range (by time, not by rows).
    The decision threshold is the F1-best threshold on out-of-fold scores of the training range
    (stratified k-fold inside that range only), so the test range never influences it. Metrics are
    precision, recall and F1 at that threshold, plus ROC AUC, on the test range; ROC AUC is None
    when the test range has one class only.
    """
    _check_columns(frame, feature_names, label, time_column)
    times = pd.to_datetime(frame[time_column]) if not pd.api.types.is_numeric_dtype(frame[time_column]) else frame[time_column]
    if split_at is None:
        start, end = times.min(), times.max()
        split_at = start + (end - start) * (1 - TEST_FRACTION)
    elif not pd.api.types.is_numeric_dtype(times):
        split_at = pd.Timestamp(split_at)

    train_mask = (times < split_at).to_numpy()
    train, test = frame[train_mask], frame[~train_mask]
    _check_split(train, test, label, split_at)

    features_train = train[feature_names]
    labels_train = train[label].astype(int).to_numpy()
    out_of_fold = _out_of_fold_scores(features_train, labels_train)
    threshold = _f1_best_threshold(labels_train, out_of_fold)

    pipeline = build_pipeline().fit(features_train, labels_train)
    test_scores = pipeline.predict_proba(test[feature_names])[:, 1]
    metrics = evaluate(test[label].astype(int).to_numpy(), test_scores, threshold)
    logger.info(
        "Trained classifier on %d rows, tested on %d rows after %s: %s",
        len(train),
        len(test),
        split_at,
        {key: value for key, value in metrics.items() if key != "threshold"},
    )

    numeric = [name for name in feature_names if _is_numeric(frame[name])]
    return TrainedModel(
        pipeline=pipeline,
        feature_names=list(feature_names),
        label=label,
        threshold=threshold,
        metrics=metrics,
        split_at=split_at,
        training_rows=len(train),
        test_rows=len(test),
        reference=compute_reference(features_train, numeric),
        score_reference=summarize_values(out_of_fold, "score"),
    )


def evaluate(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Compute precision, recall, F1 and ROC AUC (None with one class) at `threshold`."""
    predicted = (scores >= threshold).astype(int)
    one_class = np.unique(labels).size < 2
    if one_class:
        logger.warning("The test range contains one class only (%s), so ROC AUC is undefined and reported as None", labels[:1])
    return {
        "threshold": float(threshold),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "roc_auc": None if one_class else float(roc_auc_score(labels, scores)),
        "positive_rate": float(labels.mean()) if labels.size else 0.0,
        "rows": int(labels.size),
    }


def _check_columns(frame: pd.DataFrame, feature_names: list[str], label: str, time_column: str) -> None:
    if not feature_names:
        raise InputDataError("No feature names given; pass at least one feature column.")
    missing = [name for name in [*feature_names, label, time_column] if name not in frame.columns]
    if missing:
        raise InputDataError(
            f"Columns {missing!r:.200} are missing from the training frame, which has {list(frame.columns)!r:.300}. "
            "Fix the feature, label or time column names."
        )
    labels = frame[label].dropna().unique()
    if not set(labels.tolist()) <= {0, 1, True, False}:
        raise InputDataError(f"Label column {label!r} must hold 0/1 or bool values, found {sorted(map(repr, labels))[:5]!r}.")
    if frame[label].isna().any():
        raise InputDataError(f"Label column {label!r} has {int(frame[label].isna().sum())} missing values; drop those rows first.")


def _check_split(train: pd.DataFrame, test: pd.DataFrame, label: str, split_at: Any) -> None:
    if len(train) < MIN_TRAIN_ROWS or len(test) < MIN_TEST_ROWS:
        raise InputDataError(
            f"Too few rows around split_at={split_at!r:.60}: {len(train)} for training (need {MIN_TRAIN_ROWS}) "
            f"and {len(test)} for testing (need {MIN_TEST_ROWS}). Pass more rows or another split_at."
        )
    classes = train[label].astype(int).value_counts()
    if classes.size < 2 or classes.min() < 2:
        raise InputDataError(
            f"The training range before split_at={split_at!r:.60} needs at least 2 rows of each class, "
            f"got {classes.to_dict()!r}. Add labelled rows of the missing or rarer class, or pass a split_at "
            "that leaves at least 2 of each before it."
        )


def _out_of_fold_scores(features: pd.DataFrame, labels: np.ndarray) -> np.ndarray:
    folds = min(MAX_FOLDS, int(np.bincount(labels).min()))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
    return cross_val_predict(build_pipeline(), features, labels, cv=splitter, method="predict_proba")[:, 1]


def _f1_best_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    # The last precision/recall pair has no threshold, so it is dropped.
    denominator = precision[:-1] + recall[:-1]
    f1 = np.divide(2 * precision[:-1] * recall[:-1], denominator, out=np.zeros_like(denominator), where=denominator > 0)
    return float(thresholds[int(np.argmax(f1))])


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))
