from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import numpy as np
import orjson
import pytest
from sklearn.dummy import DummyClassifier

from pyproton_ml.errors import ModelArtifactError
from pyproton_ml.models.artifact import discover_models, load_model, save_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.types import Argument


class SideEffect:
    """An object whose unpickling creates a marker file, to prove that a file was or was not loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.touch, (self.marker,))


def make_metadata(function_name: str = "fraud_score", version: str = "1") -> ModelMetadata:
    return ModelMetadata(
        name="fraud",
        version=version,
        function_name=function_name,
        arguments=[Argument("amount", "float64"), Argument("count", "uint64")],
    )


def make_estimator() -> DummyClassifier:
    return DummyClassifier(strategy="prior").fit(np.zeros((4, 2)), [0, 1, 1, 1])


def test_save_load_round_trip(tmp_path: Path) -> None:
    directory = save_model(make_estimator(), make_metadata(), tmp_path)
    assert directory == tmp_path / "fraud_score" / "1"
    loaded = load_model(directory)
    assert len(loaded.metadata.sha256) == 64
    assert loaded.metadata.function_name == "fraud_score"
    assert loaded.estimator.predict_proba(np.zeros((1, 2)))[0, 1] == pytest.approx(0.75)


@pytest.mark.parametrize(("umask", "expected_mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_saved_files_follow_umask(tmp_path: Path, umask: int, expected_mode: int) -> None:
    """Both files get the umask's mode, so a server running as another user can read them."""
    previous = os.umask(umask)
    try:
        directory = save_model(make_estimator(), make_metadata(), tmp_path)
    finally:
        os.umask(previous)

    assert stat.S_IMODE((directory / "model.joblib").stat().st_mode) == expected_mode
    assert stat.S_IMODE((directory / "metadata.json").stat().st_mode) == expected_mode


def test_save_existing_version_rejected(tmp_path: Path) -> None:
    save_model(make_estimator(), make_metadata(), tmp_path)
    with pytest.raises(ModelArtifactError, match="already exists"):
        save_model(make_estimator(), make_metadata(), tmp_path)


def test_load_tampered_rejected(tmp_path: Path) -> None:
    directory = save_model(make_estimator(), make_metadata(), tmp_path)
    model_file = directory / "model.joblib"
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_file.write_bytes(bytes(data))
    expected = load_metadata(directory).sha256
    with pytest.raises(ModelArtifactError, match=f"SHA-256 mismatch for .*model.joblib.*{expected}"):
        load_model(directory)


def test_load_tampered_never_unpickled(tmp_path: Path) -> None:
    directory = save_model(make_estimator(), make_metadata(), tmp_path)
    marker = tmp_path / "unpickled"
    (directory / "model.joblib").write_bytes(pickle.dumps(SideEffect(marker)))
    with pytest.raises(ModelArtifactError, match="SHA-256 mismatch"):
        load_model(directory)
    assert not marker.exists()


def test_load_side_effect_control(tmp_path: Path) -> None:
    # Control for the test above: with a matching digest the same file is unpickled and runs code.
    marker = tmp_path / "unpickled"
    directory = save_model(SideEffect(marker), make_metadata(), tmp_path)
    assert not marker.exists()
    load_model(directory)
    assert marker.exists()


def load_metadata(directory: Path) -> ModelMetadata:
    return ModelMetadata.from_json((directory / "metadata.json").read_bytes())


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "metadata.json").unlink(), "Missing metadata.json"),
        (lambda d: (d / "model.joblib").unlink(), "Missing model.joblib"),
        (lambda d: (d / "metadata.json").write_text("{oops"), "Invalid JSON in .*metadata.json"),
        (lambda d: (d / "metadata.json").write_text('{"name": "x"}'), "missing keys"),
    ],
)
def test_load_damaged(tmp_path: Path, damage: object, message: str) -> None:
    directory = save_model(make_estimator(), make_metadata(), tmp_path)
    damage(directory)  # type: ignore[operator]
    with pytest.raises(ModelArtifactError, match=message):
        load_model(directory)


def test_load_moved_directory(tmp_path: Path) -> None:
    directory = save_model(make_estimator(), make_metadata(), tmp_path)
    moved = tmp_path / "other_score" / "1"
    moved.parent.mkdir()
    directory.rename(moved)
    with pytest.raises(ModelArtifactError, match="does not match its metadata"):
        load_model(moved)


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        (["1", "2", "10"], "10"),
        (["9", "10"], "10"),
        (["2024-01-01", "2024-06-01"], "2024-06-01"),
        (["1", "b"], "b"),
    ],
)
def test_discover_highest_version(tmp_path: Path, versions: list[str], expected: str) -> None:
    for version in versions:
        save_model(make_estimator(), make_metadata(version=version), tmp_path)
    models = discover_models(tmp_path)
    assert list(models) == ["fraud_score"]
    assert models["fraud_score"].metadata.version == expected


def test_discover_several_functions(tmp_path: Path) -> None:
    save_model(make_estimator(), make_metadata("fraud_score"), tmp_path)
    save_model(make_estimator(), make_metadata("churn_score"), tmp_path)
    assert sorted(discover_models(tmp_path)) == ["churn_score", "fraud_score"]


def test_discover_empty_directory(tmp_path: Path) -> None:
    assert discover_models(tmp_path) == {}


def test_discover_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="does not exist"):
        discover_models(tmp_path / "absent")


def test_discover_invalid_function_name(tmp_path: Path) -> None:
    # A folder that contains a metadata.json is a model, so its name must be valid.
    save_model(make_estimator(), make_metadata(), tmp_path)
    (tmp_path / "fraud_score").rename(tmp_path / "bad-name")
    with pytest.raises(ModelArtifactError, match="Invalid model directory .*bad-name"):
        discover_models(tmp_path)


def test_discover_function_without_versions(tmp_path: Path) -> None:
    # metadata.json one level too high: the folder contains a model but no version folder.
    (tmp_path / "fraud_score").mkdir()
    (tmp_path / "fraud_score" / "metadata.json").write_text("{}")
    with pytest.raises(ModelArtifactError, match="No model versions"):
        discover_models(tmp_path)


def test_saved_metadata_is_json(tmp_path: Path) -> None:
    directory = save_model(make_estimator(), make_metadata(), tmp_path)
    document = orjson.loads((directory / "metadata.json").read_bytes())
    assert document["arguments"] == [{"name": "amount", "type": "float64"}, {"name": "count", "type": "uint64"}]
