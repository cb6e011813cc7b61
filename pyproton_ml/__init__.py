"""Run scikit-learn models inside Timeplus Proton streaming SQL."""

from __future__ import annotations

import logging

__version__ = "0.1.0"

# The library never configures logging: applications and the CLI do.
logging.getLogger(__name__).addHandler(logging.NullHandler())
