"""MP4 clips cut from a video (VIS ``POST /asset/video/``, Uplynk clip/export jobs).

Two modes:

* ``frame_accurate=True`` (default): re-encode (libx264 + AAC). ffmpeg's accurate input seek keeps
  frames with ``pts >= -ss``, so ``-ss`` is placed just before the start of the frame covering
  ``start``: the clip's first frame is the frame at ``start`` (same rule as getframe) and its length
  is ``end - start`` to within one frame.
* ``frame_accurate=False``: stream copy, no re-encode. A copied clip can only begin on a keyframe, so
  it starts at the keyframe at or before ``start`` (timestamps shifted to begin at zero) and runs to
  about ``end``; it is fast and lossless but longer than asked.

``copy_ts`` keeps the source timestamps (the clip's ``start_time`` is about ``start``, or the
keyframe time when copying); otherwise the clip starts at 0.

Tracks: ``top_track_only`` ("mezzanine: only the highest") keeps the highest video track (most
pixels, then bitrate) and the highest audio track (most channels, then sample rate, then bitrate),
whatever their default flags say. Otherwise every video and audio track is kept. Subtitle, data
and attachment tracks are always dropped, since MP4 cannot carry most of them and a clip does not
need them (a deliberate narrowing of ``-map 0``).

The MP4 is written with ``+faststart`` into a temp file next to ``out_path`` and renamed into place.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lynkflow.media.errors import FrameOutOfRange
from lynkflow.media.ffmpeg import run_ffmpeg
from lynkflow.media.frames import frame_start
from lynkflow.media.probe import Probe, probe
from lynkflow.storage.workfiles import tmp_beside


def best_tracks(source: Path) -> list[int]:
    """Stream indices of the highest video track and (if any) the highest audio track."""
    import av

    with av.open(str(source)) as c:
        video = [s for s in c.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        picked = [max(video, key=lambda s: (s.codec_context.width * s.codec_context.height,
                                            s.codec_context.bit_rate or 0)).index] if video else []
        if c.streams.audio:
            picked.append(max(c.streams.audio, key=lambda s: (s.codec_context.channels,
                                                             s.codec_context.sample_rate or 0,
                                                             s.codec_context.bit_rate or 0)).index)
    return picked


def build_args(
    source: Path,
    tmp: Path,
    *,
    start: float,
    end: float,
    fps: float,
    frame_accurate: bool,
    copy_ts: bool,
    top_track_only: bool,
    tracks: list[int] | None = None,
) -> list[str]:
    """The ffmpeg arguments for one clip."""
    ss = start
    if frame_accurate:
        ss = max(0.0, (frame_start(start, fps) if fps > 0 else start) - 0.001)
    args = ["-ss", f"{ss:.6f}"]
    if copy_ts:
        args.append("-copyts")
    args += ["-i", str(source)]
    # With -copyts the output keeps source time, so the end is absolute (-to); otherwise a length.
    args += ["-to", f"{end:.6f}"] if copy_ts else ["-t", f"{end - start:.6f}"]
    if top_track_only:
        for index in tracks if tracks is not None else best_tracks(source):
            args += ["-map", f"0:{index}"]
    else:
        args += ["-map", "0:V", "-map", "0:a?"]  # every video (not cover art) and audio track
    if frame_accurate:
        args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-b:a", "128k"]
    else:
        args += ["-c", "copy"]
        if not copy_ts:
            args += ["-avoid_negative_ts", "make_zero"]
    args += ["-movflags", "+faststart", "-f", "mp4", str(tmp)]
    return args


def make_clip(
    source: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    start: float,
    end: float,
    frame_accurate: bool = True,
    copy_ts: bool = False,
    top_track_only: bool = False,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    info: Probe | None = None,
) -> dict[str, Any]:
    """Write an MP4 clip of ``source`` from ``start`` to ``end`` seconds. ``info`` is the source's
    probe when the caller has it already (each probe opens and reads the file).

    Returns ``{"duration", "width", "height", "start_time"}`` measured on the written file.
    """
    source = Path(source)
    out_path = Path(out_path)
    if start < 0 or end <= start:
        raise ValueError("the clip needs 0 <= start < end")
    if info is None:
        info = probe(source)
    if start >= info.duration:
        raise FrameOutOfRange(
            f"the clip starts at {start:.3f} s but the video is only {info.duration:.3f} s long"
        )
    end = min(end, info.duration)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_beside(out_path)
    args = build_args(
        source, tmp, start=start, end=end, fps=info.fps,
        frame_accurate=frame_accurate, copy_ts=copy_ts, top_track_only=top_track_only,
    )
    try:
        run_ffmpeg(args, duration=end - start, on_progress=on_progress, cancel=cancel)
        result = probe(tmp)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return {
        "duration": result.duration,
        "width": result.width,
        "height": result.height,
        "start_time": result.start_time,
    }


def remux_mp4(
    source: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    duration: float,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Copy every track of an MP4 into a new MP4 with its index up front (``+faststart``), no
    re-encode (the Uplynk export). Written to a temp file next to ``out_path``, renamed into place."""
    out_path = Path(out_path)
    tmp = tmp_beside(out_path)
    args = ["-i", str(source), "-map", "0", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    try:
        run_ffmpeg(args, duration=duration, on_progress=on_progress, cancel=cancel)
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
