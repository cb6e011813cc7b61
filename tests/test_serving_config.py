from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
from gunicorn.workers.gthread import ThreadWorker

from pyproton_ml.errors import ConfigurationError
from pyproton_ml.serving.config import DEFAULT_MAX_BODY_BYTES, build_config
from pyproton_ml.serving.server import gunicorn_options


def test_config_from_environment(tmp_path: Path) -> None:
    env = {
        "PYPROTON_ML_MODELS_DIR": str(tmp_path),
        "PYPROTON_ML_HOST": "0.0.0.0",
        "PYPROTON_ML_PORT": "9000",
        "PYPROTON_ML_AUTH_KEY": "k1",
        "PYPROTON_ML_AUTH_HEADER": "X-Key",
        "PYPROTON_ML_THREADS": "8",
    }
    config = build_config(environ=env)
    assert config.models_dir == tmp_path
    assert (config.host, config.port, config.threads) == ("0.0.0.0", 9000, 8)
    assert (config.auth_enabled, config.auth_header, config.auth_key) == (True, "X-Key", "k1")


def test_config_arguments_override_environment(tmp_path: Path) -> None:
    env = {"PYPROTON_ML_MODELS_DIR": "/elsewhere", "PYPROTON_ML_PORT": "9000", "PYPROTON_ML_AUTH_KEY": "k"}
    config = build_config(models_dir=tmp_path, port=8123, environ=env)
    assert config.models_dir == tmp_path
    assert config.port == 8123


def test_config_key_hidden_from_repr(tmp_path: Path) -> None:
    config = build_config(tmp_path, environ={"PYPROTON_ML_AUTH_KEY": "very-secret"})
    assert "very-secret" not in repr(config)


@pytest.mark.parametrize(("content", "expected"), [("abc\n", "abc"), ("abc\r\n", "abc"), ("abc", "abc"), ("abc\n\n", None)])
def test_config_key_file(tmp_path: Path, content: str, expected: str | None) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(content.encode())
    if expected is None:
        with pytest.raises(ConfigurationError, match="line break"):
            build_config(tmp_path, auth_key_file=key_file, environ={})
    else:
        assert build_config(tmp_path, auth_key_file=key_file, environ={}).auth_key == expected


@pytest.mark.parametrize(
    ("arguments", "env", "message"),
    [
        ({}, {"PYPROTON_ML_AUTH_KEY": "k"}, "No models directory set"),
        ({"models_dir": "m"}, {}, "no key is set.*--no-auth"),
        ({"models_dir": "m"}, {"PYPROTON_ML_AUTH_KEY": ""}, "is empty"),
        ({"models_dir": "m"}, {"PYPROTON_ML_AUTH_KEY": "  "}, "is empty"),
        ({"models_dir": "m", "auth_key_file": "/nonexistent/key"}, {}, "Cannot read the auth key file"),
        ({"models_dir": "m", "auth_key_file": "k"}, {"PYPROTON_ML_AUTH_KEY": "k"}, "keep only one"),
        ({"models_dir": "m"}, {"PYPROTON_ML_AUTH_KEY": "k", "PYPROTON_ML_PORT": "http"}, "PYPROTON_ML_PORT='http'"),
        ({"models_dir": "m", "port": 70000}, {"PYPROTON_ML_AUTH_KEY": "k"}, "Invalid port 70000"),
        ({"models_dir": "m", "auth_header": "X Key"}, {"PYPROTON_ML_AUTH_KEY": "k"}, "Invalid auth header name"),
        ({"models_dir": "m"}, {"PYPROTON_ML_NO_AUTH": "maybe"}, "PYPROTON_ML_NO_AUTH='maybe'"),
    ],
)
def test_config_invalid(arguments: dict[str, object], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_config(**arguments, environ=env)  # type: ignore[arg-type]


@pytest.mark.parametrize(("arguments", "env"), [({"no_auth": True}, {}), ({}, {"PYPROTON_ML_NO_AUTH": "1"})])
def test_config_explicit_no_auth(arguments: dict[str, object], env: dict[str, str]) -> None:
    config = build_config("m", environ={"PYPROTON_ML_AUTH_KEY": "ignored", **env}, **arguments)  # type: ignore[arg-type]
    assert config.auth_enabled is False
    assert config.auth_key is None


def test_default_body_limit_fits_full_block() -> None:
    # A full Proton block (max_block_size 65409) of 10 float64 arguments with 17 significant digits
    # and 10 quoted int64 arguments of maximum width must fit under the default limit.
    rows = 65409
    rng = np.random.default_rng(0)
    floats = {f"f{index}": rng.normal(size=rows) * 1e6 for index in range(10)}
    quoted = {f"i{index}": [str(-(2**63))] * rows for index in range(10)}
    assert len(orjson.dumps(floats, option=orjson.OPT_SERIALIZE_NUMPY)) < DEFAULT_MAX_BODY_BYTES
    assert len(orjson.dumps(quoted)) < DEFAULT_MAX_BODY_BYTES


def test_gunicorn_options_keep_alive() -> None:
    config = build_config("m", port=8001, keepalive=90, environ={"PYPROTON_ML_AUTH_KEY": "k", "PYPROTON_ML_READ_TIMEOUT": "7"})
    options = gunicorn_options(config)
    assert issubclass(options["worker_class"], ThreadWorker)
    assert options["worker_class"].read_timeout == 7
    assert options["keepalive"] == 90
    assert options["bind"] == "127.0.0.1:8001"
    assert options["preload_app"] is True
