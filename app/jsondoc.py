"""Untrusted JSON documents: parsed only within the limits of `lynkflow.limits`.

`loads` is the one way a face turns request JSON into Python values. Before parsing, it measures
how deeply arrays and objects nest (a scan without recursion), so a document 100,000 levels deep
costs one linear pass and never reaches the recursive parser. After parsing, one walk refuses what
no field can hold: NUL characters and lone surrogates (`textcheck`), integers beyond 64 bits,
numbers that are not finite (`NaN`, `Infinity`, `1e400`), and strings longer than the text limit.
Each refusal is a `DocumentError` naming the field (`tags[0]`, `clip.start`), which each face
renders in its own error shape.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from lynkflow import limits
from lynkflow.textcheck import text_problem

# What the depth scan skips: a JSON string (escapes included, so a bracket inside one never counts)
# or a run of anything that is neither a bracket nor a quote. The unrolled string form is linear.
_NOT_NESTING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[^\[\]{}"]+', re.DOTALL)
_INNERMOST_PAIR = re.compile(r"\[\]|\{\}")


# Starlette's JSONResponse encoding (its `render`: no ASCII escaping, NaN refused, no whitespace), with
# the encoder made once: the api2 and VIS answers are these bytes, without a json.dumps set-up per call.
encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode


# Answers joined from parts already encoded (cached item texts): the bytes `encode` gives for the whole,
# as its separators write them (no whitespace), without encoding the parts again.
def join_array(texts: Iterable[str]) -> str:
    """`encode` of the list of the documents these texts encode."""
    return "[" + ",".join(texts) + "]"


def join_object(fields: Mapping[str, str]) -> str:
    """`encode` of the object whose members are these names and the documents their texts encode, in order."""
    return "{" + ",".join(f"{encode(name)}:{text}" for name, text in fields.items()) + "}"


class DocumentError(ValueError):
    """A document beyond a limit. `kind` is a short error name (VIS `errorType`); `field` the path."""

    def __init__(self, message: str, kind: str, field: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.field = field
        self.detail = detail  # for InvalidJson: the parser's own words


def nesting_exceeds(text: str, depth: int = limits.MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects in `text` nest deeper than `depth` (lexical, no recursion).

    Strings and scalars are removed, leaving only brackets; each round removes the innermost
    empty pairs, so a document of depth d is empty after d rounds. A run of more openers than the
    depth left is too deep whatever follows (found by a search, without another copy of a huge
    text). A round that removes nothing means unbalanced brackets: a syntax error for the parser.
    """
    if text.count("[") + text.count("{") <= depth:
        return False  # openers inside strings counted too: the nesting cannot be deeper (no scan)
    brackets = _NOT_NESTING.sub("", text)
    if brackets.count("[") + brackets.count("{") <= depth:
        return False  # too few openers to nest that deep (nearly every document: no rounds)
    for done in range(depth + 1):
        if re.search(rf"[\[{{]{{{depth - done + 1}}}", brackets):
            return True
        reduced = _INNERMOST_PAIR.sub("", brackets)
        if not reduced or reduced == brackets:
            return False
        brackets = reduced
    return True


def printable(name: str) -> str:
    """A field name fit for an error message: lone surrogates shown as \\udxxx escapes."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _name(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _refusal(path: str, problem: str, kind: str) -> DocumentError:
    field = printable(path)
    return DocumentError(f"{field or 'the document'} {problem}", kind, field or None)


@functools.lru_cache(maxsize=16)
def _lowered(names: frozenset[str]) -> frozenset[str]:
    """The names in lower case (VIS property names match in any case), once per set of names."""
    return frozenset(name.lower() for name in names)


def check(doc: Any, *, long_text_fields: frozenset[str] = frozenset()) -> None:
    """Refuse what no field can hold anywhere in a parsed document (see the module docstring).

    `long_text_fields`: top-level keys (any case) whose string may exceed MAX_TEXT_CHARS (each has its
    own cap, checked by its parser).
    """
    long_text = _lowered(long_text_fields)
    stack: list[tuple[str, Any, int]] = [("", doc, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                raise _refusal(path, problem, "InvalidText")
            if len(value) > limits.MAX_TEXT_CHARS and not (depth == 1 and path.lower() in long_text):
                raise _refusal(path, f"is {len(value)} characters long; text fields hold at most "
                                     f"{limits.MAX_TEXT_CHARS}", "TextTooLong")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not limits.INT64_MIN <= value <= limits.INT64_MAX:
                raise _refusal(path, f"is outside the 64-bit integer range ({limits.INT64_MIN} to "
                                     f"{limits.INT64_MAX})", "NumberOutOfRange")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise _refusal(path, "must be a finite number (not NaN, Infinity, or beyond ±1.7e308)",
                               "NumberOutOfRange")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = _name(path, str(key))
                problem = text_problem(str(key))
                if problem:
                    raise DocumentError(f"the field name {printable(name)} {problem}", "InvalidText", printable(name))
                if len(str(key)) > limits.MAX_NAME_CHARS:
                    raise _refusal(path, f"has a field name of {len(str(key))} characters; field names hold at "
                                         f"most {limits.MAX_NAME_CHARS}", "TextTooLong")
                stack.append((name, item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))


def loads(raw: str | bytes, *, what: str = "the request body", long_text_fields: frozenset[str] = frozenset()) -> Any:
    """Parse and check one JSON document; DocumentError (kind InvalidJson for syntax) otherwise."""
    if isinstance(raw, bytes | bytearray):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"{what} is not UTF-8 text (byte {exc.start} is invalid)", "InvalidJson") from None
    else:
        text = raw
    if nesting_exceeds(text):
        raise DocumentError(f"{what} nests arrays/objects more than {limits.MAX_JSON_DEPTH} levels deep",
                            "NestingTooDeep")
    try:
        doc = json.loads(text)
    except RecursionError:  # not reachable after the depth scan; kept so a parser change stays safe
        raise DocumentError(f"{what} is nested too deeply", "NestingTooDeep") from None
    except ValueError as exc:
        raise DocumentError(f"{what} is not valid JSON ({exc})", "InvalidJson", detail=str(exc)) from None
    check(doc, long_text_fields=long_text_fields)
    return doc
