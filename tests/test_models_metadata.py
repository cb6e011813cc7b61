from __future__ import annotations

import orjson
import pytest

from pyproton_ml.errors import InvalidIdentifierError, ModelArtifactError
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.names import validate_function_name, validate_version
from pyproton_ml.models.types import Argument


def make_metadata(**overrides: object) -> ModelMetadata:
    fields: dict[str, object] = {
        "name": "fraud",
        "version": "1",
        "function_name": "fraud_score",
        "arguments": [Argument("amount", "float64"), Argument("count", "uint64")],
        "metrics": {"f1": 0.5, "roc_auc": float("nan")},
        "threshold": 0.3,
        "reference": {"amount": {"edges": [1.0], "fractions": [0.5, 0.5], "count": 2, "missing": 0}},
        "training_rows": 100,
        "label": "is_fraud",
        "sha256": "ab" * 32,
    }
    fields.update(overrides)
    return ModelMetadata(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("return_type", ["float64", "float32"])
def test_metadata_round_trip(return_type: str) -> None:
    metadata = make_metadata(metrics={"f1": 0.5}, return_type=return_type)
    assert ModelMetadata.from_json(metadata.to_json()) == metadata


def test_metadata_nan_written_as_null() -> None:
    document = orjson.loads(make_metadata().to_json())
    assert document["metrics"]["roc_auc"] is None
    assert document["format_version"] == 1


def test_metadata_defaults() -> None:
    metadata = make_metadata()
    assert metadata.return_type == "float64"
    assert metadata.created_at.endswith("+00:00")
    assert set(metadata.library_versions) == {"sklearn", "python"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "Invalid JSON in metadata"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"name": "x"}', r"missing keys \['version', 'function_name', 'arguments', 'sha256'\]"),
    ],
)
def test_metadata_from_json_invalid(data: bytes, message: str) -> None:
    with pytest.raises(ModelArtifactError, match=message):
        ModelMetadata.from_json(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"function_name": "fraud-score"}, "Invalid UDF function name"),
        ({"version": "../1"}, "Invalid model version"),
        ({"arguments": [{"name": "amount", "type": "double"}]}, "Unknown Proton type 'double'"),
        ({"arguments": [{"name": "amount"}]}, "type"),
        ({"arguments": []}, "declares no arguments"),
        ({"surprise": 1}, r"unknown keys \['surprise'\]"),
    ],
)
def test_metadata_from_json_bad_field(change: dict[str, object], message: str) -> None:
    document = orjson.loads(make_metadata().to_json())
    document.update(change)
    with pytest.raises(ModelArtifactError, match=message):
        ModelMetadata.from_json(orjson.dumps(document))


def test_metadata_duplicate_arguments() -> None:
    with pytest.raises(ModelArtifactError, match=r"arguments \['amount'\] more than once"):
        make_metadata(arguments=[Argument("amount", "float64"), Argument("amount", "int32")])


@pytest.mark.parametrize("name", ["fraud_score", "_private", "Score2", "f"])
def test_function_name_valid(name: str) -> None:
    assert validate_function_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Invalid UDF function name"),
        ("2fast", "Invalid UDF function name"),
        ("fraud-score", "Invalid UDF function name"),
        ("___", "Invalid UDF function name"),
        ("score_if", "suffix '_if'"),
        ("fraud_or_null", "suffix '_or_null'"),
        ("risk_state", "suffix '_state'"),
        ("risk_resample", "suffix '_resample'"),
    ],
)
def test_function_name_invalid(name: str, message: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=message):
        validate_function_name(name)


@pytest.mark.parametrize("version", ["1", "12", "2024-06-01", "v1.2.3"])
def test_version_valid(version: str) -> None:
    assert validate_version(version) == version


@pytest.mark.parametrize("version", ["", ".", "..", "a/b", "-1", "1..2", "x" * 65])
def test_version_invalid(version: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="Invalid model version"):
        validate_version(version)
