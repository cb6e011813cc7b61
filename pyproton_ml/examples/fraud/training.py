"""Building the example's training set in the embedded engine and training its model."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pyproton_ml.embedded.engine import EmbeddedEngine
from pyproton_ml.errors import InputDataError
from pyproton_ml.errors import ModelArtifactError
from pyproton_ml.examples.fraud.data import FraudExample
from pyproton_ml.examples.fraud.definitions import MERCHANT_CATEGORIES
from pyproton_ml.examples.fraud.definitions import merchants
from pyproton_ml.examples.fraud.definitions import payment_features
from pyproton_ml.examples.fraud.definitions import payments
from pyproton_ml.examples.fraud.pipeline import FUNCTION_NAME
from pyproton_ml.examples.fraud.pipeline import MODEL_NAME
from pyproton_ml.examples.fraud.pipeline import MODEL_VERSION
from pyproton_ml.models.artifact import METADATA_FILE
from pyproton_ml.models.artifact import read_metadata
from pyproton_ml.models.artifact import save_model
from pyproton_ml.models.training import TrainedModel
from pyproton_ml.models.training import train_classifier
from pyproton_ml.models.types import Argument

logger = logging.getLogger(__name__)

LABEL = "is_fraud"


@dataclass
class TrainingResult:
    training_set: pd.DataFrame
    model: TrainedModel
    model_path: Path


def build_training_set(engine: EmbeddedEngine, example: FraudExample) -> pd.DataFrame:
    """Load the example into ``engine``, run the historical feature query and attach labels.

    Events without a label are taken as legitimate, as a chargeback-based label
    process would record them.
    """
    for stream in (payments, merchants):
        engine.create(stream)
    engine.insert(payments, example.payments)
    engine.insert(merchants, example.merchants)

    features = engine.query(payment_features.select(historical=True))
    if features.empty:
        raise InputDataError("The historical feature query returned no rows; check that the payments file has rows.")

    _check_categories(example.payments)
    labels = example.labels.loc[:, ["event_id", LABEL]]
    _check_labels(labels, features["event_id"])
    training_set = features.merge(labels, on="event_id", how="left", validate="one_to_one")
    training_set[LABEL] = training_set[LABEL].fillna(0).astype("uint8")
    logger.info("Built a training set of %d rows with %d positives", len(training_set), int(training_set[LABEL].sum()))
    return training_set


def train_and_save(training_set: pd.DataFrame, models_dir: Path) -> tuple[TrainedModel, Path]:
    """Train the example model and save it as version ``MODEL_VERSION`` under ``models_dir``.

    An earlier copy of the example model at that version is replaced; a
    different model there is left alone and raises ``ModelArtifactError``.
    """
    trained = train_classifier(
        training_set,
        feature_names=list(payment_features.feature_names),
        label=LABEL,
        time_column=payments.event_time,
    )
    arguments = [Argument(name, type_name) for name, type_name in payment_features.signature]
    metadata = trained.to_metadata(MODEL_NAME, MODEL_VERSION, FUNCTION_NAME, arguments)

    _remove_previous_example_model(models_dir / FUNCTION_NAME / MODEL_VERSION)
    path = save_model(trained.pipeline, metadata, models_dir)
    return trained, path


def _remove_previous_example_model(version_dir: Path) -> None:
    if not (version_dir / METADATA_FILE).exists():
        return
    existing = read_metadata(version_dir)
    if existing.name != MODEL_NAME:
        raise ModelArtifactError(
            f"{str(version_dir)!r} holds model {existing.name!r}, not the example model {MODEL_NAME!r}. "
            "Move it, or pass another --models-dir."
        )
    logger.info("Replacing the previous example model in %s", version_dir)
    try:
        shutil.rmtree(version_dir)
    except OSError as error:
        raise ModelArtifactError(
            f"Cannot replace the example model in {str(version_dir.resolve())!r}: {error.strerror}. "
            "It may belong to another user, such as root when the compose train job wrote it; "
            "remove that folder with the owner's rights, or pass another --models-dir."
        ) from error


def _check_categories(payments_frame: pd.DataFrame) -> None:
    """Warn when payments carry merchant categories that the feature encoding does not know.

    Such payments are kept, and their category encodes as -1, as it would in Proton, but a
    renamed category (``RESTAURANT`` for ``restaurant``) silently weakens the model.
    """
    categories = payments_frame["merchant_category"]
    unknown = categories[~categories.isin(MERCHANT_CATEGORIES)].value_counts()
    if unknown.empty:
        return
    shown = ", ".join(f"{name!r} ({count})" for name, count in unknown.head(5).items())
    logger.warning(
        "%d of %d payments have a merchant category outside the encoding, so it encodes as -1: %s%s. "
        "Known categories: %s. Rename them in your file, or change MERCHANT_CATEGORIES in "
        "pyproton_ml/examples/fraud/definitions.py.",
        int(unknown.sum()),
        len(categories),
        shown,
        ", ..." if len(unknown) > 5 else "",
        ", ".join(MERCHANT_CATEGORIES),
    )


def _check_labels(labels: pd.DataFrame, event_ids: pd.Series) -> None:
    """Warn about labels that match no payment and payments without a label; reject labels without any fraud."""
    matched = labels["event_id"].isin(event_ids)
    if not matched.all():
        first = labels.loc[~matched, "event_id"].iloc[0]
        logger.warning(
            "%d of %d labels match no payment event_id and are ignored (first: %r). "
            "Check that the labels file uses the payments' event_id values.",
            int((~matched).sum()),
            len(labels),
            first,
        )
    unlabelled = int((~event_ids.isin(labels["event_id"])).sum())
    if unlabelled:
        logger.warning(
            "%d of %d payments (%.1f %%) have no label and count as legitimate (%s=0), as a chargeback "
            "process would record them. Pass labels for them if that is wrong.",
            unlabelled,
            len(event_ids),
            100.0 * unlabelled / len(event_ids),
            LABEL,
        )
    if not (labels.loc[matched, LABEL] == 1).any():
        raise InputDataError(
            f"No label marks a payment as fraud: {int(matched.sum())} of {len(labels)} labels match a payment, "
            f"and none of those has {LABEL}=1. Pass a labels file with {LABEL}=1 rows whose event_id "
            "values appear in the payments file."
        )
