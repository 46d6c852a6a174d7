"""Animated GIFs cut from a video (VIS ``POST /asset/gif/``).

One ffmpeg run with a two-pass palette inside a single filtergraph::

    seek ─ setpts=(PTS-STARTPTS)/speed ─ fps ─ scale ─ [reverse] ─ split ─┬─ palettegen ─┐
                                                                        └──────────────┴─ paletteuse ─ GIF

Choices where the VIS documentation is silent:

* Size: neither ``width`` nor ``height`` → 480 px high with the source's aspect, but never taller
  than the source (a GIF is not improved by upscaling); one given → the other follows the aspect,
  rounded to an even number; both given → exactly that size (the caller asked for it, even if it
  upscales or distorts).
* ``playback_speed`` 0 → a single-frame GIF of the frame at ``start``, shown for ``end - start``.
  Otherwise the clip is retimed by 1/speed, so it has about ``(end - start) × fps / speed`` frames.
* ``repeats``: -1 → play once, 0 → loop forever, n → n repetitions; this is the GIF muxer's own
  ``-loop`` convention, so it is passed through unchanged.
* ``end`` beyond the video is clipped to its end; ``start`` at or beyond it is an error.
* The first frame is the frame covering ``start`` (same rule as getframe).
"""

from __future__ import annotations

import io
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ffmpeg as ffmpeg_python
from PIL import Image

from lynkflow.media.errors import FrameOutOfRange, MediaError
from lynkflow.media.ffmpeg import run_ffmpeg
from lynkflow.media.frames import frame_at, frame_start
from lynkflow.media.probe import Probe, probe
from lynkflow.storage.workfiles import tmp_beside

DEFAULT_HEIGHT = 480
MAX_FPS = 50  # GIF frame delays are in 1/100 s; faster rates cannot be represented
MAX_FRAMES = 3000  # keeps a slow-motion request from producing a gigantic file
MAX_DIMENSION = 4096


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def gif_size(
    source_width: int, source_height: int, width: float | None, height: float | None
) -> tuple[int, int]:
    """Output size of a GIF following the rules in the module docstring."""
    if width is not None and width <= 0:
        width = None  # VIS clients send 0/null for "not set"
    if height is not None and height <= 0:
        height = None
    aspect = source_width / source_height
    if width is None and height is None:
        h = min(DEFAULT_HEIGHT, source_height)
        w_out, h_out = _even(h * aspect), _even(h)
    elif width is None:
        assert height is not None
        w_out, h_out = _even(height * aspect), int(round(height))
    elif height is None:
        w_out, h_out = int(round(width)), _even(width / aspect)
    else:
        w_out, h_out = int(round(width)), int(round(height))
    if w_out > MAX_DIMENSION or h_out > MAX_DIMENSION:
        raise ValueError(f"GIF size {w_out}x{h_out} is over the {MAX_DIMENSION} px limit")
    return max(1, w_out), max(1, h_out)


def gif_stats(path: Path) -> tuple[int, float, int, int]:
    """(frames, total duration in seconds, width, height) of a GIF file.

    Walks the GIF block structure without decompressing any image data: Pillow would decode every
    frame to count them, which costs more than a short GIF took to make.
    """
    data = Path(path).read_bytes()
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise MediaError("ffmpeg did not produce a GIF file")
    width = int.from_bytes(data[6:8], "little")
    height = int.from_bytes(data[8:10], "little")
    pos = 13
    if data[10] & 0x80:  # global colour table
        pos += 3 * (2 ** ((data[10] & 0x07) + 1))

    def skip_sub_blocks(p: int) -> int:
        while p < len(data) and data[p] != 0:
            p += data[p] + 1
        return p + 1

    frames = 0
    delay_cs = 0
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension
            if data[pos + 1] == 0xF9 and pos + 6 < len(data):  # graphic control: frame delay
                delay_cs += int.from_bytes(data[pos + 4:pos + 6], "little")
            pos = skip_sub_blocks(pos + 2)
        elif block == 0x2C:  # image descriptor
            frames += 1
            flags = data[pos + 9]
            pos += 10
            if flags & 0x80:  # local colour table
                pos += 3 * (2 ** ((flags & 0x07) + 1))
            pos = skip_sub_blocks(pos + 1)  # +1: LZW minimum code size
        else:
            raise MediaError(f"the GIF is malformed at byte {pos}")
    return frames, delay_cs / 100.0, width, height


