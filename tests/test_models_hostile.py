"""Hostile model directories: damaged files, lookalike names, stray folders and odd file kinds."""

from __future__ import annotations

import hashlib
import io
import logging
import os
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import orjson
import pytest
from click.testing import CliRunner, Result
from sklearn.dummy import DummyClassifier

from pyproton_ml.cli import main
from pyproton_ml.errors import InputDataError, InvalidIdentifierError, ModelArtifactError
from pyproton_ml.models import artifact
from pyproton_ml.models.artifact import discover_metadata, discover_models, latest_version_directory, load_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.names import validate_function_name, validate_version
from pyproton_ml.models.types import Argument, parse_type

ARGUMENTS = [{"name": "amount", "type": "float64"}, {"name": "count", "type": "uint64"}]


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    stream = io.BytesIO()
    joblib.dump(DummyClassifier(strategy="prior").fit(np.zeros((4, 2)), [0, 1, 1, 1]), stream)
    return stream.getvalue()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PYPROTON_ML_"):
            monkeypatch.delenv(name)


def document(**override: Any) -> dict[str, Any]:
    return {"name": "fraud", "version": "1", "function_name": "fraud_score", "arguments": ARGUMENTS, **override}


def write_model(root: Path, content: bytes, function: str = "fraud_score", version: str = "1", **override: Any) -> Path:
    """Write a version directory whose metadata.json carries the SHA-256 of `content`."""
    directory = root / function / version
    directory.mkdir(parents=True)
    (directory / "model.joblib").write_bytes(content)
    metadata = document(function_name=function, version=version, sha256=hashlib.sha256(content).hexdigest(), **override)
    (directory / "metadata.json").write_bytes(orjson.dumps(metadata))
    return directory


def run_cli(*arguments: str) -> Result:
    return CliRunner().invoke(main, list(arguments))


# 1. A damaged model file with a matching digest.


@pytest.mark.parametrize(
    ("damage", "cause", "detail"),
    [
        (lambda good: b"", EOFError, r"\(EOFError\)"),
        (lambda good: b"garbage bytes, not a pickle", ValueError, r"\(ValueError: "),
        (lambda good: b"\xff not a pickle", KeyError, r"\(KeyError: 255\)"),
        (lambda good: good[: len(good) // 2], Exception, r"\(\w+"),
    ],
    ids=["empty", "garbage", "bad-opcode", "truncated"],
)
def test_load_damaged_model_file(
    tmp_path: Path, model_bytes: bytes, caplog: pytest.LogCaptureFixture, damage: Any, cause: type[BaseException], detail: str
) -> None:
    directory = write_model(tmp_path, damage(model_bytes))

    with caplog.at_level(logging.ERROR, logger="pyproton_ml.models.artifact"), pytest.raises(ModelArtifactError) as raised:
        load_model(directory)

    assert raised.match(rf"Cannot load '.*model\.joblib' {detail}.*save the model again with save_model")
    assert isinstance(raised.value.__cause__, cause)
    assert any(str(directory / "model.joblib") in record.getMessage() for record in caplog.records)


def test_serve_damaged_model_file_names_it(tmp_path: Path) -> None:
    """click reads an uncaught EOFError as Ctrl-D, so serve used to print only 'Aborted!'."""
    write_model(tmp_path, b"")

    result = run_cli("serve", "--models", str(tmp_path), "--no-auth", "--port", "0")

    assert result.exit_code == 1, result.output
    assert "Aborted!" not in result.output
    assert "Error: Cannot load" in result.stderr
    assert "model.joblib" in result.stderr


# 2. and 3. Names and types: whole-string, ASCII-only matches.


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (validate_function_name, "fraud_score\n"),
        (validate_version, "1\n"),
        (validate_version, "2024-06-01\n"),
    ],
)
def test_name_with_trailing_newline_rejected(check: Any, value: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="Invalid"):
        check(value)


def test_argument_name_with_trailing_newline_rejected() -> None:
    with pytest.raises(InputDataError, match="Invalid argument name"):
        Argument("amount\n", "float64")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"function_name": "fraud_score\n"}, "Invalid UDF function name 'fraud_score\\\\n'"),
        ({"version": "1\n"}, "Invalid model version '1\\\\n'"),
        ({"arguments": [{"name": "amount\n", "type": "float64"}]}, "Invalid argument name 'amount\\\\n'"),
    ],
)
def test_metadata_with_trailing_newline_rejected(override: dict[str, Any], message: str) -> None:
    data = orjson.dumps(document(sha256="ab" * 32, **override))
    with pytest.raises(ModelArtifactError, match=message):
        ModelMetadata.from_json(data, source="metadata.json")


