"""The exception hierarchy: one root, with subclasses that also inherit a built-in."""

from __future__ import annotations


class PyProtonMLError(Exception):
    """Root of every error that pyproton-ml raises on purpose."""


class InvalidIdentifierError(PyProtonMLError, ValueError):
    """A stream, column or function name that Proton would reject or that is unsafe."""


class FeatureDefinitionError(PyProtonMLError, ValueError):
    """A feature definition that cannot compile."""


class UnsupportedError(PyProtonMLError, NotImplementedError):
    """A construct that a rendering target (Proton or ClickHouse) cannot express."""


class InputDataError(PyProtonMLError, ValueError):
    """Events or dimension rows with missing columns or values of the wrong type."""


class ModelArtifactError(PyProtonMLError, ValueError):
    """A model file or its metadata that is missing, invalid or tampered with."""


class ProtonError(PyProtonMLError, RuntimeError):
    """A Proton server that is unreachable or rejects a statement."""


class GrafanaError(PyProtonMLError, RuntimeError):
    """A Grafana server that is unreachable or rejects a request."""


class ConfigurationError(PyProtonMLError, ValueError):
    """A setting from a command-line option, environment variable or file that is missing or invalid."""
