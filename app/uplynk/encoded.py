"""An api2 answer made of already-encoded JSON texts, so a list joins cached texts instead of encoding
every asset again on each call.

An operation may return an `EncodedAnswer` in place of its dict: the dispatcher adds `error` to it as
to a dict (`answer["error"] = 0`) and `Api2Response` sends `text()`, the bytes `jsondoc.encode` gives
for the dict of the decoded fields, in the same order (no whitespace, as its separators write).
"""

from __future__ import annotations

from typing import Any

from lynkflow import jsondoc


class EncodedAnswer:
    """Top-level fields of an api2 answer, each held as its JSON text, in the order they are sent."""

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields

    def __setitem__(self, name: str, value: Any) -> None:
        """Add a field given as a value (encoded now), as on the dict an operation otherwise returns."""
        # `"error": 0` ends every successful answer: its text without a trip through the encoder.
        self.fields[name] = "0" if value == 0 and type(value) is int else jsondoc.encode(value)

    def text(self) -> str:
        return jsondoc.join_object(self.fields)
