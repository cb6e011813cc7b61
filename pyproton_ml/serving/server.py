"""Production serving under gunicorn, and a background werkzeug server for demos and tests."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from pyproton_ml.models.artifact import LoadedModel, discover_models
from pyproton_ml.serving.app import create_app
from pyproton_ml.serving.config import DEFAULT_AUTH_HEADER, ServingConfig
from pyproton_ml.serving.worker import worker_class

logger = logging.getLogger(__name__)

GRACEFUL_STOP_SECONDS = 30


class _GunicornApplication(BaseApplication):  # type: ignore[misc]
    """Embeds gunicorn with settings from `ServingConfig` instead of a gunicorn config file."""

    def __init__(self, app: Flask, options: Mapping[str, Any]) -> None:
        self._app = app
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._app


def gunicorn_options(config: ServingConfig) -> dict[str, Any]:
    """Map a `ServingConfig` to gunicorn settings.

    Threaded (gthread) workers keep connections alive between requests, and give up on a client
    that stays silent for `read_timeout` seconds in the middle of a request (see `worker.py`).
    Models are loaded once in the arbiter before the workers fork, so load time never counts
    against `timeout`, which only bounds how long a worker may stop sending heartbeats.
    """
    return {
        "bind": f"{config.host}:{config.port}",
        "workers": config.workers,
        "worker_class": worker_class(config.read_timeout),
        "threads": config.threads,
        "timeout": config.worker_timeout,
        "graceful_timeout": GRACEFUL_STOP_SECONDS,
        "keepalive": config.keepalive,
        "preload_app": True,
        "accesslog": None,
        # gunicorn 27 opens a control socket under $HOME by default; the server needs none.
        "control_socket_disable": True,
    }


def serve(config: ServingConfig) -> None:
    """Load the models, then serve them under gunicorn until SIGTERM or SIGINT (graceful stop)."""
    models = discover_models(config.models_dir)
    app = create_app(config, models)
    served = ", ".join(f"{name} v{model.metadata.version}" for name, model in sorted(models.items())) or "none"
    logger.info(
        "Starting UDF server on %s:%d with %d worker(s) x %d thread(s), auth %s, models: %s",
        config.host,
        config.port,
        config.workers,
        config.threads,
        f"header {config.auth_header}" if config.auth_enabled else "disabled",
        served,
    )
    if not models:
        logger.warning(
            "No models found in %s, so /healthz returns 503 and every /udf call returns 404. "
            "Train one first, e.g. `pyproton-ml example train --models-dir %s`.",
            config.models_dir,
            config.models_dir,
        )
    arbiter_pid = os.getpid()
    try:
        _GunicornApplication(app, gunicorn_options(config)).run()
    finally:
        # Forked workers unwind through this frame too, and only the arbiter's exit stops the server.
        if os.getpid() == arbiter_pid:
            logger.info("Stopped UDF server on %s:%d (models: %s)", config.host, config.port, served)


class _QuietRequestHandler(WSGIRequestHandler):
    """Skips werkzeug's access log, which adds a stderr handler when logging is unconfigured."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


@dataclass
class BackgroundServer:
    """A werkzeug server running the UDF app in a daemon thread; `stop()` shuts it down."""

    server: BaseWSGIServer
    thread: threading.Thread
    app: Flask
    host: str = field(init=False)
    port: int = field(init=False)

    def __post_init__(self) -> None:
        self.host = self.server.host
        self.port = self.server.server_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=GRACEFUL_STOP_SECONDS)
        logger.info("Stopped background UDF server at %s", self.url)


def start_background_server(
    models_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 0,
    auth_key: str | None = None,
    auth_header: str = DEFAULT_AUTH_HEADER,
    no_auth: bool = False,
    models: Mapping[str, LoadedModel] | None = None,
    **settings: Any,
) -> BackgroundServer:
    """Start the real UDF app with werkzeug's threaded server in a background thread.

    `port=0` picks a free port (read it from `.url`). Authentication needs `auth_key` unless
    `no_auth=True` is passed explicitly; without either, `ConfigurationError` is raised. Extra
    `settings` go to `ServingConfig` (for example `max_body_bytes`).
    """
    config = ServingConfig(
        models_dir=Path(models_dir),
        host=host,
        port=port,
        auth_enabled=not no_auth,
        auth_header=auth_header,
        auth_key=None if no_auth else auth_key,
        **settings,
    )
    app = create_app(config, models)
    server = make_server(host, port, app, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="pyproton-ml-udf-server", daemon=True)
    thread.start()
    background = BackgroundServer(server=server, thread=thread, app=app)
    logger.info("Started background UDF server at %s serving %s", background.url, ", ".join(app.extensions["pyproton_ml"].models) or "none")
    return background
