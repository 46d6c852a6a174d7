"""Probing media files with PyAV: what is in a file, and whether it is usable at all.

:func:`probe` is the gate every upload and ingest passes through. It either returns a
:class:`Probe` or raises :class:`BadMedia` with a reason a person can act on: the file is empty,
is not a media file, has no video (audio only), is truncated, or is larger than we accept.

Truncation is detected two ways: MP4/MOV files are checked box by box against the file size (a
cut-off download keeps its header but loses the end of ``mdat``), and for every format the first
video frame must decode.
"""

from __future__ import annotations

import os
import struct
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lynkflow.media.errors import BadMedia

#: Largest accepted picture; beyond this decoding and scaling costs are unreasonable for an emulator.
MAX_WIDTH = 8192
MAX_HEIGHT = 8192


@dataclass(frozen=True)
class Probe:
    """What we need to know about a media file. Times are in seconds."""

    duration: float
    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None
    has_audio: bool
    frame_count: int
    start_time: float
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Probe:
        names = cls.__dataclass_fields__.keys()
        return cls(**{k: data[k] for k in names})


def _check_mp4_boxes(path: Path, size: int) -> None:
    """Raise BadMedia if an ISO-BMFF (MP4/MOV) file's top-level boxes run past the end of the file."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 8 or head[4:8] not in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
            return  # not ISO-BMFF; other formats rely on the decode check
        offset = 0
        seen_moov = False
        while offset < size:
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                break
            box_size, box_type = struct.unpack(">I4s", header[:8])
            if box_size == 1 and len(header) >= 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                box_size = size - offset  # box runs to the end of the file by definition
            if box_size < 8:
                raise BadMedia(f"the file is damaged: invalid MP4 box at byte {offset}")
            if box_type == b"moov":
                seen_moov = True
            if offset + box_size > size:
                raise BadMedia(
                    f"the file is truncated: it ends at byte {size} but its '{box_type.decode('latin-1')}' "
                    f"section needs {offset + box_size} bytes; upload the complete file"
                )
            offset += box_size
        if not seen_moov:
            raise BadMedia("the file is truncated or incomplete: its MP4 index (moov box) is missing")


def probe(path: str | os.PathLike[str]) -> Probe:
    """Describe the media file at ``path``; raise :class:`BadMedia` when it is not usable video."""
    import av

    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise BadMedia(f"file not found: {path.name}") from None
    if size == 0:
        raise BadMedia("the file is empty (0 bytes)")
    _check_mp4_boxes(path, size)

    try:
        container = av.open(str(path))
    except av.error.InvalidDataError:
        raise BadMedia("not a media file: no known audio/video format was recognised") from None
    except (av.error.FFmpegError, OSError) as exc:
        raise BadMedia(f"the file cannot be read as media: {exc}") from None

    with container:
        if not container.streams.video:
            if container.streams.audio:
                raise BadMedia("the file has no video stream (audio only); a video track is required")
            raise BadMedia("the file has no video stream")
        video = container.streams.video[0]
        ctx = video.codec_context
        width, height = int(ctx.width or 0), int(ctx.height or 0)
        if width <= 0 or height <= 0:
            raise BadMedia("the video stream has no picture size; the file is damaged or not video")
        if width > MAX_WIDTH or height > MAX_HEIGHT:
            raise BadMedia(
                f"the video is {width}x{height}, larger than the {MAX_WIDTH}x{MAX_HEIGHT} limit; "
                "scale it down before uploading"
            )
        rate = video.average_rate or video.guessed_rate or video.base_rate
        fps = float(rate) if rate else 0.0

        if video.duration is not None and video.time_base is not None:
            duration = float(video.duration * video.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        if container.start_time is not None:
            start_time = container.start_time / 1_000_000
        elif video.start_time is not None and video.time_base is not None:
            start_time = float(video.start_time * video.time_base)
        else:
            start_time = 0.0
        frame_count = int(video.frames or 0) or (round(duration * fps) if fps else 0)

        audio = container.streams.audio[0] if container.streams.audio else None
        audio_codec = audio.codec_context.name if audio is not None else None

        # The first frame must decode: catches headers without usable data after them.
        try:
            first = next(container.decode(video), None)
        except av.error.FFmpegError as exc:
            raise BadMedia(f"the video cannot be decoded ({exc}); the file is damaged or truncated") from None
        if first is None:
            raise BadMedia("the video stream contains no frames; the file is truncated or empty")

        return Probe(
            duration=duration,
            width=width,
            height=height,
            fps=fps,
            video_codec=ctx.name,
            audio_codec=audio_codec,
            has_audio=audio is not None,
            frame_count=frame_count,
            start_time=start_time,
            size_bytes=size,
        )
