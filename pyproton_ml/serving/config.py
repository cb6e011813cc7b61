"""Settings of the UDF server, from explicit arguments first and `PYPROTON_ML_*` environment variables second."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pyproton_ml.errors import ConfigurationError

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

_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


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

    def __post_init__(self) -> None:
        if self.auth_enabled and not self.auth_key:
            raise ConfigurationError(
                "Authentication is on but no key is set. Set PYPROTON_ML_AUTH_KEY or --auth-key-file, "
                "or pass --no-auth to serve without authentication."
            )
        if not _HEADER_NAME.match(self.auth_header):
            raise ConfigurationError(f"Invalid auth header name {self.auth_header!r:.80}; use an HTTP token such as 'X-API-Key'.")
        for name in ("port", "max_body_bytes", "workers", "threads", "worker_timeout", "keepalive"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < (0 if name == "port" else 1) or (name == "port" and value > 65535):
                raise ConfigurationError(f"Invalid {name} {value!r:.40}; it must be a positive integer (port 0-65535).")


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
    environ: Mapping[str, str] | None = None,
) -> ServingConfig:
    """Build a `ServingConfig`: each argument left as None falls back to its `PYPROTON_ML_*` variable.

    Variables: MODELS_DIR, HOST, PORT, AUTH_HEADER, AUTH_KEY, AUTH_KEY_FILE, NO_AUTH, MAX_BODY_BYTES,
    WORKERS, THREADS, WORKER_TIMEOUT, KEEPALIVE. The key itself comes only from PYPROTON_ML_AUTH_KEY
    or a key file (one trailing newline stripped), never from a command-line value.
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
        port=_pick_int(port, env, "PORT", 8000),
        auth_enabled=not disabled,
        auth_header=auth_header or env.get(ENV_PREFIX + "AUTH_HEADER", DEFAULT_AUTH_HEADER),
        auth_key=key,
        max_body_bytes=_pick_int(max_body_bytes, env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        workers=_pick_int(workers, env, "WORKERS", 1),
        threads=_pick_int(threads, env, "THREADS", 4),
        worker_timeout=_pick_int(worker_timeout, env, "WORKER_TIMEOUT", 300),
        keepalive=_pick_int(keepalive, env, "KEEPALIVE", DEFAULT_KEEPALIVE_SECONDS),
    )


def read_auth_key(auth_key_file: str | os.PathLike[str] | None, env: Mapping[str, str]) -> str:
    """Read the UDF auth key from ``auth_key_file`` (or PYPROTON_ML_AUTH_KEY_FILE) or PYPROTON_ML_AUTH_KEY.

    Exactly one source may be set; the key must be non-empty and fit in an HTTP header.
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
        raise ConfigurationError(
            "Authentication is on but no key is set. Set PYPROTON_ML_AUTH_KEY or --auth-key-file, "
            "or pass --no-auth to serve without authentication."
        )

    if not key.strip():
        raise ConfigurationError(f"The auth key from {source} is empty. Write a non-empty key.")
    if any(character in key for character in "\r\n\0"):
        raise ConfigurationError(f"The auth key from {source} contains a line break or NUL, which HTTP headers cannot carry.")
    return key


def _pick_int(value: int | None, env: Mapping[str, str], name: str, default: int) -> int:
    if value is not None:
        return value
    text = env.get(ENV_PREFIX + name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"Invalid {ENV_PREFIX + name}={text!r:.40}; it must be an integer.") from None


def _env_bool(env: Mapping[str, str], name: str) -> bool:
    text = env.get(ENV_PREFIX + name, "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"Invalid {ENV_PREFIX + name}={text!r:.40}; use 1/true/yes or 0/false/no.")
