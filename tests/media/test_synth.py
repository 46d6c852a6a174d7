"""The synthetic clip generator and the frame code it stamps."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from PIL import Image

from lynkflow.fixtures import synth
from lynkflow.fixtures.framecode import read_frame_number


def test_every_frame_carries_its_number(clip30) -> None:
    with av.open(str(clip30.path)) as c:
        numbers = [read_frame_number(f.to_image()) for f in c.decode(video=0)]
    assert numbers == list(range(90))


def test_code_survives_small_scaling_and_jpeg(clip25, tmp_path: Path) -> None:
    with av.open(str(clip25.path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i == 77:
                img = frame.to_image().resize((208, 117), Image.Resampling.BILINEAR)
                img.save(tmp_path / "x.jpg", quality=60)
                break
    with Image.open(tmp_path / "x.jpg") as img:
        assert read_frame_number(img) == 77


def test_reader_rejects_pictures_without_a_code() -> None:
    with pytest.raises(ValueError, match="no readable frame code"):
        read_frame_number(Image.new("RGB", (320, 240), (128, 128, 128)))


def test_clips_are_cached_by_parameters(clip_noaudio) -> None:
    before = clip_noaudio.path.stat().st_mtime_ns
    synth.make_clip(clip_noaudio.path, width=320, height=240, fps=24, seconds=2.0, audio=False)
    assert clip_noaudio.path.stat().st_mtime_ns == before


@pytest.mark.slow
def test_changed_parameters_regenerate(tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    synth.make_clip(out, width=160, height=120, fps=10, seconds=1.0, audio=False)
    synth.make_clip(out, width=160, height=120, fps=10, seconds=0.5, audio=False)
    with av.open(str(out)) as c:
        assert c.streams.video[0].frames == 5
    assert [p.name for p in tmp_path.iterdir()] == ["x.mp4"]


def test_standard_set_is_described() -> None:
    assert {"bars_640x360_25.mp4", "bars_1280x720_30.mp4", "bars_320x240_24_noaudio.mp4"} <= set(
        synth.STANDARD_CLIPS
    )
    assert synth.STANDARD_CLIPS["bars_320x240_24_noaudio.mp4"]["audio"] is False
