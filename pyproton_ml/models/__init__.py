"""Model artifacts: Proton argument types, metadata, reference statistics, saving, loading and training."""

from __future__ import annotations

from pyproton_ml.models.artifact import LoadedModel, discover_models, load_model, read_metadata, save_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.reference import bin_fractions, compute_reference
from pyproton_ml.models.training import TrainedModel, train_classifier
from pyproton_ml.models.types import Argument, ProtonType, parse_type

__all__ = [
    "Argument",
    "LoadedModel",
    "ModelMetadata",
    "ProtonType",
    "TrainedModel",
    "bin_fractions",
    "compute_reference",
    "discover_models",
    "load_model",
    "parse_type",
    "read_metadata",
    "save_model",
    "train_classifier",
]
