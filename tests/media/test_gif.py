"""make_gif: frame count, timing, size rules, still frame, reverse and loop count."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from lynkflow.fixtures.framecode import read_frame_number
from lynkflow.media.errors import FrameOutOfRange, MediaCancelled
from lynkflow.media.gif import gif_size, make_gif


def _gif_frames(path: Path) -> tuple[list[int], object]:
    with Image.open(path) as img:
        numbers = []
        for i in range(img.n_frames):
            img.seek(i)
            numbers.append(read_frame_number(img.convert("RGB")))
        return numbers, img.info.get("loop")


def _expected(start: float, k: int, fps: int, speed: float, src_fps: float) -> int:
    # GIF frame k shows the source frame covering start + k * speed / fps.
    return int((start + k * speed / fps) * src_fps + 1e-6)


def test_size_rules() -> None:
    assert gif_size(1920, 1080, None, None) == (854, 480)  # default 480 high, aspect kept, even
    assert gif_size(640, 360, None, None) == (640, 360)  # never upscaled to 480
    assert gif_size(1920, 1080, 320, None) == (320, 180)
    assert gif_size(1920, 1080, None, 101) == (180, 101)  # the derived side is even
    assert gif_size(1920, 1080, 300.0, 300.0) == (300, 300)  # both given: exactly that
    assert gif_size(1920, 1080, 0, 0) == (854, 480)  # 0 means "not set"
    with pytest.raises(ValueError):
        gif_size(1920, 1080, 10000, None)


@pytest.mark.slow
@pytest.mark.parametrize(("fps", "speed"), [(12, 1.0), (10, 2.0), (10, 0.5)])
def test_frames_follow_fps_and_speed(clip25, tmp_path: Path, fps: int, speed: float) -> None:
    out = tmp_path / "a.gif"
    start, end = 1.0, 2.5
    info = make_gif(clip25.path, out, start=start, end=end, fps=fps, playback_speed=speed)
    expected_frames = round((end - start) * fps / speed)
    assert info["frames"] == expected_frames
    assert info["duration"] == pytest.approx((end - start) / speed, abs=1 / fps + 0.011)
    numbers, loop = _gif_frames(out)
    assert numbers == [_expected(start, k, fps, speed, 25) for k in range(expected_frames)]
    assert loop == 0  # default repeats=0: loop forever
    assert (info["width"], info["height"]) == (640, 360)


@pytest.mark.slow
def test_reverse_and_explicit_width(clip30, tmp_path: Path) -> None:
    out = tmp_path / "r.gif"
    info = make_gif(clip30.path, out, start=0.5, end=1.5, fps=6, width=240, reverse=True)
    assert (info["width"], info["height"]) == (240, 136)
    numbers, _ = _gif_frames(out)
    assert numbers == [_expected(0.5, k, 6, 1.0, 30) for k in range(6)][::-1]


@pytest.mark.slow
@pytest.mark.parametrize(("repeats", "loop"), [(-1, None), (0, 0), (3, 3)])
def test_repeats(clip_noaudio, tmp_path: Path, repeats: int, loop: object) -> None:
    out = tmp_path / "l.gif"
    make_gif(clip_noaudio.path, out, start=0, end=0.5, fps=4, repeats=repeats)
    assert _gif_frames(out)[1] == loop


def test_still_frame(clip25, tmp_path: Path) -> None:
    out = tmp_path / "s.gif"
    info = make_gif(clip25.path, out, start=2.53, end=3.0, playback_speed=0, height=180)
    assert info == {"frames": 1, "width": 320, "height": 180, "duration": pytest.approx(0.47, abs=0.01)}
    assert _gif_frames(out)[0] == [63]


def test_end_is_clipped_and_start_checked(clip25, tmp_path: Path) -> None:
    info = make_gif(clip25.path, tmp_path / "e.gif", start=3.5, end=10, fps=10)
    assert info["frames"] == 5
    with pytest.raises(FrameOutOfRange, match="only 4.000 s long"):
        make_gif(clip25.path, tmp_path / "x.gif", start=5, end=6)
    with pytest.raises(ValueError):
        make_gif(clip25.path, tmp_path / "x.gif", start=2, end=1)
    assert not (tmp_path / "x.gif").exists()


@pytest.mark.slow
def test_cancel_leaves_no_file(clip25, tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(MediaCancelled):
        make_gif(clip25.path, tmp_path / "c.gif", start=0, end=4, fps=25, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_gif_stats_matches_pillow(tmp_path: Path) -> None:
    from lynkflow.media.gif import gif_stats

    frames = [Image.new("RGB", (40, 30), (i * 40, 0, 0)) for i in range(5)]
    path = tmp_path / "p.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[100, 200, 50, 50, 100], loop=0)
    assert gif_stats(path) == (5, 0.5, 40, 30)
