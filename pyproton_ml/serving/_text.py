"""Short quoting of untrusted values in error messages, so that a reply or log line stays readable."""

from __future__ import annotations

from typing import Any


def shown(value: Any, limit: int = 40) -> str:
    """Return `repr(value)` in at most `limit` characters, with '...' marking a cut.

    A string is cut inside its quotes (`'aaa...'`), so the reader still sees where it ends.
    Any other value is cut at the end of its repr.
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    if not isinstance(value, str):
        return text[: limit - 3] + "..."
    cut = value[:limit]
    # An escaped character (\x00, \u2028) takes several characters in the repr.
    while cut and len(repr(cut + "...")) > limit:
        cut = cut[:-1]
    return repr(cut + "...")
