"""Registering saved models as Proton remote functions."""

from __future__ import annotations

import logging
from pathlib import Path

from pyproton_ml.errors import ModelArtifactError
from pyproton_ml.models.artifact import discover_metadata
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.proton.client import ProtonClient
from pyproton_ml.sql.nodes import CreateRemoteFunction
from pyproton_ml.sql.remote_function import DEFAULT_EXECUTION_TIMEOUT_MS
from pyproton_ml.sql.remote_function import create_remote_function
from pyproton_ml.sql.render import render

logger = logging.getLogger(__name__)


def udf_url(base_url: str, function_name: str) -> str:
    """The address of one function on a UDF server: ``<base>/udf/<function>``."""
    return f"{base_url.rstrip('/')}/udf/{function_name}"


def registration_statement(
    metadata: ModelMetadata,
    base_url: str,
    *,
    auth_header: str | None,
    auth_key: str | None,
    execution_timeout_ms: int = DEFAULT_EXECUTION_TIMEOUT_MS,
) -> CreateRemoteFunction:
    """Build ``CREATE OR REPLACE REMOTE FUNCTION`` from a model's saved signature."""
    return create_remote_function(
        metadata.function_name,
        [(argument.name, argument.type) for argument in metadata.arguments],
        return_type=metadata.return_type,
        url=udf_url(base_url, metadata.function_name),
        auth_header=auth_header,
        auth_key=auth_key,
        execution_timeout_ms=execution_timeout_ms,
    )


def register_models(
    client: ProtonClient,
    models_dir: Path,
    base_url: str,
    *,
    auth_header: str | None,
    auth_key: str | None,
    function_names: list[str] | None = None,
    execution_timeout_ms: int = DEFAULT_EXECUTION_TIMEOUT_MS,
) -> list[ModelMetadata]:
    """Register the latest version of each model in ``models_dir`` (or of ``function_names``).

    Every statement is built and checked before the first one is sent, so a bad
    name or URL registers nothing. Model files are never unpickled here.
    """
    found = discover_metadata(models_dir)
    chosen = sorted(found) if function_names is None else function_names
    missing = [name for name in chosen if name not in found]
    if missing:
        raise ModelArtifactError(
            f"No model named {missing} in {str(models_dir)!r}; found: {', '.join(sorted(found)) or 'none'}."
        )

    statements = [
        (found[name], registration_statement(found[name], base_url, auth_header=auth_header, auth_key=auth_key, execution_timeout_ms=execution_timeout_ms))
        for name in chosen
    ]
    for metadata, statement in statements:
        client.execute(render(statement, pretty=False))
        logger.info(
            "Registered %s (model %s version %s) at %s",
            metadata.function_name,
            metadata.name,
            metadata.version,
            udf_url(base_url, metadata.function_name),
        )
    return [metadata for metadata, _ in statements]
