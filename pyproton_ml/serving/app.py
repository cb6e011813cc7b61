"""The Flask app that serves loaded models as Proton remote UDFs.

Error replies are short plain text. Proton copies a non-200 reply body verbatim into the
REMOTE_CALL_FAILED message ("Call remote uri ... failed, message: <body>, http_status: <code>",
timeplus-io/proton src/Functions/UserDefined/RemoteUserDefinedFunction.h at commit 10e6f9b), so a
sentence reads better there than a JSON object. Bodies never contain a traceback or request data
beyond one truncated offending value.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request
from gunicorn.http.errors import ParseException as HttpParseError
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge

from pyproton_ml.errors import InputDataError, UnsupportedError
from pyproton_ml.models.artifact import LoadedModel, discover_models
from pyproton_ml.models.types import parse_type
from pyproton_ml.serving._text import shown
from pyproton_ml.serving.codec import ENCODABLE_RETURN_TYPES, check_columns, decode_columns, encode_result, parse_body
from pyproton_ml.serving.config import ServingConfig
from pyproton_ml.serving.handler import score_frame
from pyproton_ml.serving.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from pyproton_ml.serving.metrics import UNKNOWN_FUNCTION, ServingMetrics

logger = logging.getLogger(__name__)

# Proton sends every remote-UDF call with this header, valued "from-<query id>"
# (timeplus-io/proton src/Common/sendRequest.cpp at commit 10e6f9b).
QUERY_ID_HEADER = "x-timeplus-query-id"
MAX_ERROR_BODY = 400
LOG_INTERVAL_SECONDS = 10.0
_UNREAD_BODY_KINDS = frozenset({"auth", "unknown_function", "content_type", "too_large", "incomplete_body", "bad_framing"})


@dataclass
class ServingState:
    """Shared state of the request handlers: config, models, metrics and the error-log limiter."""

    config: ServingConfig
    models: Mapping[str, LoadedModel]
    metrics: ServingMetrics = field(default_factory=ServingMetrics)
    log_limiter: _LogLimiter = field(default_factory=lambda: _LogLimiter(LOG_INTERVAL_SECONDS))


class _RequestFailed(Exception):
    """A reply other than 200, raised inside the UDF view and turned into a plain-text response."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


def create_app(config: ServingConfig, models: Mapping[str, LoadedModel] | None = None) -> Flask:
    """Create the UDF app over `models`, or over `discover_models(config.models_dir)` when None.

    Routes: `POST /udf/<function_name>`, `GET /healthz` and `GET /metrics`. Only the UDF route
    needs the auth header, so that health checks and scrapers need no key.
    """
    loaded = dict(discover_models(config.models_dir) if models is None else models)
    for function_name, model in loaded.items():
        return_type = parse_type(model.metadata.return_type).base.name
        if return_type not in ENCODABLE_RETURN_TYPES:
            raise UnsupportedError(
                f"Model {function_name!r} declares return type {model.metadata.return_type!r}, which the server cannot "
                f"encode; use one of {', '.join(ENCODABLE_RETURN_TYPES)}."
            )

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    state = ServingState(config=config, models=loaded)
    app.extensions["pyproton_ml"] = state

    if not config.auth_enabled:
        logger.warning("Authentication is disabled (--no-auth): any client that reaches the server can call the models")

    @app.post("/udf/<function_name>")
    def call_udf(function_name: str) -> Response:
        return _call_udf(state, function_name)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        served = [
            {
                "function_name": name,
                "name": model.metadata.name,
                "version": model.metadata.version,
                "sha256": model.metadata.sha256[:12],
            }
            for name, model in sorted(state.models.items())
        ]
        status = "ok" if served else "no models loaded"
        return jsonify(status=status, models=served), 200 if served else 503

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(state.metrics.render(), content_type=METRICS_CONTENT_TYPE)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        response = _text_response(error.code or 500, f"{error.name}: {error.description}")
        # Keep the headers that the error itself defines, such as Allow on a 405.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    return app


def _call_udf(state: ServingState, function_name: str) -> Response:
    started = time.perf_counter()
    query_id = _query_id()
    label = function_name if function_name in state.models else UNKNOWN_FUNCTION
    rows = 0
    try:
        _check_auth(state.config)
        model = _find_model(state, function_name)
        _check_content_type()
        body = _read_body(state.config)
        frame, rows = _decode(body, model)
        response = _score(model, frame, query_id)
    except _RequestFailed as failure:
        state.metrics.observe_error(label, failure.kind)
        state.metrics.observe_request(label, failure.status, 0, time.perf_counter() - started)
        _log_failure(state, label, failure, query_id)
        response = _text_response(failure.status, failure.message)
        if failure.kind in _UNREAD_BODY_KINDS:
            # The request body was not read, so it cannot be skipped safely on a kept-alive
            # connection: close it, and the client reconnects for the next call.
            response.headers["Connection"] = "close"
        return response

    state.metrics.observe_request(label, 200, rows, time.perf_counter() - started)
    return response


def _check_auth(config: ServingConfig) -> None:
    if not config.auth_enabled:
        return
    assert config.auth_key is not None
    provided = request.headers.get(config.auth_header)
    if provided is None:
        raise _RequestFailed(401, "auth", f"Missing {config.auth_header} header. Register the function with AUTH_METHOD 'auth_header' and this header.")
    if not hmac.compare_digest(provided.encode("utf-8", "surrogateescape"), config.auth_key.encode("utf-8")):
        raise _RequestFailed(401, "auth", f"Wrong key in the {config.auth_header} header. Check AUTH_KEY in the function registration.")


