"""frames: the frame covering t, proven by the frame number stamped in the picture."""

from __future__ import annotations

import io
import threading
import time

import pytest
from PIL import Image

from lynkflow.fixtures.framecode import read_frame_number_bytes
from lynkflow.media import frames
from lynkflow.media.errors import BadMedia, FrameOutOfRange


def _times(clip) -> list[tuple[float, int]]:
    n, fps = clip.frames, clip.fps
    last = n - 1
    return [
        (0.0, 0),
        (0.5 / fps, 0),  # inside frame 0's span
        (1 / fps, 1),  # exactly on frame 1's start
        (clip.duration / 2, n // 2),  # middle
        (1.999, int(1.999 * fps)),  # just before the 2 s keyframe: a full GOP of decoding
        (2.0, int(2 * fps)),  # on a keyframe
        (last / fps, last),  # last frame's start
        (n / fps - 0.001, last),  # inside the last frame's span
    ]


def test_frame_at_is_frame_accurate(any_clip) -> None:
    for t, expected in _times(any_clip):
        frames.clear_caches()  # cold decode each time, not a cached neighbour
        png = frames.frame_at(any_clip.path, t)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert read_frame_number_bytes(png) == expected, f"t={t}"


def test_frame_at_in_any_order_with_pooled_containers(any_clip) -> None:
    # Reusing pooled decoders across seeks backwards and forwards must not leak frames between requests.
    order = [2.5, 0.1, 1.0, 2.9, 0.0, 1.5, 0.04]
    for t in order:
        frames._cache.clear()
        assert read_frame_number_bytes(frames.frame_at(any_clip.path, t)) == int(t * any_clip.fps + 1e-6)


def test_past_the_end_raises_with_valid_range(any_clip) -> None:
    end = any_clip.frames / any_clip.fps
    for t in (end, end + 0.001, end + 60):
        with pytest.raises(FrameOutOfRange) as exc:
            frames.frame_at(any_clip.path, t)
        assert f"0.000 s up to {end:.3f} s" in str(exc.value)
    with pytest.raises(FrameOutOfRange):
        frames.frame_at(any_clip.path, -0.5)


def test_jpeg_and_width(clip25) -> None:
    data = frames.frame_at(clip25.path, 1.0, fmt="jpeg", width=234)
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        assert img.size == (234, 132)
    assert read_frame_number_bytes(data) == 25


def test_frames_between_count_and_order(any_clip) -> None:
    fps = any_clip.fps
    got = [read_frame_number_bytes(b) for b in frames.frames_between(any_clip.path, 1.0, 2.0)]
    assert got == list(range(int(fps), int(2 * fps)))
    # A window that starts inside one frame's span and ends inside the next one's: both frames.
    got = [read_frame_number_bytes(b) for b in frames.frames_between(any_clip.path, 0.5 / fps, 1.5 / fps)]
    assert got == [0, 1]


def test_frames_between_clips_at_the_end(clip25) -> None:
    got = [read_frame_number_bytes(b) for b in frames.frames_between(clip25.path, 3.9, 5.0)]
    assert got == [97, 98, 99]
    with pytest.raises(FrameOutOfRange):
        frames.frames_between(clip25.path, 4.0, 5.0)
    with pytest.raises(ValueError):
        frames.frames_between(clip25.path, 1.0, 1.0)


def test_repeated_request_is_served_from_cache_fast(clip30) -> None:
    first = frames.frame_at(clip30.path, 1.7)
    t0 = time.perf_counter()
    again = frames.frame_at(clip30.path, 1.7)
    elapsed = time.perf_counter() - t0
    assert again == first
    assert elapsed < 0.005
    # Another time inside the same frame's span is the same cached frame.
    assert frames.frame_at(clip30.path, 1.7 + 0.2 / 30) == first
    # frames_between reuses cached frames too.
    frames.frames_between(clip30.path, 1.0, 1.5)
    t0 = time.perf_counter()
    frames.frames_between(clip30.path, 1.0, 1.5)
    assert time.perf_counter() - t0 < 0.005


def test_cache_is_invalidated_when_the_file_changes(tmp_path, clip25, clip30) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(clip25.path.read_bytes())
    assert read_frame_number_bytes(frames.frame_at(path, 1.0)) == 25
    path.write_bytes(clip30.path.read_bytes())
    assert read_frame_number_bytes(frames.frame_at(path, 1.0)) == 30


def test_concurrent_requests(clip25) -> None:
    results: dict[float, int] = {}
    errors: list[BaseException] = []

    def worker(t: float) -> None:
        try:
            results[t] = read_frame_number_bytes(frames.frame_at(clip25.path, t, fmt="jpeg"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    times = [i * 0.3 for i in range(13)]
    threads = [threading.Thread(target=worker, args=(t,)) for t in times]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert results == {t: int(t * 25 + 1e-6) for t in times}


def test_bad_media(bad_files, audio_only) -> None:
    with pytest.raises(BadMedia, match="empty"):
        frames.frame_at(bad_files["empty"], 0)
    with pytest.raises(BadMedia, match="not a media file"):
        frames.frame_at(bad_files["random"], 0)
    with pytest.raises(BadMedia, match="audio only"):
        frames.frame_at(audio_only, 0)
