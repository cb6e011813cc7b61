"""Settings of the UDF server, from explicit arguments first and `PYPROTON_ML_*` environment variables second."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pyproton_ml.errors import ConfigurationError
from pyproton_ml.serving._text import shown

ENV_PREFIX = "PYPROTON_ML_"
DEFAULT_AUTH_HEADER = "X-API-Key"

# A 65409-row block (Proton's max_block_size) of 10 float64 arguments measured 12.3 MB as
# JSONColumns, and 10 quoted int64 arguments 14.4 MB; 32 MiB leaves room for about 20 such
# columns (measured with orjson on random values, see tests/test_serving_config.py).
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024

# gunicorn's gthread worker closes an idle keep-alive connection after this many seconds. Proton
# pools one connection per host:port and does not retry a failed call, so the server should not
# close the connection first. NOTE: Proton's client-side idle timeout was not checked; 75 s is a
# common reverse-proxy default, not a measured value.
DEFAULT_KEEPALIVE_SECONDS = 75

# How long a gunicorn thread waits for each read or write while it serves a request. An idle
# kept-alive connection waits in gunicorn's poller instead, where only the keepalive setting applies.
# It equals the EXECUTION_TIMEOUT that `register` gives Proton (10 000 ms) by default, because
# Proton has given up on a call by then. A shorter stall frees threads held by silent clients sooner.
DEFAULT_READ_TIMEOUT_SECONDS = 10

# The integer settings and their valid ranges (None: no upper bound). Each one's variable is
# PYPROTON_ML_ plus its name in upper case.
_INTEGER_RANGES: dict[str, tuple[int, int | None]] = {
    "port": (0, 65535),
    "max_body_bytes": (1, None),
    "workers": (1, None),
    "threads": (1, None),
    "worker_timeout": (1, None),
    "keepalive": (1, None),
    "read_timeout": (1, None),
}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
# WSGI servers hand header values over as Latin-1 and HTTP strips the spaces around them, so a
# key with other characters, or with spaces at either end, could never match.
_PRINTABLE_ASCII = re.compile(r"[ -~]+")
_NO_KEY = (
    "Authentication is on but no key is set. Set PYPROTON_ML_AUTH_KEY or --auth-key-file, "
    "or pass --no-auth to serve without authentication."
)
# The same words as click's boolean options, so that the CLI and build_config read a variable alike.
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off", ""}


@dataclass(frozen=True)
class ServingConfig:
    """Settings of one UDF server. `auth_key` is None only when `auth_enabled` is False."""

    models_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    auth_enabled: bool = True
    auth_header: str = DEFAULT_AUTH_HEADER
    auth_key: str | None = field(default=None, repr=False)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    workers: int = 1
    threads: int = 4
    worker_timeout: int = 300
    keepalive: int = DEFAULT_KEEPALIVE_SECONDS
    read_timeout: int = DEFAULT_READ_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if self.auth_enabled:
            if not self.auth_key:
                raise ConfigurationError(_NO_KEY)
            _check_auth_key(self.auth_key, "the auth_key argument")
        if not isinstance(self.auth_header, str) or not _HEADER_NAME.fullmatch(self.auth_header):
            raise ConfigurationError(
                f"Invalid auth header name {shown(self.auth_header, 80)} (PYPROTON_ML_AUTH_HEADER); "
                "use an HTTP token such as 'X-API-Key'."
            )
        for name, (low, high) in _INTEGER_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
                raise ConfigurationError(f"Invalid {name} {shown(value)} ({ENV_PREFIX + name.upper()}); it must be {_range_text(name)}.")


def build_config(
    models_dir: str | os.PathLike[str] | None = None,
    host: str | None = None,
    port: int | None = None,
    auth_header: str | None = None,
    auth_key_file: str | os.PathLike[str] | None = None,
    no_auth: bool | None = None,
    max_body_bytes: int | None = None,
    workers: int | None = None,
    threads: int | None = None,
    worker_timeout: int | None = None,
    keepalive: int | None = None,
    read_timeout: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServingConfig:
    """Build a `ServingConfig`: each argument left as None falls back to its `PYPROTON_ML_*` variable.

    Variables: MODELS_DIR, HOST, PORT, AUTH_HEADER, AUTH_KEY, AUTH_KEY_FILE, NO_AUTH, MAX_BODY_BYTES,
    WORKERS, THREADS, WORKER_TIMEOUT, KEEPALIVE, READ_TIMEOUT. The key itself comes only from
    PYPROTON_ML_AUTH_KEY or a key file (one trailing newline stripped), never from a command-line value.
    """
    env = os.environ if environ is None else environ
    directory = models_dir if models_dir is not None else env.get(ENV_PREFIX + "MODELS_DIR")
    if not directory:
        raise ConfigurationError("No models directory set. Pass --models or set PYPROTON_ML_MODELS_DIR.")

    disabled = no_auth if no_auth is not None else _env_bool(env, "NO_AUTH")
    key = None if disabled else read_auth_key(auth_key_file, env)
    return ServingConfig(
        models_dir=Path(directory),
        host=host or env.get(ENV_PREFIX + "HOST", "127.0.0.1"),
        port=_pick_int(port, env, "port", 8000),
        auth_enabled=not disabled,
        auth_header=auth_header or env.get(ENV_PREFIX + "AUTH_HEADER", DEFAULT_AUTH_HEADER),
        auth_key=key,
        max_body_bytes=_pick_int(max_body_bytes, env, "max_body_bytes", DEFAULT_MAX_BODY_BYTES),
        workers=_pick_int(workers, env, "workers", 1),
        threads=_pick_int(threads, env, "threads", 4),
        worker_timeout=_pick_int(worker_timeout, env, "worker_timeout", 300),
        keepalive=_pick_int(keepalive, env, "keepalive", DEFAULT_KEEPALIVE_SECONDS),
        read_timeout=_pick_int(read_timeout, env, "read_timeout", DEFAULT_READ_TIMEOUT_SECONDS),
    )


def read_auth_key(auth_key_file: str | os.PathLike[str] | None, env: Mapping[str, str]) -> str:
    """Read the UDF auth key from ``auth_key_file`` (or PYPROTON_ML_AUTH_KEY_FILE) or PYPROTON_ML_AUTH_KEY.

    Exactly one source may be set. The key must be printable ASCII without spaces at either end,
    so that it arrives unchanged in an HTTP header. Error messages never show the key.
    """
    key_file = auth_key_file if auth_key_file is not None else env.get(ENV_PREFIX + "AUTH_KEY_FILE")
    env_key = env.get(ENV_PREFIX + "AUTH_KEY")
    if key_file and env_key is not None:
        raise ConfigurationError("Both PYPROTON_ML_AUTH_KEY and a key file are set; keep only one of them.")

    if key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigurationError(f"Cannot read the auth key file {str(key_file)!r}: {error.strerror}.") from None
        key = key.removesuffix("\n").removesuffix("\r")
        source = f"the key file {str(key_file)!r}"
    elif env_key is not None:
        key, source = env_key, "PYPROTON_ML_AUTH_KEY"
    else:
        raise ConfigurationError(_NO_KEY)

    _check_auth_key(key, source)
    return key


def _check_auth_key(key: str, source: str) -> None:
    if not key.strip():
        raise ConfigurationError(f"The auth key from {source} is empty. Write a non-empty key.")
    if any(character in key for character in "\r\n\0"):
        raise ConfigurationError(f"The auth key from {source} contains a line break or NUL, which HTTP headers cannot carry.")
    if not _PRINTABLE_ASCII.fullmatch(key) or key != key.strip():
        raise ConfigurationError(
            f"The auth key from {source} must be printable ASCII without leading or trailing whitespace: "
            "HTTP headers arrive as Latin-1 with surrounding spaces stripped, so no other key can match."
        )


def _pick_int(value: int | None, env: Mapping[str, str], name: str, default: int) -> int:
    if value is not None:
        return value
    variable = ENV_PREFIX + name.upper()
    text = env.get(variable)
    if text is None or text == "":
        return default
    # int() would also take underscores and other scripts' digits.
    if not _INTEGER.fullmatch(text.strip()):
        raise ConfigurationError(f"Invalid {variable}={shown(text)}; it must be {_range_text(name)}.")
    return int(text)


def _range_text(name: str) -> str:
    low, high = _INTEGER_RANGES[name]
    return f"an integer from {low} to {high}" if high is not None else f"an integer of at least {low}"


def _env_bool(env: Mapping[str, str], name: str) -> bool:
    text = env.get(ENV_PREFIX + name, "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"Invalid {ENV_PREFIX + name}={shown(text)}; use 1/true/t/yes/y/on or 0/false/f/no/n/off.")
