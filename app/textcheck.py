"""Text that no database column can hold: NUL characters (PostgreSQL refuses them outright)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def nul_field(value: Any, where: str = "") -> str | None:
    """The dotted name of the first key or string value that contains a NUL character, else None."""
    if isinstance(value, str):
        return (where or "value") if "\x00" in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and "\x00" in key:
                return name
            found = nul_field(item, name)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = nul_field(item, f"{where}[{i}]")
            if found:
                return found
    return None
