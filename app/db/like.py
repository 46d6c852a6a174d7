"""LIKE patterns from user text: the one escaping rule (backslash) for every query that matches text."""

from __future__ import annotations

ESCAPE = "\\"


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (use with `escape=ESCAPE`): %, _ and \\ escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
