"""Keys and passwords never reach errors or logs, even when Proton quotes the statement back."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

from pyproton_ml.errors import ProtonError
from pyproton_ml.models.artifact import save_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.types import Argument
from pyproton_ml.proton.client import ProtonClient
from pyproton_ml.proton.statements import redact_text, scrub, secret_literals
from pyproton_ml.registration import registration_statement
from pyproton_ml.sql.render import render
from proton_error_server import proton_error_server

KEYS = ["PlainSecret123", "it'sSecret", "back\\slashSecret", "both'\\Secret"]
PASSWORD = "Proton'Pw\\42"


def leaked_forms(secret: str) -> list[str]:
    """The secret as written, and the distinctive part of it that an escaped form would still show."""
    return [secret, secret.replace("'", "").replace("\\", "")[-6:]]


def statement_for(key: str) -> str:
    metadata = ModelMetadata(name="m", version="1", function_name="m_score", arguments=[Argument("x", "float64")])
    # One line, so that the first line of the error, which is all ProtonError keeps, quotes the key.
    return render(registration_statement(metadata, "http://udf:8000", auth_header="X-API-Key", auth_key=key), pretty=False)


@pytest.mark.parametrize("key", KEYS)
def test_secret_literals_cover_escaped_forms(key: str) -> None:
    statement = statement_for(key)
    forms = secret_literals(statement)

    assert key in forms
    quoted = next(form for form in forms if form.startswith("'"))
    assert quoted in statement, "the literal as the statement spells it is among the forms"


@pytest.mark.parametrize("key", KEYS)
def test_redact_text_hides_key_in_driver_query_line(key: str) -> None:
    redacted = redact_text("Query: " + statement_for(key))

    assert "AUTH_KEY '***'" in redacted
    for form in leaked_forms(key):
        assert form not in redacted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Connecting to 127.0.0.1:8463", "Connecting to 127.0.0.1:8463"),
        ("settings sasl_password = 'pw1'", "settings sasl_password = '***'"),
        ("unterminated password 'abc", "<text hidden because it may hold a secret>"),
    ],
)
def test_redact_text_cases(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize("key", KEYS)
def test_quoted_statement_error_hides_key(key: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    with proton_error_server() as (port, received):
        client = ProtonClient(host="127.0.0.1", port=port, password=PASSWORD, connect_timeout_s=2)
        with client, pytest.raises(ProtonError) as raised:
            client.execute(statement_for(key))

    assert received, "the stand-in server must have received the statement"
    assert "AUTH_KEY" in received[0]
    message = str(raised.value)
    assert "code 62" in message
    assert "***" in message
    for form in [*leaked_forms(key), *leaked_forms(PASSWORD)]:
        assert form not in message
        assert form not in caplog.text
    assert any(record.name == "proton_driver.connection" and record.getMessage().startswith("Query:") for record in caplog.records)


LONG_KEY = "a1b2c3d4" * 16


def test_cut_off_key_hidden_in_error() -> None:
    """The server quotes 160 characters from AUTH_METHOD, which ends inside a 128-character key."""
    with proton_error_server(fail_at="AUTH_METHOD") as (port, received):
        client = ProtonClient(host="127.0.0.1", port=port, connect_timeout_s=2)
        with client, pytest.raises(ProtonError) as raised:
            client.execute(statement_for(LONG_KEY))

    message = str(raised.value)
    assert received
    assert "AUTH_KEY '***'" in message
    assert "a1b2c3d4" not in message


@pytest.mark.parametrize(
    ("statement", "secret"),
    [
        ("CREATE USER u IDENTIFIED WITH sha256_password BY 'UserPw4242'", "UserPw4242"),
        ("CREATE USER u IDENTIFIED BY 'UserPw4242'", "UserPw4242"),
        ("CREATE EXTERNAL STREAM s (a int8) SETTINGS type='kafka', kafka_schema_registry_credentials='reg:RegPw22'", "RegPw22"),
        ("CREATE EXTERNAL STREAM s (a int8) SETTINGS type='kafka', sasl_password=98765432", "98765432"),
        ("CREATE EXTERNAL STREAM s (a int8) SETTINGS secret_access_key='AKSECRET9'", "AKSECRET9"),
        ("CREATE DICTIONARY d (a int8) PRIMARY KEY a SOURCE(CLICKHOUSE(USER 'u' PASSWORD 'DictPw7' TABLE 't')) LAYOUT(FLAT()) LIFETIME(0)", "DictPw7"),
        ("SELECT * FROM url('http://user:UrlPw55@host/x', 'CSV')", "UrlPw55"),
        ("Proton's text: CREATE REMOTE FUNCTION f(a float64) RETURNS float64 URL 'http://u' AUTH_KEY 'KeyK1x' for user's", "KeyK1x"),
        ("failed at ('AUTH_METHOD'): AUTH_METHOD 'auth_header' AUTH_KEY 'CutKeyPart... Expected one of", "CutKeyPart"),
    ],
    ids=["user-with", "user-by", "registry-credentials", "unquoted-number", "access-key", "dictionary", "url-userinfo", "prose-apostrophes", "cut-off"],
)
def test_secret_kinds_redacted(statement: str, secret: str) -> None:
    assert secret not in redact_text(statement)
    assert secret not in scrub(statement, [])


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 'hello', 1 SETTINGS max_threads = 4",
        "CREATE STREAM s (a int8) SETTINGS mode = 'append', event_time_column = 'a'",
        "CREATE REMOTE FUNCTION f(a float64) RETURNS float64 URL 'http://udf:8000/udf/f' AUTH_METHOD 'none'",
    ],
)
def test_statements_without_secrets_unchanged(statement: str) -> None:
    assert redact_text(statement) == statement
    assert scrub(statement, []) == statement


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("models")
    estimator = DummyClassifier(strategy="prior").fit(np.zeros((4, 1)), [0, 1, 1, 1])
    save_model(estimator, ModelMetadata(name="m", version="1", function_name="m_score", arguments=[Argument("x", "float64")]), directory)
    return directory


@pytest.mark.parametrize("key", [KEYS[0], KEYS[3]])
def test_register_debug_log_hides_key(key: str, models_dir: Path) -> None:
    """`pyproton-ml -vv register` logs the driver's DEBUG lines, and none of them contains a secret."""
    with proton_error_server() as (port, received):
        environment = {
            **{name: value for name, value in os.environ.items() if not name.startswith("PYPROTON_ML_")},
            "PYPROTON_ML_AUTH_KEY": key,
            "PYPROTON_ML_PROTON_PASSWORD": PASSWORD,
        }
        command = [
            sys.executable, "-m", "pyproton_ml.cli", "-vv", "register", "--models", str(models_dir),
            "--url", "http://udf:8000", "--proton-host", "127.0.0.1", "--proton-port", str(port),
        ]  # fmt: skip
        result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)

    assert received
    assert result.returncode == 1
    assert "DEBUG proton_driver.connection: Query: CREATE OR REPLACE REMOTE FUNCTION m_score" in result.stderr
    assert "AUTH_KEY '***'" in result.stderr
    for form in [*leaked_forms(key), *leaked_forms(PASSWORD)]:
        assert form not in result.stderr
        assert form not in result.stdout
