"""Ingest: turn a source video into an Uplynk-style asset (rays, HLS slices, thumbs, poster, MP4).

Everything comes from ONE ffmpeg run that decodes the source once::

    source ─ split ─┬─ scale ─ libx264 ─┐ tee ─┬─ HLS  rayN/index.m3u8 + rayN/00000000.ts …
                    │   (one branch per  │      └─ MP4  rayN/video.mp4  (faststart)
                    │    ray, + AAC)     ┘
                    ├─ select(t ≥ k·segment) ─ scale ─ JPEG  thumbs/00000000.jpg …
                    └─ select(t ≥ poster time) ─ JPEG  poster.jpg

Layout of ``out_dir`` (all paths in :class:`IngestResult` are relative to it)::

    master.m3u8                 variant playlist (BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS)
    ray0/index.m3u8 …           per-ray VOD playlist and MPEG-TS slices; ray0 is the HIGHEST ray
    ray0/video.mp4 …            per-ray progressive MP4, the same encode as the slices
    thumbs/00000000.jpg …       one 320 px wide JPEG per slice, the frame at the slice's start
    poster.jpg                  full-size JPEG of the frame at 10 % of the duration (at most 10 s in)
    download.mp4                the highest ray's MP4 (a hard link when the filesystem allows)

Frames for getframe/getthumbs: each ray's ``video.mp4`` is an ordinary progressive MP4 that PyAV
seeks in directly (``IngestResult.frame_source(highest=True)`` → ``ray0/video.mp4``, the lowest ray
for thumbnails). The encodes carry a keyframe every second (a divisor of the slice length, so slices
still start on keyframes): a frame request then decodes at most one second of video.

Atomicity: everything is written into a hidden temp directory next to ``out_dir`` and renamed into
place at the end; a failure or cancel removes the temp directory and leaves ``out_dir`` untouched.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lynkflow.media.errors import MediaCancelled, MediaError
from lynkflow.media.ffmpeg import run_ffmpeg
from lynkflow.media.probe import Probe, probe
from lynkflow.storage.workfiles import work_dir_beside

#: Rendition heights, highest first.
LADDER = [1080, 720, 540, 360, 234]
#: Nominal video bitrates (bits/s) per ladder height; other heights scale by pixel count.
_VIDEO_BITRATE = {1080: 5_000_000, 720: 3_000_000, 540: 1_800_000, 360: 900_000, 234: 400_000}
AUDIO_BITRATE = 128_000
THUMB_WIDTH = 320
# Keyframe spacing target for fast frame extraction (see module docstring).
_KEYFRAME_TARGET_SECONDS = 1.0


def ladder(source_height: int) -> list[int]:
    """Rendition heights for a source: ladder rungs not above it; the source height if below all."""
    heights = [h for h in LADDER if h <= source_height]
    return heights or [max(2, source_height - source_height % 2)]


def _pick_rays(heights: list[int], max_rays: int | None) -> list[int]:
    """Keep the highest and the lowest ray (getframe and getthumbs need both), then fill from the top."""
    if max_rays is None or max_rays >= len(heights):
        return heights
    if max_rays < 1:
        raise ValueError("max_rays must be at least 1")
    if max_rays == 1:
        return heights[:1]
    return heights[: max_rays - 1] + heights[-1:]


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def _video_bitrate(width: int, height: int) -> int:
    if height in _VIDEO_BITRATE:
        return _VIDEO_BITRATE[height]
    # About 0.1 bit per pixel per frame at 30 fps, like the ladder rungs.
    return max(150_000, int(width * height * 30 * 0.1) // 1000 * 1000)


@dataclass
class IngestResult:
    """What ingest produced; every path is relative to the output directory."""

    rays: list[dict[str, Any]]
    slices: int
    duration: float
    thumbs: list[str]
    poster: str
    mp4: str
    master_playlist: str
    probe: Probe
    segment_seconds: float = 4.0
    extra: dict[str, Any] = field(default_factory=dict)

    def frame_source(self, *, highest: bool = True) -> str:
        """The per-ray MP4 to take frames from: highest ray (getframe) or lowest ray (getthumbs)."""
        ray = self.rays[0] if highest else self.rays[-1]
        return ray["mp4"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rays": [dict(r) for r in self.rays],
            "slices": self.slices,
            "duration": self.duration,
            "thumbs": list(self.thumbs),
            "poster": self.poster,
            "mp4": self.mp4,
            "master_playlist": self.master_playlist,
            "probe": self.probe.to_dict(),
            "segment_seconds": self.segment_seconds,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IngestResult:
        return cls(
            rays=[dict(r) for r in data["rays"]],
            slices=int(data["slices"]),
            duration=float(data["duration"]),
            thumbs=list(data["thumbs"]),
            poster=data["poster"],
            mp4=data["mp4"],
            master_playlist=data["master_playlist"],
            probe=Probe.from_dict(data["probe"]),
            segment_seconds=float(data.get("segment_seconds", 4.0)),
            extra=dict(data.get("extra", {})),
        )


def _keyframe_interval(segment_seconds: float) -> float:
    """The largest interval ≤ ~1 s that divides the slice length evenly."""
    parts = max(1, math.ceil(segment_seconds / _KEYFRAME_TARGET_SECONDS - 1e-9))
    return segment_seconds / parts


def build_args(
    source: Path,
    info: Probe,
    rays: list[tuple[int, int, int]],
    *,
    segment_seconds: float,
    poster_time: float,
    stills: bool = True,
) -> list[str]:
    """The ffmpeg arguments for one ingest run; output paths are relative to the run's cwd.

    ``stills=False`` leaves out the thumbs and poster outputs (the benchmark's one-run-per-ray baseline).
    """
    kf = _keyframe_interval(segment_seconds)
    fps = info.fps if info.fps > 0 else 30.0
    gop = max(1, round(2 * kf * fps))  # x264's own keyint stays out of the way of the forced ones
    n = len(rays)
    top_w, top_h = rays[0][0], rays[0][1]
    labels = [f"[v{i}]" for i in range(n)]
    stills_labels = "[th][po]" if stills else ""
    graph = [f"[0:v:0]split={n + (2 if stills else 0)}{''.join(labels)}{stills_labels}"]
    for i, (w, h, _) in enumerate(rays):
        graph.append(f"[v{i}]scale={w}:{h}:flags=bicubic,setsar=1,format=yuv420p[o{i}]")
    if stills:
        thumb_w = min(THUMB_WIDTH, top_w)
        graph.append(f"[th]select='gte(t,selected_n*{segment_seconds:g})',scale={thumb_w}:-2,setsar=1[tho]")
        graph.append(f"[po]select='gte(t,{poster_time:.6f})',scale={top_w}:{top_h},setsar=1[poo]")

    args = ["-i", str(source), "-filter_complex", ";".join(graph)]
    for i, (_, _, vbr) in enumerate(rays):
        args += ["-map", f"[o{i}]"]
        if info.has_audio:
            args += ["-map", "0:a:0"]
        args += [
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
            "-b:v", str(vbr), "-maxrate", str(int(vbr * 1.5)), "-bufsize", str(vbr * 2),
            "-g", str(gop), "-keyint_min", "1", "-sc_threshold", "0",
            "-force_key_frames", f"expr:gte(t,n_forced*{kf:.6f})",
            # The tee muxer cannot tell encoders the MP4 wants global headers, so ask explicitly.
            "-flags:v", "+global_header",
        ]
        if info.has_audio:
            args += ["-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-ac", "2", "-flags:a", "+global_header"]
        hls = (
            f"[f=hls:hls_time={segment_seconds:g}:hls_playlist_type=vod:hls_list_size=0"
            f":hls_flags=independent_segments:hls_segment_filename=ray{i}/%08d.ts]ray{i}/index.m3u8"
        )
        mp4 = f"[f=mp4:movflags=+faststart]ray{i}/video.mp4"
        args += ["-f", "tee", f"{hls}|{mp4}"]
    if stills:
        args += [
            "-map", "[tho]", "-fps_mode", "vfr", "-c:v", "mjpeg", "-q:v", "3",
            "-f", "image2", "-start_number", "0", "thumbs/%08d.jpg",
            "-map", "[poo]", "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "2",
            "-f", "image2", "-update", "1", "poster.jpg",
        ]
    return args


_EXTINF = re.compile(r"^#EXTINF:([0-9.]+)", re.MULTILINE)


def playlist_segments(playlist: Path) -> list[tuple[str, float]]:
    """(segment URI, duration) pairs of a media playlist."""
    out: list[tuple[str, float]] = []
    pending: float | None = None
    for line in playlist.read_text().splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            pending = float(line[len("#EXTINF:"):].split(",", 1)[0])
        elif line and not line.startswith("#") and pending is not None:
            out.append((line, pending))
            pending = None
    return out


def _codecs_string(mp4: Path, has_audio: bool) -> str | None:
    """RFC 6381 CODECS for the master playlist, from the avcC profile/level bytes."""
    import av

    try:
        with av.open(str(mp4)) as c:
            extradata = c.streams.video[0].codec_context.extradata or b""
    except Exception:  # noqa: BLE001 - CODECS is optional in a master playlist
        return None
    if len(extradata) < 4 or extradata[0] != 1:
        return None
    codecs = f"avc1.{extradata[1]:02x}{extradata[2]:02x}{extradata[3]:02x}"
    return f"{codecs},mp4a.40.2" if has_audio else codecs


def _write_master(work: Path, rays: list[dict[str, Any]], has_audio: bool) -> None:
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for ray in rays:
        segments = playlist_segments(work / ray["playlist"])
        base = (work / ray["playlist"]).parent
        total_bits = 0
        peak = 0.0
        total_dur = 0.0
        for uri, dur in segments:
            bits = (base / uri).stat().st_size * 8
            total_bits += bits
            total_dur += dur
            if dur > 0:
                peak = max(peak, bits / dur)
        average = int(total_bits / total_dur) if total_dur > 0 else ray["bitrate"]
        ray["measured_bitrate"] = average
        attrs = [f"BANDWIDTH={int(peak) or average}", f"AVERAGE-BANDWIDTH={average}",
                 f"RESOLUTION={ray['width']}x{ray['height']}"]
        codecs = _codecs_string(work / ray["mp4"], has_audio)
        if codecs:
            attrs.append(f'CODECS="{codecs}"')
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(ray["playlist"])
    (work / "master.m3u8").write_text("\n".join(lines) + "\n")


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def ingest(
    source: Path,
    out_dir: Path,
    *,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    segment_seconds: float = 4.0,
    max_rays: int | None = None,
    info: Probe | None = None,
) -> IngestResult:
    """Make every rendition, HLS slices, thumbs, poster and download MP4 of ``source`` in ``out_dir``.
    ``info`` is the source's probe when the caller has it already.

    ``max_rays`` limits the ladder, always keeping its highest and lowest rung. Raises BadMedia for
    unusable input, MediaCancelled on cancel, MediaError when ffmpeg fails; ``out_dir`` is then untouched.
    """
    source = Path(source).resolve()
    out_dir = Path(out_dir).resolve()
    if segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    if info is None:
        info = probe(source)
    heights = _pick_rays(ladder(info.height), max_rays)
    rays_spec = []
    for h in heights:
        w = _even(info.width * h / info.height)
        rays_spec.append((w, h, _video_bitrate(w, h)))
    poster_time = min(10.0, info.duration * 0.1)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = work_dir_beside(out_dir, "ingest")
    try:
        work.chmod(0o755)  # mkdtemp makes it private; the finished asset is served to others
        for i in range(len(rays_spec)):
            (work / f"ray{i}").mkdir()
        (work / "thumbs").mkdir()
        args = build_args(source, info, rays_spec, segment_seconds=segment_seconds, poster_time=poster_time)

        def progress(pct: float) -> None:
            if on_progress is not None:
                on_progress(min(99.0, pct * 0.99))  # the last percent is the bookkeeping below

        run_ffmpeg(args, duration=info.duration, on_progress=progress, cancel=cancel, cwd=work)

        rays: list[dict[str, Any]] = []
        for i, (w, h, vbr) in enumerate(rays_spec):
            rays.append({
                "height": h, "width": w, "bitrate": vbr + (AUDIO_BITRATE if info.has_audio else 0),
                "playlist": f"ray{i}/index.m3u8", "mp4": f"ray{i}/video.mp4",
            })
        counts = {len(playlist_segments(work / r["playlist"])) for r in rays}
        if len(counts) != 1 or 0 in counts:
            raise MediaError(f"ingest produced inconsistent HLS renditions (segment counts {sorted(counts)})")
        slices = counts.pop()
        thumbs = sorted(p.name for p in (work / "thumbs").glob("*.jpg"))
        # Thumbs are cut at the same instants as the slices; keep exactly one per slice regardless.
        for extra in thumbs[slices:]:
            (work / "thumbs" / extra).unlink()
        thumbs = thumbs[:slices]
        if not (work / "poster.jpg").exists():
            raise MediaError("ingest did not produce a poster image")
        _write_master(work, rays, info.has_audio)
        _link_or_copy(work / rays[0]["mp4"], work / "download.mp4")

        if cancel is not None and cancel.is_set():
            raise MediaCancelled("cancelled")
        _replace_dir(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise

    if on_progress is not None:
        on_progress(100.0)
    return IngestResult(
        rays=rays,
        slices=slices,
        duration=info.duration,
        thumbs=[f"thumbs/{t}" for t in thumbs],
        poster="poster.jpg",
        mp4="download.mp4",
        master_playlist="master.m3u8",
        probe=info,
        segment_seconds=segment_seconds,
    )


def _replace_dir(work: Path, out_dir: Path) -> None:
    """Move ``work`` to ``out_dir``, replacing an existing directory there."""
    if out_dir.exists():
        trash = work_dir_beside(out_dir, "old")
        os.replace(out_dir, trash / "old")
        try:
            os.replace(work, out_dir)
        except OSError:
            os.replace(trash / "old", out_dir)  # put the previous asset back
            raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(work, out_dir)
