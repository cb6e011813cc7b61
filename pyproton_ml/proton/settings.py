"""Connection settings for a Proton server, from arguments or ``PYPROTON_ML_PROTON_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pyproton_ml.errors import ProtonError

ENV_PREFIX = "PYPROTON_ML_PROTON_"

# Proton 3.0 `programs/server/config.yaml` sets the native TCP port to 8463 (`node.tcp.port`),
# where queries are streaming by default. Port 7587 (`node.table_tcp.port`) runs historical queries.
DEFAULT_PORT = 8463
DEFAULT_HOST = "localhost"
# The Proton image ships the user `default` with an empty password.
DEFAULT_USER = "default"
DEFAULT_CONNECT_TIMEOUT_S = 5.0
DEFAULT_SEND_RECEIVE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ProtonSettings:
    """Address, credentials and timeouts of one Proton server on its native TCP protocol."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    user: str = DEFAULT_USER
    # Excluded from repr so that logging or printing the settings never shows it.
    password: str = field(default="", repr=False)
    database: str = "default"
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    send_receive_timeout_s: float = DEFAULT_SEND_RECEIVE_TIMEOUT_S

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        **overrides: object,
    ) -> ProtonSettings:
        """Build settings from ``PYPROTON_ML_PROTON_*`` variables, then apply non-None overrides.

        Variables: ``HOST``, ``PORT``, ``USER``, ``PASSWORD``, ``DATABASE``,
        ``CONNECT_TIMEOUT`` and ``SEND_RECEIVE_TIMEOUT`` (both in seconds).
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}

        text_fields = {"HOST": "host", "USER": "user", "PASSWORD": "password", "DATABASE": "database"}
        for suffix, name in text_fields.items():
            if ENV_PREFIX + suffix in env:
                values[name] = env[ENV_PREFIX + suffix]

        if ENV_PREFIX + "PORT" in env:
            values["port"] = _parse_port(env[ENV_PREFIX + "PORT"], ENV_PREFIX + "PORT")
        for suffix, name in (("CONNECT_TIMEOUT", "connect_timeout_s"), ("SEND_RECEIVE_TIMEOUT", "send_receive_timeout_s")):
            if ENV_PREFIX + suffix in env:
                values[name] = _parse_seconds(env[ENV_PREFIX + suffix], ENV_PREFIX + suffix)

        for name, value in overrides.items():
            if name not in cls.__dataclass_fields__:
                raise TypeError(f"ProtonSettings has no field {name!r}; expected one of {sorted(cls.__dataclass_fields__)}.")
            if value is not None:
                values[name] = value

        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ProtonError when a field cannot describe a reachable server."""
        if not self.host:
            raise ProtonError(f"Invalid Proton host {self.host!r}: expected a host name or address. Set {ENV_PREFIX}HOST or pass host=.")
        if not 0 < self.port < 65536:
            raise ProtonError(f"Invalid Proton port {self.port!r}: expected 1-65535. Set {ENV_PREFIX}PORT or pass port=.")
        if self.connect_timeout_s <= 0 or self.send_receive_timeout_s <= 0:
            raise ProtonError(
                "Invalid Proton timeouts "
                f"(connect {self.connect_timeout_s!r} s, send/receive {self.send_receive_timeout_s!r} s): "
                "expected positive numbers of seconds."
            )


def _parse_port(text: str, variable: str) -> int:
    try:
        port = int(text.strip())
    except ValueError:
        raise ProtonError(f"Invalid {variable} {text[:40]!r}: expected an integer port 1-65535.") from None
    if not 0 < port < 65536:
        raise ProtonError(f"Invalid {variable} {text[:40]!r}: expected an integer port 1-65535.")
    return port


# Socket timeouts beyond this are mistakes, and inf or 1e300 overflow the platform's time_t.
_MAX_SECONDS = 86_400.0


def _parse_seconds(text: str, variable: str) -> float:
    try:
        seconds = float(text.strip())
    except ValueError:
        raise ProtonError(f"Invalid {variable} {text[:40]!r}: expected a positive number of seconds.") from None
    if not 0 < seconds <= _MAX_SECONDS:
        raise ProtonError(
            f"Invalid {variable} {text[:40]!r}: expected a positive number of seconds, at most {_MAX_SECONDS:.0f} (one day)."
        )
    return seconds
