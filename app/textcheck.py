"""Text that no database column can hold: NUL characters (PostgreSQL refuses them outright) and
lone UTF-16 surrogates (`"\\ud800"` is valid JSON but not Unicode text: it cannot be written as
UTF-8, so it could be neither stored nor sent back)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored ("contains ..."), or None when it can."""
    if "\x00" in text:
        return "contains a NUL character, which no text field can hold"
    if text.isascii():  # no surrogate then, and no regex search (most texts: every api2 msg field)
        return None
    found = _SURROGATE.search(text)
    if found:
        return (f"contains a lone UTF-16 surrogate (\\u{ord(found.group()):04x}), which is not a Unicode "
                "character; send valid UTF-8 text (a pair \\ud83c\\udfac is fine, half of one is not)")
    return None


def bad_text_field(values: Mapping[str, Any]) -> tuple[str, str] | None:
    """(name, problem) of the first key or string value of a flat mapping that cannot be stored."""
    for key, value in values.items():
        for text in (str(key), value):
            if isinstance(text, str):
                problem = text_problem(text)
                if problem:
                    return str(key), problem
    return None


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