def make_gif(
    source: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    start: float,
    end: float,
    fps: int = 12,
    width: float | None = None,
    height: float | None = None,
    playback_speed: float = 1.0,
    repeats: int = 0,
    reverse: bool = False,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    info: Probe | None = None,
) -> dict[str, Any]:
    """Write an animated GIF of ``source`` from ``start`` to ``end`` seconds; returns its properties.
    ``info`` is the source's probe when the caller has it already.

    Returns ``{"frames", "width", "height", "duration"}`` (duration in seconds, as played once).
    """
    source = Path(source)
    out_path = Path(out_path)
    if not 1 <= fps <= MAX_FPS:
        raise ValueError(f"fps must be between 1 and {MAX_FPS}")
    if playback_speed < 0:
        raise ValueError("playback speed cannot be negative")
    if start < 0 or end <= start:
        raise ValueError("the GIF needs 0 <= start < end")
    if repeats < -1:
        raise ValueError("repeats must be -1 (play once), 0 (forever) or a positive count")
    if info is None:
        info = probe(source)
    if start >= info.duration:
        raise FrameOutOfRange(
            f"the GIF starts at {start:.3f} s but the video is only {info.duration:.3f} s long"
        )
    end = min(end, info.duration)
    w, h = gif_size(info.width, info.height, width, height)
    tmp = tmp_beside(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)

    try:
        if playback_speed == 0:
            _still_gif(source, tmp, start=start, seconds=end - start, size=(w, h), repeats=repeats)
            if on_progress is not None:
                on_progress(100.0)
        else:
            out_seconds = (end - start) / playback_speed
            if out_seconds * fps > MAX_FRAMES:
                raise MediaError(
                    f"the GIF would have {out_seconds * fps:.0f} frames (limit {MAX_FRAMES}); "
                    "shorten the clip, lower fps or raise playbackSpeed"
                )
            n_frames = max(1, math.ceil(out_seconds * fps - 1e-6))
            ss = frame_start(start, info.fps) if info.fps > 0 else start
            # Seek a hair before the frame start: ffmpeg keeps frames with pts >= ss.
            stream = ffmpeg_python.input(str(source), ss=f"{max(0.0, ss - 0.001):.6f}", t=f"{end - ss:.6f}")
            video = (
                stream.video.filter("setpts", f"(PTS-STARTPTS)/{playback_speed!r}")
                .filter("fps", fps=fps, round="up")  # frame k = the frame covering k/fps
                # fps pads a tick at the very end; keep exactly the sample times k/fps < out_seconds.
                .filter("trim", end_frame=n_frames)
                .filter("scale", w, h, flags="lanczos")
                .filter("setsar", 1)
            )
            if reverse:
                video = video.filter("reverse")
            branches = video.split()
            palette = branches[0].filter("palettegen", stats_mode="full")
            graph = ffmpeg_python.filter([branches[1], palette], "paletteuse", dither="sierra2_4a")
            args = graph.output(str(tmp), f="gif", loop=repeats).get_args()
            run_ffmpeg(args, duration=out_seconds, on_progress=on_progress, cancel=cancel)
        frames, duration, out_w, out_h = gif_stats(tmp)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"frames": frames, "width": out_w, "height": out_h, "duration": duration}


def _still_gif(
    source: Path, tmp: Path, *, start: float, seconds: float, size: tuple[int, int], repeats: int
) -> None:
    """A one-frame GIF of the frame covering ``start``, displayed for ``seconds``."""
    png = frame_at(source, start, fmt="png")
    with Image.open(io.BytesIO(png)) as img:
        rgb = img.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    still = rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    # GIF delays are 16-bit centiseconds.
    duration_ms = int(min(max(seconds, 0.01), 655.35) * 1000)
    params: dict[str, Any] = {"duration": duration_ms}
    if repeats >= 0:
        params["loop"] = repeats  # Pillow omits the loop block when "loop" is absent: plays once
    still.save(tmp, "GIF", **params)
