"""Clip-time and date parsing (pure)."""

from __future__ import annotations

import pytest

from lynkflow.vuflow.times import TimeFormatError, format_date, parse_clip_time, parse_iso_ms, parse_offset

START = 1_714_564_800_000  # 2024-05-01T12:00:00Z


@pytest.mark.parametrize(("text", "seconds"), [
    ("00:00:46", 46.0),
    ("00:00:05.5", 5.5),
    ("00:01:02.250", 62.25),
    ("01:00:00", 3600.0),
    ("00:00:07.0400000", 7.04),  # the Task Engine writes 7 fraction digits
    ("100:00:00", 360000.0),
    (" 00:00:01 ", 1.0),
])
def test_offsets(text: str, seconds: float) -> None:
    assert parse_offset(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", [
    "", "46", "0:46", "00:60:00", "00:00:60", "00:00:01.", "00:00:-1", "aa:bb:cc", "00:00:01.12345678",
    "00:00:01,5", "1e3",
])
def test_bad_offsets(text: str) -> None:
    with pytest.raises(TimeFormatError, match="HH:mm:ss"):
        parse_offset(text)


@pytest.mark.parametrize(("text", "ms"), [
    ("2024-05-01T12:00:00Z", START),
    ("2024-05-01T12:00:03.250Z", START + 3250),
    ("2024-05-01T14:00:03.25+02:00", START + 3250),
    ("2024-05-01T12:00:03.2500000Z", START + 3250),
    ("2024-05-01T07:00:01-0500", START + 1000),
    ("2024-05-01 12:00:01z", START + 1000),
])
def test_iso(text: str, ms: int) -> None:
    assert parse_iso_ms(text) == ms


@pytest.mark.parametrize("text", ["2024-05-01T12:00:00", "2024-13-01T12:00:00Z", "2024-05-01", "yesterday"])
def test_bad_iso(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_iso_ms(text)


def test_clip_time_uses_the_recording_start_for_iso() -> None:
    assert parse_clip_time("2024-05-01T12:00:01.500Z", START) == pytest.approx(1.5)
    assert parse_clip_time("00:00:01.500", START) == pytest.approx(1.5)
    assert parse_clip_time("00:00:01.500", None) == pytest.approx(1.5)
    with pytest.raises(TimeFormatError, match="no wall-clock start"):
        parse_clip_time("2024-05-01T12:00:01Z", None)
    with pytest.raises(TimeFormatError, match="required"):
        parse_clip_time(None, None)


def test_format_date() -> None:
    assert format_date(START + 999) == "2024-05-01T12:00:00Z"
    assert format_date(None) is None
