"""Clip times and dates as the VIS writes them (pure functions, no I/O).

- Offsets into a recording: ``HH:mm:ss`` with an optional fraction (``00:00:46``, ``00:01:02.5``,
  ``00:00:07.0400000`` as the Task Engine writes them). Minutes and seconds must be below 60.
- Wall-clock times: ISO 8601 with a date, a time and a zone (``2024-05-01T12:00:03.250Z``,
  ``...+02:00``); only meaningful when the recording carries a wall-clock start.
- Dates out: ``2020-03-18T17:42:28Z`` (UTC, no fraction) from lynkflow's millisecond clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from lynkflow import isodate

_OFFSET = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)(?:\.(\d{1,7}))?$")
_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})$"
)


class TimeFormatError(ValueError):
    """A time string in neither accepted form; the message shows the forms that are accepted."""


def parse_offset(text: str) -> float:
    """Seconds from ``HH:mm:ss(.fff)``; raises TimeFormatError for anything else."""
    m = _OFFSET.match(text.strip())
    if m is None:
        raise TimeFormatError(f"'{text}' is not a time of the form HH:mm:ss or HH:mm:ss.fff")
    hours, minutes, seconds, fraction = m.groups()
    value = int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        value += int(fraction) / 10 ** len(fraction)
    return float(value)


def looks_like_iso(text: str) -> bool:
    return _ISO.match(text.strip()) is not None


def parse_iso_ms(text: str) -> int:
    """Epoch milliseconds from an ISO 8601 date-time with a zone (the VIS form); raises TimeFormatError."""
    if not looks_like_iso(text):
        raise TimeFormatError(
            f"'{text}' is not an ISO 8601 date-time with a zone, e.g. 2024-05-01T12:00:03.250Z"
        )
    try:
        return isodate.parse_iso_ms(text)
    except isodate.IsoDateError as exc:
        raise TimeFormatError(f"'{text}' is not a valid date-time: {exc}") from None


def parse_clip_time(text: object, recording_start_ms: int | None) -> float:
    """Seconds from the start of the recording for an ``HH:mm:ss(.fff)`` or ISO 8601 value.

    ISO 8601 is accepted only when the recording has a wall-clock start (the VIS: "ISO8601 if the
    stream contains timecode information"); it is then converted to an offset from that start.
    """
    if not isinstance(text, str) or not text.strip():
        raise TimeFormatError("a time is required, as HH:mm:ss.fff from the start of the recording")
    if looks_like_iso(text):
        if recording_start_ms is None:
            raise TimeFormatError(
                f"'{text}' is an ISO 8601 time, but this event's recording has no wall-clock start; "
                "use HH:mm:ss.fff from the start of the recording"
            )
        return (parse_iso_ms(text) - recording_start_ms) / 1000.0
    return parse_offset(text)


def format_date(ms: int | None) -> str | None:
    """``2020-03-18T17:42:28Z`` for epoch milliseconds (None stays None)."""
    if ms is None:
        return None
    return _format_second(ms // 1000)


# Every listed row shows two or three dates: formatting them was a third of rendering an asset list, and
# the same seconds come back request after request. 8,192 strings of 20 characters: under a megabyte.
@lru_cache(maxsize=8192)
def _format_second(second: int) -> str:
    return datetime.fromtimestamp(second, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
