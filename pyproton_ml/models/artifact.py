"""Saving, verifying and loading model artifacts.

Layout: `<models_dir>/<function_name>/<version>/model.joblib` beside `metadata.json`. The metadata
stores the SHA-256 of model.joblib, and `load_model` checks it before unpickling, because
`joblib.load` runs code from the file.

What the SHA-256 check gives: it detects a model file that was changed or replaced without its
metadata. It does not detect a malicious pair written together, because anyone who can write
model.joblib can also write the matching digest into metadata.json. Keep the models directory
writable only by trusted users.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
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

# ASCII only: str.isdigit() also accepts digits such as '²', which int() then rejects.
_DIGITS = re.compile(r"[0-9]+")

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
# An estimate: metadata.json takes about 500 bytes per feature (5.4 kB for the 9 features of the
# fraud example), so this limit leaves room for tens of thousands of features.
METADATA_MAX_BYTES = 16 * 1024 * 1024

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


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
    data = _read_regular_file(metadata_path, limit=METADATA_MAX_BYTES)
    return ModelMetadata.from_json(data, source=str(metadata_path))


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    """Verify and load the model in one version directory.

    The SHA-256 of model.joblib is compared with the metadata before `joblib.load`, so a model
    file changed or replaced without its metadata is never unpickled. A file written together
    with a matching metadata.json passes the check and its code runs, so the models directory
    must be writable only by trusted users. Raises `ModelArtifactError` for any defect.
    """
    directory = Path(path)
    metadata = read_placed_metadata(directory)
    model_path = directory / MODEL_FILE

    # Hash and unpickle the same bytes, so the file cannot be swapped between the
    # check and the load.
    content = _read_regular_file(model_path)
    actual = hashlib.sha256(content).hexdigest()
    if actual != metadata.sha256:
        raise ModelArtifactError(
            f"SHA-256 mismatch for {str(model_path)!r}: metadata expects {metadata.sha256!r}, the file has {actual!r}. "
            "The file was modified or replaced without its metadata; it was not loaded. Restore it or save the model again."
        )

    _warn_on_version_skew(metadata)
    estimator = _unpickle(content, model_path)
    logger.info("Loaded model %s version %s from %s (sha256 %s)", metadata.function_name, metadata.version, directory, actual[:12])
    return LoadedModel(estimator=estimator, metadata=metadata, path=directory)


def read_placed_metadata(directory: Path) -> ModelMetadata:
    """Read the metadata of `<models_dir>/<function_name>/<version>` and check that it names that function and version.

    `register` and `serve` both read metadata through this, so they agree on which
    directory contains which function.
    """
    metadata = read_metadata(directory)
    if directory.name != metadata.version or directory.parent.name != metadata.function_name:
        raise ModelArtifactError(
            f"Model directory {str(directory)!r} does not match its metadata "
            f"(function {metadata.function_name!r}, version {metadata.version!r}). "
            "Move it to <models_dir>/<function_name>/<version>."
        )
    return metadata


def _unpickle(content: bytes, model_path: Path) -> Any:
    try:
        return joblib.load(io.BytesIO(content))
    except Exception as error:
        # Unpickling can raise any exception, and an EOFError would reach click as Ctrl-D ("Aborted!").
        detail = f"{type(error).__name__}: {str(error)[:200].rstrip('.')}" if str(error) else type(error).__name__
        logger.error("Cannot unpickle %s: %s", model_path, detail, exc_info=logger.isEnabledFor(logging.DEBUG))
        raise ModelArtifactError(
            f"Cannot load {str(model_path)!r} ({detail}). The file is damaged or was written by incompatible "
            "library versions; save the model again with save_model."
        ) from error


def version_sort_key(versions: list[str]) -> Any:
    """Return a sort key for `versions`: numeric when every version is an integer, else string order."""
    if all(_DIGITS.fullmatch(version) for version in versions):
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
    """Return the function directories under `models_dir`, skipping with a warning those without a model.

    Volume roots and source trees contain folders such as `lost+found` or `__pycache__`. A folder
    with a metadata.json at any depth below it is a model, so it must be valid.
    """
    root = Path(models_dir)
    if not root.is_dir():
        raise ModelArtifactError(f"Models directory {str(root)!r} does not exist. Create it or pass another --models path.")
    try:
        children = sorted(child for child in root.iterdir() if child.is_dir())
    except OSError as error:
        raise ModelArtifactError(f"Cannot list models directory {str(root)!r}: {error.strerror}. Check its permissions.") from None

    directories = []
    for function_dir in children:
        reason = _reason_to_skip(function_dir)
        if reason:
            # Hidden folders are expected (.git, or the ..data links of a Kubernetes volume), so they log at INFO.
            level = logging.INFO if function_dir.name.startswith(".") else logging.WARNING
            logger.log(level, "Skipping %s in the models directory: %s", function_dir, reason)
            continue
        try:
            validate_function_name(function_dir.name)
        except InvalidIdentifierError as error:
            raise ModelArtifactError(f"Invalid model directory {str(function_dir)!r}: {error}") from None
        directories.append(function_dir)
    return directories


def _reason_to_skip(directory: Path) -> str | None:
    if directory.name.startswith("."):
        return "it is hidden (its name starts with '.')"
    found, unreadable = _find_metadata(directory)
    if found:
        return None
    if unreadable:
        return f"it contains no readable {METADATA_FILE} (cannot read {unreadable[0]})"
    return f"it contains no {METADATA_FILE}"


def _find_metadata(directory: Path) -> tuple[bool, list[str]]:
    """Search `directory` at any depth for an entry named metadata.json.

    Return whether one exists and the directories that could not be listed. Symbolic links are
    followed, and each directory is visited once, so a link loop ends.
    """
    pending = [directory]
    visited: set[tuple[int, int]] = set()
    unreadable: list[str] = []
    while pending:
        current = pending.pop()
        try:
            status = current.stat()
            if (status.st_dev, status.st_ino) in visited:
                continue
            visited.add((status.st_dev, status.st_ino))
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.name == METADATA_FILE:
                        return True, unreadable
                    if entry.is_dir():
                        pending.append(Path(entry.path))
        except OSError as error:
            unreadable.append(f"{str(current)!r}: {error.strerror}")
    return False, unreadable


def discover_metadata(models_dir: str | os.PathLike[str]) -> dict[str, ModelMetadata]:
    """Read the metadata of the highest version of every function, without unpickling any model.

    Registration needs only the signature, so it never runs a model file's code. The directories
    are checked as `discover_models` checks them, so `register` and `serve` agree on the functions.
    """
    return {
        function_dir.name: read_placed_metadata(latest_version_directory(function_dir))
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


def _read_regular_file(path: Path, limit: int | None = None) -> bytes:
    """Read a whole regular file, rejecting other kinds of file and files over `limit` bytes.

    The kind is checked before opening, so a FIFO is never opened (which would block until a
    writer appears), and again on the open descriptor, in case the file was replaced in between.
    """
    try:
        status = os.stat(path)
        _check_regular(path, status.st_mode, status.st_size, limit)
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        if path.is_symlink():
            raise ModelArtifactError(f"{str(path)!r} is a symbolic link to a missing file. Fix or remove the link.") from None
        raise ModelArtifactError(f"Missing {path.name} in model directory {str(path.parent)!r}. Save models with save_model.") from None
    except OSError as error:
        raise ModelArtifactError(f"Cannot read {str(path)!r}: {error.strerror}. Check its permissions.") from None
    try:
        status = os.fstat(descriptor)
        _check_regular(path, status.st_mode, status.st_size, limit)
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            data = stream.read() if limit is None else stream.read(limit + 1)
    except OSError as error:
        raise ModelArtifactError(f"Cannot read {str(path)!r}: {error.strerror}. Check its permissions.") from None
    finally:
        os.close(descriptor)
    # The file may have grown after fstat.
    _check_regular(path, stat.S_IFREG, len(data), limit)
    return data


def _check_regular(path: Path, mode: int, size: int, limit: int | None) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for is_kind, name in _FILE_KINDS if is_kind(mode)), "not a regular file")
        raise ModelArtifactError(
            f"{str(path)!r} is {kind}, not a regular file. Replace it with the {path.name} that save_model writes."
        )
    if limit is not None and size > limit:
        raise ModelArtifactError(
            f"{str(path)!r} is {size} bytes, more than the limit of {limit} bytes. "
            f"A {path.name} written by save_model is far smaller; save the model again."
        )


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
