"""Registering saved models: the statements sent, and what is checked before sending."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlglot

from pyproton_ml.errors import InvalidIdentifierError
from pyproton_ml.errors import ModelArtifactError
from pyproton_ml.errors import ProtonError
from pyproton_ml.models.artifact import save_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.types import Argument
from pyproton_ml.proton.client import ProtonClient
from pyproton_ml.registration import register_models
from pyproton_ml.sql.nodes import CreateRemoteFunction


class RecordingProton:
    """Stands in for a Proton server: records each statement instead of running it."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, statement: str) -> list[tuple[object, ...]]:
        self.statements.append(statement)
        return []


class Constant:
    """A picklable stand-in estimator; registration never unpickles it."""


def _save(directory: Path, function_name: str, arguments: list[Argument]) -> None:
    metadata = ModelMetadata(name="m", version="3", function_name=function_name, arguments=arguments)
    save_model(Constant(), metadata, directory)


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    _save(tmp_path, "fraud_score", [Argument("amount", "float64"), Argument("count", "uint64")])
    _save(tmp_path, "churn_score", [Argument("age_days", "int32")])
    return tmp_path


def test_register_sends_one_statement_per_model(models_dir: Path) -> None:
    proton = RecordingProton()

    registered = register_models(proton, models_dir, "http://udf:8000/", auth_header="X-API-Key", auth_key="k'1")  # type: ignore[arg-type]

    assert [metadata.function_name for metadata in registered] == ["churn_score", "fraud_score"]
    parsed = [sqlglot.parse_one(statement, read="proton") for statement in proton.statements]
    assert all(isinstance(statement, CreateRemoteFunction) for statement in parsed)
    fraud = parsed[1]
    assert fraud.args["url"].name == "http://udf:8000/udf/fraud_score"
    assert fraud.args["auth_key"].name == "k'1"
    assert [column.name for column in fraud.expressions] == ["amount", "count"]
    assert fraud.args["returns"].sql("proton") == "float64"
    assert "CREATE OR REPLACE REMOTE FUNCTION fraud_score(amount float64, count uint64)" in proton.statements[1]


def test_register_selected_function(models_dir: Path) -> None:
    proton = RecordingProton()

    register_models(proton, models_dir, "http://udf:8000", auth_header=None, auth_key=None, function_names=["churn_score"])  # type: ignore[arg-type]

    assert len(proton.statements) == 1
    assert "AUTH_METHOD 'none'" in proton.statements[0]


@pytest.mark.parametrize(
    ("base_url", "names", "error", "message"),
    [
        ("http://udf:8000", ["nope"], ModelArtifactError, "No model named \\['nope'\\]"),
        ("ftp://udf", None, InvalidIdentifierError, "Invalid UDF URL"),
        ("http://udf:8000/a b", None, InvalidIdentifierError, "white space"),
        ("http://[::1", None, InvalidIdentifierError, r"Invalid UDF URL 'http://\[::1/udf/.*Invalid IPv6 URL"),
        ("http://udf:99999", None, InvalidIdentifierError, r"Invalid UDF URL 'http://udf:99999/udf/.*out of range"),
        ("http://udf:port", None, InvalidIdentifierError, r"Invalid UDF URL 'http://udf:port/udf/"),
        ("http://udf:8000/x?y=1", None, InvalidIdentifierError, r"\?query or #fragment would swallow"),
        ("http://udf:8000/#f", None, InvalidIdentifierError, r"\?query or #fragment would swallow"),
        ("http://user:UrlPw9@udf:8000", None, InvalidIdentifierError, r"^Invalid UDF URL 'udf:8000/udf/\w+' with user information"),
        ("http://[::1]x:8000", None, InvalidIdentifierError, r"expected a host name"),
        ("http://udf:0", None, InvalidIdentifierError, r"port from 1 to 65535"),
    ],
)
def test_register_checks_before_sending(models_dir: Path, base_url: str, names: list[str] | None, error: type[Exception], message: str) -> None:
    proton = RecordingProton()

    with pytest.raises(error, match=message):
        register_models(proton, models_dir, base_url, auth_header="X-API-Key", auth_key="k", function_names=names)  # type: ignore[arg-type]

    assert proton.statements == []


def test_register_unreachable_proton(models_dir: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with ProtonClient(host="127.0.0.1", port=port, connect_timeout_s=2) as client, pytest.raises(ProtonError, match="unreachable") as raised:
        register_models(client, models_dir, "http://udf:8000", auth_header="X-API-Key", auth_key="secret-key")

    assert "secret-key" not in str(raised.value)
