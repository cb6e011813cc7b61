"""Saving, verifying and loading model artifacts.

Layout: `<models_dir>/<function_name>/<version>/model.joblib` beside `metadata.json`. The metadata
stores the SHA-256 of model.joblib, and `load_model` checks it before unpickling, because
`joblib.load` runs code from the file.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import joblib

from pyproton_ml.errors import InvalidIdentifierError, ModelArtifactError
from pyproton_ml.models.metadata import ModelMetadata, library_versions
from pyproton_ml.models.names import validate_function_name

logger = logging.getLogger(__name__)

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class LoadedModel:
    """A verified, unpickled estimator with its metadata and the directory it came from."""

    estimator: Any
    metadata: ModelMetadata
    path: Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(estimator: Any, metadata: ModelMetadata, models_dir: str | os.PathLike[str]) -> Path:
    """Write the estimator and its metadata (with the computed sha256) and return the version directory.

    Raises `ModelArtifactError` when that version directory already contains a model, because a
    version is immutable once saved.
    """
    target = Path(models_dir) / metadata.function_name / metadata.version
    if (target / MODEL_FILE).exists() or (target / METADATA_FILE).exists():
        raise ModelArtifactError(
            f"Model version {metadata.version!r} of {metadata.function_name!r} already exists in {str(target)!r}. "
            "Save it under a new version."
        )
    target.mkdir(parents=True, exist_ok=True)

    model_path = target / MODEL_FILE
    joblib.dump(estimator, model_path)
    saved = replace(metadata, sha256=file_sha256(model_path))
    # The metadata gets the model file's permissions, which follow the user's umask.
    _write_atomically(target / METADATA_FILE, saved.to_json(), stat.S_IMODE(model_path.stat().st_mode))
    logger.info("Saved model %s version %s to %s (sha256 %s)", saved.function_name, saved.version, target, saved.sha256[:12])
    return target


def read_metadata(path: str | os.PathLike[str]) -> ModelMetadata:
    """Read and validate `metadata.json` in a version directory without touching the model file."""
    directory = Path(path)
    if not directory.is_dir():
        raise ModelArtifactError(f"Model directory {str(directory)!r} does not exist or is not a directory.")
    metadata_path = directory / METADATA_FILE
    if not metadata_path.is_file():
        raise ModelArtifactError(f"Missing {METADATA_FILE} in model directory {str(directory)!r}. Save models with save_model.")
    try:
        data = metadata_path.read_bytes()
    except OSError as error:
        raise ModelArtifactError(f"Cannot read {str(metadata_path)!r}: {error.strerror}. Check its permissions.") from None
    return ModelMetadata.from_json(data, source=str(metadata_path))


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    """Verify and load the model in one version directory.

    The SHA-256 of model.joblib is compared with the metadata before `joblib.load`, so a
    modified file is never unpickled. Raises `ModelArtifactError` for any defect.
    """
    directory = Path(path)
    metadata = read_metadata(directory)
    model_path = directory / MODEL_FILE
    if not model_path.is_file():
        raise ModelArtifactError(f"Missing {MODEL_FILE} in model directory {str(directory)!r}.")

    # Hash and unpickle the same bytes, so the file cannot be swapped between the
    # check and the load.
    try:
        content = model_path.read_bytes()
    except OSError as error:
        raise ModelArtifactError(f"Cannot read {str(model_path)!r}: {error.strerror}.") from None
    actual = hashlib.sha256(content).hexdigest()
    if actual != metadata.sha256:
        raise ModelArtifactError(
            f"SHA-256 mismatch for {str(model_path)!r}: metadata expects {metadata.sha256!r}, the file has {actual!r}. "
            "The file was modified or replaced; it was not loaded. Restore it or save the model again."
        )
    if directory.name != metadata.version or directory.parent.name != metadata.function_name:
        raise ModelArtifactError(
            f"Model directory {str(directory)!r} does not match its metadata "
            f"(function {metadata.function_name!r}, version {metadata.version!r}). "
            "Move it to <models_dir>/<function_name>/<version>."
        )

    _warn_on_version_skew(metadata)
    estimator = joblib.load(io.BytesIO(content))
    logger.info("Loaded model %s version %s from %s (sha256 %s)", metadata.function_name, metadata.version, directory, actual[:12])
    return LoadedModel(estimator=estimator, metadata=metadata, path=directory)


def version_sort_key(versions: list[str]) -> Any:
    """Return a sort key for `versions`: numeric when every version is an integer, else string order."""
    if all(version.isdigit() for version in versions):
        return lambda version: int(version)
    return lambda version: version


def latest_version_directory(function_dir: Path) -> Path:
    """Return the directory of the highest version under one function directory.

    Versions compare as integers when all of them are integers ('10' after '9'), and otherwise
    all compare as strings, so use zero-padded or ISO-date versions when mixing forms.
    """
    versions = [child.name for child in function_dir.iterdir() if child.is_dir() and not child.name.startswith(".")]
    if not versions:
        raise ModelArtifactError(f"No model versions in {str(function_dir)!r}. Save a model with save_model.")
    return function_dir / max(versions, key=version_sort_key(versions))


def _function_directories(models_dir: str | os.PathLike[str]) -> list[Path]:
    root = Path(models_dir)
    if not root.is_dir():
        raise ModelArtifactError(f"Models directory {str(root)!r} does not exist. Create it or pass another --models path.")

    directories = sorted(child for child in root.iterdir() if child.is_dir() and not child.name.startswith("."))
    for function_dir in directories:
        try:
            validate_function_name(function_dir.name)
        except InvalidIdentifierError as error:
            raise ModelArtifactError(f"Invalid model directory {str(function_dir)!r}: {error}") from None
    return directories


def discover_metadata(models_dir: str | os.PathLike[str]) -> dict[str, ModelMetadata]:
    """Read the metadata of the highest version of every function, without unpickling any model.

    Registration needs only the signature, so it never runs a model file's code.
    """
    return {
        function_dir.name: read_metadata(latest_version_directory(function_dir))
        for function_dir in _function_directories(models_dir)
    }


def discover_models(models_dir: str | os.PathLike[str]) -> dict[str, LoadedModel]:
    """Load the highest version of every function under `models_dir`, keyed by function name.

    Any defect (missing directory, bad metadata, invalid function name, checksum mismatch) raises
    `ModelArtifactError`, so a server never starts with half of its models.
    """
    models: dict[str, LoadedModel] = {}
    for function_dir in _function_directories(models_dir):
        models[function_dir.name] = load_model(latest_version_directory(function_dir))
    logger.info("Discovered %d model(s) in %s: %s", len(models), models_dir, ", ".join(models) or "none")
    return models


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".metadata-")
    # mkstemp creates the file as 0600, but the UDF server may run as another user (uid 10001
    # in udfs/Dockerfile). The caller passes the mode of the model file beside it.
    os.fchmod(handle, mode)
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.replace(temporary, path)


def _warn_on_version_skew(metadata: ModelMetadata) -> None:
    saved = metadata.library_versions.get("sklearn")
    current = library_versions()["sklearn"]
    if saved and saved != current:
        logger.warning(
            "Model %s version %s was saved with scikit-learn %s but %s is installed; predictions may differ",
            metadata.function_name,
            metadata.version,
            saved,
            current,
        )
