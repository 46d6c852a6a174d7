"""make_clip: frame-accurate re-encode, keyframe stream copy, copy_ts and track selection."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from lynkflow.fixtures.framecode import read_frame_number
from lynkflow.media.clip import make_clip
from lynkflow.media.errors import FrameOutOfRange


def _numbers(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [read_frame_number(f.to_image()) for f in c.decode(video=0)]


@pytest.mark.slow
@pytest.mark.parametrize(("start", "end"), [(1.0, 2.0), (1.01, 2.53), (0.0, 0.5)])
def test_frame_accurate(clip25, tmp_path: Path, start: float, end: float) -> None:
    out = tmp_path / "c.mp4"
    info = make_clip(clip25.path, out, start=start, end=end)
    assert info["duration"] == pytest.approx(end - start, abs=1 / 25)
    assert (info["width"], info["height"]) == (640, 360)
    assert info["start_time"] == pytest.approx(0.0, abs=0.03)
    numbers = _numbers(out)
    assert numbers[0] == int(start * 25 + 1e-6)  # the first frame is the frame at start
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert abs(len(numbers) - (end - start) * 25) <= 1
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        assert c.streams.video[0].codec_context.name == "h264"


@pytest.mark.slow
def test_copy_ts_keeps_source_time(clip30, tmp_path: Path) -> None:
    out = tmp_path / "ts.mp4"
    info = make_clip(clip30.path, out, start=1.0, end=2.0, copy_ts=True)
    assert info["start_time"] == pytest.approx(1.0, abs=1 / 30)
    assert info["duration"] == pytest.approx(1.0, abs=1 / 30)
    with av.open(str(out)) as c:
        first = next(c.decode(video=0))
        assert first.time == pytest.approx(1.0, abs=1e-3)
        assert read_frame_number(first.to_image()) == 30


@pytest.mark.slow
def test_stream_copy_starts_at_the_keyframe(clip25, tmp_path: Path) -> None:
    out = tmp_path / "copy.mp4"
    # clip25 has keyframes at 0 s and 2 s: a copy from 2.5 s starts at frame 50.
    info = make_clip(clip25.path, out, start=2.5, end=3.5, frame_accurate=False)
    numbers = _numbers(out)
    assert numbers[0] == 50
    assert numbers[-1] >= 87  # reaches the requested end (frame 87 covers 3.48 s)
    assert info["duration"] >= 1.0
    with av.open(str(out)) as c, av.open(str(clip25.path)) as src:
        packets = [bytes(p) for p in c.demux(video=0) if p.size][:5]
        src.seek(int(2.0 / src.streams.video[0].time_base), stream=src.streams.video[0])
        source_packets = [bytes(p) for p in src.demux(video=0) if p.size][:5]
        assert packets == source_packets  # copied, not re-encoded


@pytest.mark.slow
def test_track_selection(multitrack: Path, tmp_path: Path) -> None:
    all_tracks = tmp_path / "all.mp4"
    make_clip(multitrack, all_tracks, start=0.5, end=1.0)
    with av.open(str(all_tracks)) as c:
        assert sorted(s.codec_context.height for s in c.streams.video) == [180, 360]
        assert len(c.streams.audio) == 2
    top = tmp_path / "top.mp4"
    info = make_clip(multitrack, top, start=0.5, end=1.0, top_track_only=True)
    assert info["height"] == 360
    with av.open(str(top)) as c:
        assert len(c.streams.video) == 1 and c.streams.video[0].codec_context.height == 360
        assert len(c.streams.audio) == 1 and c.streams.audio[0].codec_context.channels == 2


def test_range_checks(clip25, tmp_path: Path) -> None:
    with pytest.raises(FrameOutOfRange):
        make_clip(clip25.path, tmp_path / "x.mp4", start=4.0, end=5.0)
    with pytest.raises(ValueError):
        make_clip(clip25.path, tmp_path / "x.mp4", start=2.0, end=2.0)
    assert list(tmp_path.iterdir()) == []
