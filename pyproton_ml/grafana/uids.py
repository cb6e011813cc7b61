"""Validation of Grafana uids for dashboards, folders and data sources."""

from __future__ import annotations

import re

from pyproton_ml.errors import InvalidIdentifierError

# Grafana's HTTP API docs (dashboard.md and folder.md) cap a uid at 40 characters, and
# Grafana's `pkg/util/shortid_generator.go` accepts `^[a-zA-Z0-9\-\_]*$` (IsValidShortUID)
# of at most 40 characters (IsShortUIDTooLong).
MAX_UID_LENGTH = 40
_UID = re.compile(r"[A-Za-z0-9\-_]+")


def validate_uid(uid: str, *, kind: str = "dashboard") -> str:
    """Return the uid if Grafana accepts it, else raise InvalidIdentifierError."""
    if not isinstance(uid, str) or not uid:
        raise InvalidIdentifierError(f"Invalid {kind} uid {uid!r}: expected a non-empty string of at most {MAX_UID_LENGTH} characters.")
    if len(uid) > MAX_UID_LENGTH:
        raise InvalidIdentifierError(
            f"Invalid {kind} uid {uid[:60]!r}: it has {len(uid)} characters but Grafana allows at most {MAX_UID_LENGTH}. Shorten it."
        )
    if not _UID.fullmatch(uid):
        raise InvalidIdentifierError(
            f"Invalid {kind} uid {uid[:60]!r}: expected only letters, digits, '-' and '_'. Replace the other characters."
        )
    return uid
