"""Property names: case-insensitive in (the VIS is .NET), camelCase out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CIDict:
    """A read-only view of a JSON object whose keys match regardless of case."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = {str(k).lower(): v for k, v in data.items()}
        self._names = {str(k).lower(): str(k) for k in data}

    def get(self, name: str, default: Any = None) -> Any:
        return self._data.get(name.lower(), default)

    def has(self, name: str) -> bool:
        return name.lower() in self._data

    def obj(self, name: str) -> CIDict | None:
        """A nested object as a CIDict; None when absent or null."""
        value = self._data.get(name.lower())
        return CIDict(value) if isinstance(value, Mapping) else None

    def keys(self) -> list[str]:
        """The keys as the client wrote them."""
        return list(self._names.values())

    def items_except(self, names: set[str]) -> dict[str, Any]:
        """Original-cased items whose (lower-cased) name is not in `names`."""
        lowered = {n.lower() for n in names}
        return {self._names[k]: v for k, v in self._data.items() if k not in lowered}


def camel(name: str) -> str:
    """`snake_case` or `PascalCase` → `camelCase`."""
    if "_" in name:
        first, *rest = [p for p in name.split("_") if p]
        return first.lower() + "".join(p[:1].upper() + p[1:] for p in rest)
    return name[:1].lower() + name[1:]


def query_ci(params: Mapping[str, str]) -> dict[str, str]:
    """Query parameters with lower-cased names (the last value wins), for `Name`/`name` alike."""
    return {k.lower(): v for k, v in params.items()}
