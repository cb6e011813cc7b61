"""The Proton remote-UDF server: wire codec, scoring handler, Flask app, config and runners."""

from __future__ import annotations

from pyproton_ml.serving.app import create_app
from pyproton_ml.serving.config import ServingConfig, build_config
from pyproton_ml.serving.server import BackgroundServer, serve, start_background_server

__all__ = ["BackgroundServer", "ServingConfig", "build_config", "create_app", "serve", "start_background_server"]
