"""Pure parsers for api2 parameter values: times, booleans, integers, lists-or-strings, meta.

Each raises `ParamError` with a message naming the parameter and the accepted forms.
"""

from __future__ import annotations

import re
from typing import Any

from lynkflow import jsondoc, limits


class ParamError(ValueError):
    pass


_TIME = re.compile(r"^\s*(?:(?:(\d+):)?(\d{1,2}):)?(\d+)(?:\.(\d{1,3})\d*)?\s*$")


def parse_time_ms(value: Any, name: str) -> int:
    """Milliseconds from an integer (ms), a digit string (ms), or `hh:mm:ss.ms` / `mm:ss.ms`.

    A bare number is milliseconds, as in the documented `ts=91415`; the colon forms carry seconds
    with an optional fraction (`00:01:31.415`, `01:31.415`).
    """
    if isinstance(value, bool) or value is None:
        raise ParamError(f"{name} must be milliseconds (e.g. 91415) or 'hh:mm:ss.ms' (e.g. '00:01:31.415')")
    if isinstance(value, int | float) and not 0 <= value <= limits.INT64_MAX:  # NaN fails this too
        raise ParamError(f"{name} must be from 0 to {limits.INT64_MAX} milliseconds")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(round(value))
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+", text):
            return parse_time_ms(int(text) if len(text) <= limits.INT64_DIGITS else -1, name)
        if ":" in text:
            m = _TIME.match(text)
            if m and all(len(g or "") <= limits.INT64_DIGITS // 2 for g in m.groups()):
                hours = int(m.group(1) or 0)
                minutes = int(m.group(2) or 0)
                seconds = int(m.group(3))
                frac = (m.group(4) or "").ljust(3, "0")
                if minutes < 60 and (seconds < 60):
                    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + int(frac or 0)
    raise ParamError(f"{name} must be milliseconds (e.g. 91415) or 'hh:mm:ss.ms' (e.g. '00:01:31.415'), "
                     f"got {value!r}")


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
        return value.strip().lower() in ("1", "true", "yes", "on")
    raise ParamError(f"{name} must be true or false (or 1/0), got {value!r}")


def parse_int(value: Any, name: str, *, low: int = limits.INT64_MIN, high: int = limits.INT64_MAX) -> int:
    """An integer (or a whole float, or a digit string) within [low, high]; every integer parameter
    stays inside the 64-bit range unless it is narrower."""
    if isinstance(value, bool):
        raise ParamError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        out = value
    elif isinstance(value, float) and value.is_integer():
        out = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        digits = value.strip().lstrip("-").lstrip("0")
        # Longer than any 64-bit number: refused without converting (huge conversions are slow).
        out = int(value) if len(digits) <= 20 else (limits.INT64_MAX + 1) * (-1 if "-" in value else 1)
    else:
        raise ParamError(f"{name} must be an integer, got {value!r}")
    if not low <= out <= high:
        shown = str(value).strip()
        shown = shown if len(shown) <= 40 else f"a {len(shown)}-digit number"
        raise ParamError(f"{name} must be from {low} to {high}, got {shown}")
    return out


def parse_flag01(value: Any, name: str) -> int:
    """0/1 integer fields (require_drm...): accepts 0, 1, booleans and their strings."""
    return 1 if parse_bool(value, name) else 0


def parse_str_list(value: Any, name: str) -> list[str]:
    """A list of strings, or one string (clients send `ids="abc"`), or a comma-separated string."""
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
        return [v for v in items if v]
    if isinstance(value, list):
        out = []
        for v in value:
            if isinstance(v, (str, int)) and not isinstance(v, bool):
                s = str(v).strip()
                if s:
                    out.append(s)
            else:
                raise ParamError(f"{name} must be a list of strings, got an item {v!r}")
        return out
    raise ParamError(f"{name} must be a list of strings (or one string), got {type(value).__name__}")


def parse_meta(value: Any) -> dict[str, Any]:
    """meta as a dict or a JSON string holding a dict (the official sample sends a string)."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            value = jsondoc.loads(value, what="meta")
        except jsondoc.DocumentError as exc:
            if exc.kind != "InvalidJson":
                raise ParamError(exc.message) from None
            raise ParamError("meta must be a dictionary or a JSON string of one, e.g. "
                             "'{\"key1\": \"value1\"}'") from None
    if not isinstance(value, dict):
        raise ParamError(f"meta must be a dictionary, got {type(value).__name__}")
    for k in value:
        if not k.strip():
            raise ParamError("meta field names must not be empty")
    return value


def parse_kv_meta(text: str) -> dict[str, str]:
    """Cloud-slicer `args.meta`: `k=v,,,k=v` (three commas separate pairs)."""
    out: dict[str, str] = {}
    for pair in text.split(",,,"):
        if not pair.strip():
            continue
        if "=" not in pair:
            raise ParamError(f"args.meta must be key=value pairs joined by ',,,', got {pair!r}")
        k, v = pair.split("=", 1)
        if not k.strip():
            raise ParamError("args.meta has an empty field name")
        out[k.strip()] = v
    return out


def parse_trim(value: Any) -> tuple[float, float] | None:
    """Cloud-slicer `args.trim`: 'start_ms,end_ms' (or a two-item list); None when absent."""
    if value in (None, ""):
        return None
    parts: list[Any]
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",")]
    elif isinstance(value, list):
        parts = value
    else:
        raise ParamError("args.trim must be 'start_ms,end_ms', e.g. '0,180000'")
    if len(parts) != 2:
        raise ParamError("args.trim must be 'start_ms,end_ms', e.g. '0,180000'")
    start = parse_time_ms(parts[0], "args.trim start")
    end = parse_time_ms(parts[1], "args.trim end")
    if end <= start:
        raise ParamError("args.trim end must be after its start")
    return start / 1000.0, end / 1000.0


def require(params: dict[str, Any], name: str) -> Any:
    """The value of a required parameter; absent or empty is refused by name."""
    value = params.get(name)
    if value is None or value == "":
        raise ParamError(f"missing required parameter {name}")
    return value


def as_str(value: Any, name: str, *, max_len: int = limits.MAX_PATH_CHARS) -> str:
    """A string parameter (numbers are taken as their text), at most `max_len` characters."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ParamError(f"{name} must be a string")
    text = str(value)
    if len(text) > max_len:
        raise ParamError(f"{name} must be at most {max_len} characters")
    return text