def test_register_directory_with_trailing_newline_rejected(tmp_path: Path, model_bytes: bytes) -> None:
    write_model(tmp_path, model_bytes, function="fraud_score\n")
    with pytest.raises(ModelArtifactError, match="Invalid model directory"):
        discover_metadata(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("decimal(\u0661\u0660, \u0662)", "unexpected character at position 8"),
        ("datetime64(\u0663)", "unexpected character at position 11"),
        ("float64\u00a0", "unexpected character at position 7"),
        ("\u2003float64", "unexpected character at position 0"),
        ("datetime64(3, 'UTC\n) RETURNS x')", "a quoted time zone may contain only ASCII letters"),
        ("datetime64(3, 'UTC\\')", "a quoted time zone may contain only ASCII letters"),
        ("datetime64(3, 'Z\u00fcrich')", "a quoted time zone may contain only ASCII letters"),
        ("decimal(" + "9" * 5000 + ", 2)", "decimal needs 1 <= P <= 76"),
        ("datetime64(" + "9" * 5000 + ")", "precision from 0 to 9"),
    ],
    ids=lambda value: value[:24] if isinstance(value, str) else None,
)
def test_type_non_ascii_or_oversized_rejected(text: str, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        parse_type(text)


def test_latest_version_superscript_digit(tmp_path: Path) -> None:
    # str.isdigit() is true for '\u00b2', and int() then rejected it with a bare ValueError.
    for version in ("1", "\u00b2"):
        (tmp_path / "fraud_score" / version).mkdir(parents=True)
    assert latest_version_directory(tmp_path / "fraud_score").name == "\u00b2"


# 4. register and serve read the same functions from the same directories.


def claim_other_directory(root: Path, model_bytes: bytes) -> None:
    """score_a/1 and score_b/1, whose metadata both name score_a."""
    write_model(root, model_bytes, function="score_a")
    directory = write_model(root, model_bytes, function="score_b")
    (directory / "metadata.json").write_bytes(
        orjson.dumps(document(function_name="score_a", sha256=hashlib.sha256(model_bytes).hexdigest()))
    )


def version_mismatch(root: Path, model_bytes: bytes) -> None:
    directory = write_model(root, model_bytes, version="2")
    (directory / "metadata.json").write_bytes(orjson.dumps(document(sha256=hashlib.sha256(model_bytes).hexdigest())))


@pytest.mark.parametrize("layout", [claim_other_directory, version_mismatch])
def test_register_and_serve_agree_on_directories(tmp_path: Path, model_bytes: bytes, layout: Any) -> None:
    layout(tmp_path, model_bytes)
    messages = []
    for discover in (discover_metadata, discover_models):
        with pytest.raises(ModelArtifactError, match="does not match its metadata") as raised:
            discover(tmp_path)
        messages.append(str(raised.value))
    assert messages[0] == messages[1]


def test_register_two_directories_claiming_one_function(tmp_path: Path, model_bytes: bytes) -> None:
    claim_other_directory(tmp_path, model_bytes)

    result = run_cli("register", "--models", str(tmp_path), "--url", "http://udf:8000", "--print-sql")

    assert result.exit_code == 1, result.output
    assert "CREATE" not in result.stdout
    assert "score_b" in result.stderr
    assert "does not match its metadata" in result.stderr


@pytest.mark.parametrize("return_type", ["date", "int8", "uint64", "bool", "string", "nullable(float64)", "float64; DROP"])
def test_metadata_return_type_must_be_float(return_type: str) -> None:
    data = orjson.dumps(document(sha256="ab" * 32, return_type=return_type))
    with pytest.raises(ModelArtifactError, match=r"'return_type': .*use one of float32, float64"):
        ModelMetadata.from_json(data, source="metadata.json")


@pytest.mark.parametrize("discover", [discover_metadata, discover_models])
def test_register_and_serve_reject_return_type(tmp_path: Path, model_bytes: bytes, discover: Any) -> None:
    write_model(tmp_path, model_bytes, return_type="int8")
    with pytest.raises(ModelArtifactError, match="'return_type': 'int8'"):
        discover(tmp_path)


# 5. Stray folders beside the models.


def make_stray(root: Path, name: str) -> Path:
    stray = root / name
    stray.mkdir()
    return stray


STRAY_FOLDERS = {
    "lost+found": lambda root: make_stray(root, "lost+found"),
    "__pycache__": lambda root: (make_stray(root, "__pycache__") / "x.cpython-311.pyc").write_bytes(b"\0"),
    "docs": lambda root: (make_stray(root, "docs") / "sub").mkdir(),
    "loop": lambda root: (make_stray(root, "loop") / "self").symlink_to(root / "loop"),
    ".hidden": lambda root: write_model(root, b"", function=".hidden"),
    ".git": lambda root: (make_stray(root, ".git") / "HEAD").write_text("ref"),
}


@pytest.mark.parametrize("stray", list(STRAY_FOLDERS))
@pytest.mark.parametrize("discover", [discover_metadata, discover_models])
def test_stray_folder_skipped_and_logged(
    tmp_path: Path, model_bytes: bytes, caplog: pytest.LogCaptureFixture, stray: str, discover: Any
) -> None:
    write_model(tmp_path, model_bytes)
    STRAY_FOLDERS[stray](tmp_path)

    with caplog.at_level(logging.INFO, logger="pyproton_ml.models.artifact"):
        found = discover(tmp_path)

    assert list(found) == ["fraud_score"]
    # Hidden folders are routine (.git, Kubernetes' ..data), so they are skipped at INFO, not WARNING.
    expected_level = logging.INFO if stray.startswith(".") else logging.WARNING
    skipped = [record for record in caplog.records if f"Skipping {tmp_path / stray}" in record.getMessage()]
    assert [record.levelno for record in skipped] == [expected_level]


def test_unreadable_stray_folder_skipped(
    tmp_path: Path, model_bytes: bytes, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ext4 lost+found is root's with mode 0700, so the server's user cannot list it."""
    write_model(tmp_path, model_bytes)
    stray = make_stray(tmp_path, "lost+found")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == stray:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with caplog.at_level(logging.WARNING, logger="pyproton_ml.models.artifact"):
        assert list(discover_models(tmp_path)) == ["fraud_score"]
    assert f"Skipping {stray}" in caplog.text
    assert "Permission denied" in caplog.text


@pytest.mark.parametrize(
    ("misplaced", "message"),
    [
        (Path("x-model/1/metadata.json"), r"Invalid model directory '.*x-model'"),
        (Path("deep/a/b/metadata.json"), r"Missing metadata.json in model directory '.*deep/a'"),
    ],
)
def test_folder_holding_metadata_still_fails(tmp_path: Path, model_bytes: bytes, misplaced: Path, message: str) -> None:
    """The stray lost+found sorts first and is skipped, but the folder with a metadata.json is not."""
    write_model(tmp_path, model_bytes)
    make_stray(tmp_path, "lost+found")
    (tmp_path / misplaced).parent.mkdir(parents=True)
    (tmp_path / misplaced).write_text("{}")
    with pytest.raises(ModelArtifactError, match=message):
        discover_models(tmp_path)


# 6. metadata.json and model.joblib of the wrong kind or size.


def replace_with(kind: str, path: Path) -> None:
    path.unlink()
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dangling":
        path.symlink_to(path.parent / "absent")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("file_name", ["metadata.json", "model.joblib"])
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("directory", "is a directory, not a regular file"),
        ("fifo", r"is a named pipe \(FIFO\), not a regular file"),
        ("dangling", "is a symbolic link to a missing file"),
    ],
)
def test_file_of_wrong_kind(tmp_path: Path, model_bytes: bytes, monkeypatch: pytest.MonkeyPatch, file_name: str, kind: str, message: str) -> None:
    directory = write_model(tmp_path, model_bytes)
    replace_with(kind, directory / file_name)
    opened: list[str] = []
    real_open = os.open

    def recording_open(path: Any, *args: Any, **kwargs: Any) -> int:
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording_open)
    with pytest.raises(ModelArtifactError, match=f"{file_name}' {message}"):
        load_model(directory)
    assert str(directory / file_name) not in opened


def test_metadata_over_limit_rejected(tmp_path: Path, model_bytes: bytes) -> None:
    directory = write_model(tmp_path, model_bytes)
    with (directory / "metadata.json").open("r+b") as stream:
        stream.truncate(artifact.METADATA_MAX_BYTES + 1)

    with pytest.raises(ModelArtifactError, match=rf"is {artifact.METADATA_MAX_BYTES + 1} bytes, more than the limit of 16777216 bytes"):
        discover_metadata(tmp_path)


def test_metadata_at_limit_read(tmp_path: Path, model_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = write_model(tmp_path, model_bytes)
    size = (directory / "metadata.json").stat().st_size
    monkeypatch.setattr(artifact, "METADATA_MAX_BYTES", size)
    assert discover_metadata(tmp_path)["fraud_score"].version == "1"
    monkeypatch.setattr(artifact, "METADATA_MAX_BYTES", size - 1)
    with pytest.raises(ModelArtifactError, match="more than the limit"):
        discover_metadata(tmp_path)
