"""probe(): values for good media and a helpful BadMedia for every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from lynkflow.media.errors import BadMedia
from lynkflow.media.probe import Probe, probe


def test_probe_values(clip25) -> None:
    p = probe(clip25.path)
    assert (p.width, p.height) == (640, 360)
    assert p.fps == pytest.approx(25.0)
    assert p.duration == pytest.approx(4.0, abs=0.04)
    assert p.frame_count == 100
    assert p.video_codec == "h264"
    assert p.has_audio and p.audio_codec == "aac"
    assert p.start_time == pytest.approx(0.0, abs=0.05)
    assert p.size_bytes == clip25.path.stat().st_size


def test_probe_without_audio(clip_noaudio) -> None:
    p = probe(clip_noaudio.path)
    assert not p.has_audio and p.audio_codec is None
    assert p.fps == pytest.approx(24.0)
    assert p.frame_count == 48


def test_probe_round_trips_through_dict(clip30) -> None:
    p = probe(clip30.path)
    assert Probe.from_dict(p.to_dict()) == p
    assert p.to_dict()["fps"] == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("empty", "empty (0 bytes)"),
        ("random", "not a media file"),
        ("text", "not a media file"),
        ("truncated_half", "truncated"),
        ("truncated_head", "truncated"),
    ],
)
def test_bad_inputs(bad_files: dict[str, Path], kind: str, words: str) -> None:
    with pytest.raises(BadMedia) as exc:
        probe(bad_files[kind])
    assert words in str(exc.value)


def test_audio_only_is_rejected(audio_only: Path) -> None:
    with pytest.raises(BadMedia, match=r"no video stream \(audio only\)"):
        probe(audio_only)


def test_absurd_dimensions_are_rejected(huge_dims: Path) -> None:
    with pytest.raises(BadMedia, match=r"8448x16, larger than the 8192x8192 limit"):
        probe(huge_dims)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadMedia, match="file not found"):
        probe(tmp_path / "nope.mp4")
