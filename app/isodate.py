"""ISO 8601 date-times to lynkflow's epoch milliseconds: the one parser every face and the domain use.

Pure, no I/O. `T`/`Z` may be written in lower case, the separator may be a space, the fraction may
have any number of digits (microseconds are kept) and a comma; a value without a zone is refused
unless the caller says it means UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime


class IsoDateError(ValueError):
    """Not an ISO 8601 date-time (or one without the zone the caller needs); the message says which."""


def parse_iso_ms(text: str, *, naive_is_utc: bool = False) -> int:
    """Epoch milliseconds of an ISO 8601 date-time; raises IsoDateError."""
    raw = text.strip()
    if len(raw) > 10 and raw[10] in "t ":
        raw = raw[:10] + "T" + raw[11:]
    if raw.endswith("z"):
        raw = raw[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise IsoDateError(f"'{text}' is not an ISO 8601 date-time, e.g. 2024-05-01T12:00:03.250Z") from None
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise IsoDateError(f"'{text}' has no zone; add one, e.g. 2024-05-01T12:00:03Z")
        parsed = parsed.replace(tzinfo=UTC)
    return round(parsed.timestamp() * 1000)
