"""Model metadata: the UDF signature, provenance, metrics and reference statistics stored beside a model."""

from __future__ import annotations

import datetime as dt
import math
import platform
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
import sklearn

from pyproton_ml.errors import InvalidIdentifierError, ModelArtifactError
from pyproton_ml.models.names import validate_function_name, validate_version
from pyproton_ml.models.types import FLOATS, Argument

FORMAT_VERSION = 1
REQUIRED_KEYS = ("name", "version", "function_name", "arguments", "sha256")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# serving/handler.py score_frame returns float64 scores and checks them only for float return types.
RETURN_TYPES = FLOATS

# The JSON type of every field after `arguments` is parsed; bool is excluded from the numbers
# because JSON true/false would otherwise pass as 1/0.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "return_type": (str,),
    "sha256": (str,),
    "metrics": (dict,),
    "threshold": (int, float),
    "reference": (dict,),
    "score_reference": (dict,),
    "created_at": (str,),
    "library_versions": (dict,),
    "training_rows": (int,),
    "label": (str,),
}


_JSON_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", dict: "an object"}


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries that pickled the model (checked again at load time)."""
    return {"sklearn": sklearn.__version__, "python": platform.python_version()}


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class ModelMetadata:
    """Everything about a saved model except the estimator itself.

    `arguments` lists the UDF arguments in call order; their names are also the feature names that
    the estimator was fitted on. `reference` contains `compute_reference` output for the numeric
    features and `score_reference` the same statistics for the model's scores.
    """

    name: str
    version: str
    function_name: str
    arguments: list[Argument]
    return_type: str = "float64"
    sha256: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    threshold: float = 0.5
    reference: dict[str, Any] = field(default_factory=dict)
    score_reference: dict[str, Any] = field(default_factory=dict)
    created_at: str = field(default_factory=utc_now)
    library_versions: dict[str, str] = field(default_factory=library_versions)
    training_rows: int = 0
    label: str = ""

    def __post_init__(self) -> None:
        for name, types in _FIELD_TYPES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, types):
                expected = " or ".join(_JSON_TYPE_NAMES[kind] for kind in types)
                raise ModelArtifactError(f"Invalid metadata field {name!r}: expected {expected}, got {value!r:.80}.")
        if self.sha256 and not _SHA256.fullmatch(self.sha256):
            raise ModelArtifactError(
                f"Invalid metadata field 'sha256': {self.sha256!r:.80} is not 64 lowercase hex digits. "
                "Save the model again with save_model."
            )
        validate_function_name(self.function_name)
        validate_version(self.version)
        if self.return_type not in RETURN_TYPES:
            raise ModelArtifactError(
                f"Invalid metadata field 'return_type': {self.return_type!r:.80}. The UDF server returns "
                f"predict_proba(...)[:, 1] or predict() as floats; use one of {', '.join(RETURN_TYPES)}."
            )
        if not self.arguments:
            raise ModelArtifactError(f"Model {self.name!r:.80} declares no arguments; a remote UDF needs at least one.")
        names = [argument.name for argument in self.arguments]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ModelArtifactError(f"Model {self.name!r:.80} declares arguments {duplicates!r} more than once.")

    @property
    def argument_names(self) -> list[str]:
        return [argument.name for argument in self.arguments]

    def to_json(self) -> bytes:
        """Serialize to indented JSON; non-finite metric values are written as null."""
        document = {"format_version": FORMAT_VERSION, **asdict(self)}
        return orjson.dumps(_finite_or_none(document), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, data: bytes | str, source: str = "metadata") -> ModelMetadata:
        """Parse metadata JSON, raising `ModelArtifactError` that names `source` for any defect."""
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise ModelArtifactError(f"Invalid JSON in {source}: {error}. Rewrite the file with save_model.") from None
        if not isinstance(document, dict):
            raise ModelArtifactError(f"Invalid metadata in {source}: expected a JSON object, got {type(document).__name__}.")

        missing = [key for key in REQUIRED_KEYS if key not in document]
        if missing:
            raise ModelArtifactError(f"Invalid metadata in {source}: missing keys {missing!r}. Rewrite the file with save_model.")

        document.pop("format_version", None)
        known = {name for name in cls.__dataclass_fields__}
        unknown = sorted(set(document) - known)
        if unknown:
            raise ModelArtifactError(
                f"Invalid metadata in {source}: unknown keys {unknown!r:.200}. "
                "It may come from a newer pyproton-ml; upgrade or rewrite it with save_model."
            )
        arguments = document["arguments"]
        if not isinstance(arguments, list) or not all(
            isinstance(argument, dict) and set(argument) == {"name", "type"} for argument in arguments
        ):
            raise ModelArtifactError(
                f"Invalid metadata in {source}: 'arguments' must be a list of {{\"name\": ..., \"type\": ...}} objects, "
                f"got {arguments!r:.80}. Rewrite the file with save_model."
            )
        if not document["sha256"]:
            raise ModelArtifactError(f"Invalid metadata in {source}: 'sha256' is empty. Save the model again with save_model.")
        try:
            document["arguments"] = [Argument(**argument) for argument in arguments]
            if document.get("threshold") is None:
                document["threshold"] = 0.5
            return cls(**document)
        except InvalidIdentifierError as error:
            raise ModelArtifactError(f"Invalid metadata in {source}: {error}") from error
        except (TypeError, ValueError) as error:
            raise ModelArtifactError(f"Invalid metadata in {source}: {error}") from error


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(item) for item in value]
    return value
