"""ProtonSettings from arguments and PYPROTON_ML_PROTON_* variables."""

from __future__ import annotations

import pytest

from pyproton_ml.errors import ProtonError
from pyproton_ml.proton import ProtonSettings


def test_settings_defaults() -> None:
    settings = ProtonSettings.from_env({})

    assert (settings.host, settings.port, settings.user, settings.password) == ("localhost", 8463, "default", "")


def test_settings_from_env() -> None:
    environ = {
        "PYPROTON_ML_PROTON_HOST": "proton",
        "PYPROTON_ML_PROTON_PORT": " 9463 ",
        "PYPROTON_ML_PROTON_USER": "ml",
        "PYPROTON_ML_PROTON_PASSWORD": "pw",
        "PYPROTON_ML_PROTON_DATABASE": "fraud",
        "PYPROTON_ML_PROTON_CONNECT_TIMEOUT": "2.5",
        "PYPROTON_ML_PROTON_SEND_RECEIVE_TIMEOUT": "30",
    }

    settings = ProtonSettings.from_env(environ)

    assert settings == ProtonSettings("proton", 9463, "ml", "pw", "fraud", 2.5, 30.0)


def test_settings_overrides_beat_env() -> None:
    settings = ProtonSettings.from_env({"PYPROTON_ML_PROTON_HOST": "proton"}, host="127.0.0.1", port=None)

    assert settings.host == "127.0.0.1"
    assert settings.port == 8463


def test_settings_repr_hides_password() -> None:
    assert "secret-pw" not in repr(ProtonSettings(password="secret-pw"))


@pytest.mark.parametrize(
    ("environ", "match"),
    [
        ({"PYPROTON_ML_PROTON_PORT": "http"}, r"Invalid PYPROTON_ML_PROTON_PORT 'http'"),
        ({"PYPROTON_ML_PROTON_PORT": "70000"}, r"expected an integer port 1-65535"),
        ({"PYPROTON_ML_PROTON_PORT": "0"}, r"expected an integer port 1-65535"),
        ({"PYPROTON_ML_PROTON_CONNECT_TIMEOUT": "soon"}, r"positive number of seconds"),
        ({"PYPROTON_ML_PROTON_SEND_RECEIVE_TIMEOUT": "-1"}, r"positive number of seconds"),
        ({"PYPROTON_ML_PROTON_CONNECT_TIMEOUT": "inf"}, r"Invalid PYPROTON_ML_PROTON_CONNECT_TIMEOUT 'inf'.*at most 86400"),
        ({"PYPROTON_ML_PROTON_CONNECT_TIMEOUT": "1e300"}, r"at most 86400"),
        ({"PYPROTON_ML_PROTON_SEND_RECEIVE_TIMEOUT": "nan"}, r"positive number of seconds"),
        ({"PYPROTON_ML_PROTON_HOST": ""}, r"Invalid Proton host ''"),
    ],
)
def test_settings_invalid_env_raises(environ: dict[str, str], match: str) -> None:
    with pytest.raises(ProtonError, match=match):
        ProtonSettings.from_env(environ)


def test_settings_unknown_override_raises() -> None:
    with pytest.raises(TypeError, match="no field 'hostname'"):
        ProtonSettings.from_env({}, hostname="x")
