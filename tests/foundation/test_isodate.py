"""The one ISO 8601 parser (lynkflow.isodate), table-driven."""

from __future__ import annotations

import pytest

from lynkflow.isodate import IsoDateError, parse_iso_ms

T0 = 1714564800000  # 2024-05-01T12:00:00Z


@pytest.mark.parametrize(("text", "naive_is_utc", "expected"), [
    ("2024-05-01T12:00:00Z", False, T0),
    ("2024-05-01t12:00:00z", False, T0),
    ("2024-05-01 12:00Z", False, T0),
    ("  2024-05-01T12:00:00.250Z ", False, T0 + 250),
    ("2024-05-01T12:00:00,25Z", False, T0 + 250),
    ("2024-05-01T12:00:00.1234567Z", False, T0 + 123),
    ("2024-05-01T14:00:00+02:00", False, T0),
    ("2024-05-01T14:00:00+0200", False, T0),
    ("2024-05-01T12:00:00", True, T0),
    ("2024-05-01", True, T0 - 12 * 3600 * 1000),
])
def test_accepted(text: str, naive_is_utc: bool, expected: int) -> None:
    assert parse_iso_ms(text, naive_is_utc=naive_is_utc) == expected


@pytest.mark.parametrize(("text", "naive_is_utc", "fragment"), [
    ("2024-05-01T12:00:00", False, "no zone"),
    ("yesterday", True, "not an ISO 8601"),
    ("2024-13-01T00:00:00Z", False, "not an ISO 8601"),
    ("", True, "not an ISO 8601"),
])
def test_refused(text: str, naive_is_utc: bool, fragment: str) -> None:
    with pytest.raises(IsoDateError, match=fragment):
        parse_iso_ms(text, naive_is_utc=naive_is_utc)