def _find_model(state: ServingState, function_name: str) -> LoadedModel:
    model = state.models.get(function_name)
    if model is None:
        served = ", ".join(sorted(state.models)) or "none"
        raise _RequestFailed(404, "unknown_function", f"Unknown function {function_name[:60]!r}. This server serves: {served}.")
    return model


def _check_content_type() -> None:
    # Proton always sends exactly "application/json" (src/Common/sendRequest.cpp at commit 10e6f9b).
    if request.mimetype != "application/json":
        raise _RequestFailed(
            415, "content_type", f"Unsupported content type {shown(request.content_type or '', 60)}; send application/json."
        )


def _read_body(config: ServingConfig) -> bytes:
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        body = None
    except ClientDisconnected:
        # werkzeug raises this when a read fails, e.g. on gunicorn's read timeout (worker.py).
        raise _stalled_body(config) from None
    except HttpParseError as error:
        # gunicorn parses chunked framing while the body is read, so a bad chunk surfaces here.
        raise _RequestFailed(
            400,
            "bad_framing",
            f"The request body is not valid HTTP framing ({type(error).__name__}: {shown(str(error), 80)}). "
            "Send a Content-Length body or well-formed chunks.",
        ) from None
    # werkzeug stops reading a chunked body (no Content-Length) at MAX_CONTENT_LENGTH without an
    # error, so one more byte from the server's input stream tells a complete body from a cut one.
    if body is None or (request.content_length is None and len(body) >= config.max_body_bytes and _has_more_input(config)):
        size = f"of {request.content_length} bytes" if request.content_length is not None else "(chunked)"
        raise _RequestFailed(
            413,
            "too_large",
            f"Request body {size} exceeds the limit of {config.max_body_bytes} bytes. "
            "Raise PYPROTON_ML_MAX_BODY_BYTES or lower max_block_size.",
        )
    if request.content_length is not None and len(body) < request.content_length:
        raise _RequestFailed(
            400,
            "incomplete_body",
            f"The request body ended after {len(body)} of the {request.content_length} bytes that "
            "Content-Length announced. Send the whole body.",
        )
    return body


def _has_more_input(config: ServingConfig) -> bool:
    try:
        return bool(request.environ["wsgi.input"].read(1))
    except OSError:
        raise _stalled_body(config) from None


def _stalled_body(config: ServingConfig) -> _RequestFailed:
    return _RequestFailed(
        408,
        "incomplete_body",
        f"Reading the request body failed: it timed out after {config.read_timeout} s without data "
        "(PYPROTON_ML_READ_TIMEOUT), or the connection broke. Send the whole body without pauses.",
    )


def _decode(body: bytes, model: LoadedModel) -> tuple[Any, int]:
    metadata = model.metadata
    try:
        document = parse_body(body)
    except InputDataError as error:
        raise _RequestFailed(400, "invalid_json", str(error)) from None
    try:
        rows = check_columns(document, metadata.arguments, metadata.function_name)
    except InputDataError as error:
        raise _RequestFailed(400, "invalid_columns", str(error)) from None
    try:
        return decode_columns(document, metadata.arguments), rows
    except InputDataError as error:
        raise _RequestFailed(400, "invalid_type", str(error)) from None


def _score(model: LoadedModel, frame: Any, query_id: str) -> Response:
    function_name = model.metadata.function_name
    try:
        result = score_frame(model, frame)
        body = encode_result(result, model.metadata.return_type)
    # The estimator is arbitrary user code, so any exception it raises is a model fault (500),
    # reported with its traceback in the server log only.
    except Exception as error:
        logger.exception("Model %s version %s failed on %d rows (query id %s)", function_name, model.metadata.version, len(frame), query_id)
        raise _RequestFailed(
            500,
            "model",
            f"Model {function_name!r} failed to score {len(frame)} rows ({type(error).__name__}). "
            f"See the UDF server log for query id {query_id}.",
        ) from None
    return Response(body, content_type="application/json")


def _query_id() -> str:
    raw = request.headers.get(QUERY_ID_HEADER, "")
    printable = "".join(character for character in raw[:128] if character.isprintable())
    return printable or "unknown"


def _text_response(status: int, message: str) -> Response:
    text = message if len(message) <= MAX_ERROR_BODY else message[: MAX_ERROR_BODY - 3] + "..."
    return Response(text + "\n", status=status, content_type="text/plain; charset=utf-8")


def _log_failure(state: ServingState, function: str, failure: _RequestFailed, query_id: str) -> None:
    if failure.status >= 500:
        return  # Already logged with its traceback in _score.
    suppressed = state.log_limiter.allow((function, failure.kind))
    if suppressed is None:
        return
    skipped = f", {suppressed} similar failure(s) not logged" if suppressed else ""
    logger.warning(
        "UDF request for %s failed with %d %s (query id %s%s): %s",
        function,
        failure.status,
        failure.kind,
        query_id,
        skipped,
        failure.message,
    )


class _LogLimiter:
    """Allows one log line per key per interval and counts the lines it suppressed."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def allow(self, key: tuple[str, str]) -> int | None:
        """Return the number of suppressed lines when `key` may log now, or None to suppress it."""
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -self._interval) < self._interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._suppressed.pop(key, 0)
