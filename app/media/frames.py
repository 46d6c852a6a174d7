"""Frame-accurate still frames, in-process with PyAV (Uplynk getframe/getthumbs, VIS image assets).

Time model: ``t`` is in seconds from the first video frame. Frame ``i`` spans
``[pts_i, pts_i + 1/fps)``; the frame "at" ``t`` is the one whose span covers ``t``. Times past the
last frame's span raise :class:`FrameOutOfRange` with the valid range.

Why this is fast (it must beat spawning ``ffmpeg -ss T -i f -frames:v 1`` by 2x):

* no process start and no probing: containers are opened in-process and kept in a small pool, so a
  request pays only seek + decode + encode;
* seek to the keyframe at or before ``t`` and decode forward with frame threading; packets that
  end well before ``t`` are decoded with ``skip_frame=NONREF``, so disposable B-frames cost nothing;
* PNG is encoded by FFmpeg's png encoder at a low zlib level (several times faster than Pillow's);
* finished images go into a bounded LRU keyed by (path, mtime, size, frame index, format, width),
  so a repeated request is a dictionary lookup (microseconds).

The frame-index cache key assumes constant frame rate (every file lynkflow makes is CFR). An entry
is stored under the index computed from the decoded frame's own timestamp, so a variable-rate
input can only miss the cache, never get a wrong frame.
"""

from __future__ import annotations

import io
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import av
import av.error

from lynkflow.media.errors import BadMedia, FrameOutOfRange, MediaError

ImageFormat = Literal["png", "jpeg"]

# Cache bounds: enough for a scrubbing session over a few assets without unbounded growth.
CACHE_MAX_ITEMS = 1024
CACHE_MAX_BYTES = 128 * 1024 * 1024
# Open containers kept for reuse (each holds a decoder with a few frames of buffers).
POOL_MAX_CONTAINERS = 8
POOL_MAX_PER_FILE = 2
JPEG_QUALITY = 85
# Float slack when comparing times: far below one frame, above the rounding of millisecond inputs.
_EPS = 1e-6


@dataclass(frozen=True)
class _FileKey:
    path: str
    mtime_ns: int
    size: int


@dataclass(frozen=True)
class _StreamInfo:
    start: float  # seconds of the first video frame
    fps: float


class _LRU:
    """A thread-safe LRU bounded by item count and total bytes."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self._items: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._bytes = 0
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[Any, ...], value: bytes) -> None:
        if len(value) > self._max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = value
            self._bytes += len(value)
            while len(self._items) > self._max_items or self._bytes > self._max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


class _ContainerPool:
    """Open input containers kept for reuse; a container is used by one thread at a time."""

    def __init__(self) -> None:
        self._idle: OrderedDict[_FileKey, list[av.container.InputContainer]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: _FileKey) -> av.container.InputContainer:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                self._idle.move_to_end(key)
                return idle.pop()
        try:
            container = av.open(key.path)
        except av.error.InvalidDataError:
            raise BadMedia("not a media file: no known audio/video format was recognised") from None
        except av.error.FFmpegError as exc:
            raise BadMedia(f"the file cannot be read as media: {exc}") from None
        if not container.streams.video:
            container.close()
            raise BadMedia("the file has no video stream (audio only); a video track is required")
        stream = container.streams.video[0]
        # Frame threading roughly halves decode time on two cores; it is set before the first decode.
        stream.codec_context.thread_type = "AUTO"
        return container

    def release(self, key: _FileKey, container: av.container.InputContainer) -> None:
        to_close: list[av.container.InputContainer] = []
        with self._lock:
            idle = self._idle.setdefault(key, [])
            self._idle.move_to_end(key)
            if len(idle) < POOL_MAX_PER_FILE:
                idle.append(container)
            else:
                to_close.append(container)
            while sum(len(v) for v in self._idle.values()) > POOL_MAX_CONTAINERS:
                _, evicted = self._idle.popitem(last=False)
                to_close.extend(evicted)
        for c in to_close:
            c.close()

    def clear(self) -> None:
        with self._lock:
            all_idle = [c for v in self._idle.values() for c in v]
            self._idle.clear()
        for c in all_idle:
            c.close()


_cache = _LRU(CACHE_MAX_ITEMS, CACHE_MAX_BYTES)
_pool = _ContainerPool()
_info: OrderedDict[_FileKey, _StreamInfo] = OrderedDict()
_info_lock = threading.Lock()


def clear_caches() -> None:
    """Drop cached images and close pooled containers (tests, and after deleting media)."""
    _cache.clear()
    _pool.clear()
    with _info_lock:
        _info.clear()


def _file_key(path: str | os.PathLike[str]) -> _FileKey:
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise BadMedia(f"file not found: {Path(p).name}") from None
    if st.st_size == 0:
        raise BadMedia("the file is empty (0 bytes)")
    return _FileKey(p, st.st_mtime_ns, st.st_size)


def _stream_info(stream: av.video.stream.VideoStream) -> _StreamInfo:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 25.0
    tb = stream.time_base
    start = float(stream.start_time * tb) if stream.start_time is not None and tb is not None else 0.0
    return _StreamInfo(start=start, fps=fps)


def _remember_info(key: _FileKey, info: _StreamInfo) -> None:
    with _info_lock:
        _info[key] = info
        _info.move_to_end(key)
        while len(_info) > 256:
            _info.popitem(last=False)


def _known_info(key: _FileKey) -> _StreamInfo | None:
    with _info_lock:
        return _info.get(key)


def _index(t: float, fps: float) -> int:
    return math.floor(t * fps + _EPS)


def frame_start(t: float, fps: float, start_time: float = 0.0) -> float:
    """Start of the frame covering ``t`` in a CFR stream (for ffmpeg ``-ss``, which keeps frames >= ss)."""
    return start_time + _index(t, fps) / fps


def _encode(frame: av.VideoFrame, fmt: ImageFormat, width: int | None) -> bytes:
    kwargs: dict[str, Any] = {}
    if width is not None and width != frame.width:
        if width <= 0:
            raise ValueError("width must be positive")
        kwargs = {"width": width, "height": max(1, round(frame.height * width / frame.width))}
    if fmt == "png":
        rgb = frame.reformat(format="rgb24", **kwargs)
        encoder = av.CodecContext.create("png", "w")
        encoder.width, encoder.height, encoder.pix_fmt = rgb.width, rgb.height, "rgb24"
        # zlib level 1: about 3x faster than the default for a few percent more bytes.
        encoder.options = {"compression_level": "1"}
        packets = list(encoder.encode(rgb)) + list(encoder.encode(None))
        return b"".join(bytes(p) for p in packets)
    if fmt == "jpeg":
        image = frame.to_image(**kwargs)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=JPEG_QUALITY)
        return buf.getvalue()
    raise ValueError(f"unsupported image format {fmt!r}; use 'png' or 'jpeg'")


def _frames_covering(
    container: av.container.InputContainer, info: _StreamInfo, start: float, stop: float
) -> Iterator[tuple[int, av.VideoFrame]]:
    """Yield (frame index, frame) for every frame whose span meets [start, stop]; start==stop gives one.

    Raises FrameOutOfRange when ``start`` lies past the last frame's span.
    """
    stream = container.streams.video[0]
    ctx = stream.codec_context
    tb = stream.time_base
    frame_dur = 1.0 / info.fps
    start_abs = info.start + start
    stop_abs = info.start + stop
    skip_before = (start_abs - 1.5 * frame_dur) / tb  # in pts units

    def index_of(frame: av.VideoFrame) -> int:
        return round((float(frame.pts * tb) - info.start) * info.fps)

    seek_to = start_abs
    for attempt in range(2):
        container.seek(max(0, int(seek_to / tb)), stream=stream, backward=True, any_frame=False)
        ctx.flush_buffers()
        prev: av.VideoFrame | None = None
        yielded_any = False
        restarted = False
        try:
            for packet in container.demux(stream):
                want = "NONREF" if packet.pts is not None and packet.pts < skip_before else "DEFAULT"
                if ctx.skip_frame != want:
                    ctx.skip_frame = want
                for frame in packet.decode():
                    if frame.pts is None:
                        continue
                    ftime = float(frame.pts * tb)
                    if ftime <= start_abs + _EPS:
                        prev = frame
                        continue
                    if prev is None and not yielded_any:
                        # The seek landed after ``start``: go back to the beginning once; on the
                        # second pass ``start`` precedes the first frame, which then covers it.
                        if attempt == 0 and seek_to > info.start + _EPS:
                            restarted = True
                            break
                        prev = frame
                        yield index_of(frame), frame
                        yielded_any = True
                        if ftime >= stop_abs - _EPS:
                            return
                        continue
                    if prev is not None and not yielded_any:
                        yield index_of(prev), prev
                        yielded_any = True
                    if ftime < stop_abs - _EPS:
                        yield index_of(frame), frame
                        continue
                    return
                if restarted:
                    break
        finally:
            ctx.skip_frame = "DEFAULT"
        if restarted:
            seek_to = info.start
            continue
        break
    # End of stream.
    if yielded_any:
        return
    if prev is not None and start_abs < float(prev.pts * tb) + frame_dur - _EPS:
        yield index_of(prev), prev
        return
    last_end = (float(prev.pts * tb) + frame_dur - info.start) if prev is not None else 0.0
    raise FrameOutOfRange(
        f"no frame at {start:.3f} s: valid times are 0.000 s up to {last_end:.3f} s "
        f"(frames 0 to {max(0, round(last_end * info.fps) - 1)})"
    )


def _decode_range(
    key: _FileKey, start: float, stop: float, fmt: ImageFormat, width: int | None, single: bool
) -> list[bytes]:
    container = _pool.acquire(key)
    ok = False
    try:
        info = _stream_info(container.streams.video[0])
        _remember_info(key, info)
        out: list[bytes] = []
        frames = _frames_covering(container, info, start, start if single else stop)
        try:
            for idx, frame in frames:
                ckey = (key.path, key.mtime_ns, key.size, idx, fmt, width)
                data = _cache.get(ckey)
                if data is None:
                    data = _encode(frame, fmt, width)
                    _cache.put(ckey, data)
                out.append(data)
                if single:
                    break
        finally:
            # Close the generator now, while this thread still owns the container.
            frames.close()
        ok = True
        return out
    except av.error.FFmpegError as exc:
        raise MediaError(f"decoding failed: {exc}") from None
    finally:
        if ok:
            _pool.release(key, container)
        else:
            # A decoder left mid-error is not worth reusing.
            container.close()


def frame_at(
    path: str | os.PathLike[str], t: float, *, fmt: ImageFormat = "png", width: int | None = None
) -> bytes:
    """The image (PNG or JPEG bytes) of the frame covering ``t`` seconds, optionally scaled to ``width``."""
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"unsupported image format {fmt!r}; use 'png' or 'jpeg'")
    if t < 0 or math.isnan(t):
        raise FrameOutOfRange(f"no frame at {t} s: times start at 0")
    key = _file_key(path)
    info = _known_info(key)
    if info is not None:
        hit = _cache.get((key.path, key.mtime_ns, key.size, _index(t, info.fps), fmt, width))
        if hit is not None:
            return hit
    return _decode_range(key, t, t, fmt, width, single=True)[0]


def frames_between(
    path: str | os.PathLike[str],
    start: float,
    stop: float,
    *,
    fmt: ImageFormat = "jpeg",
    width: int | None = None,
) -> list[bytes]:
    """Images of every frame whose span intersects ``[start, stop)``, in display order.

    ``stop`` past the end is clipped to the last frame; ``start`` past the end raises FrameOutOfRange.
    """
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"unsupported image format {fmt!r}; use 'png' or 'jpeg'")
    if start < 0 or math.isnan(start):
        raise FrameOutOfRange(f"no frame at {start} s: times start at 0")
    if not stop > start:
        raise ValueError("stop must be later than start")
    key = _file_key(path)
    info = _known_info(key)
    if info is not None:
        # All frames already cached? Then no decoding at all.
        first = _index(start, info.fps)
        last = math.ceil(stop * info.fps - _EPS) - 1
        hits = [_cache.get((key.path, key.mtime_ns, key.size, i, fmt, width)) for i in range(first, last + 1)]
        if hits and all(h is not None for h in hits):
            return [h for h in hits if h is not None]
    return _decode_range(key, start, stop, fmt, width, single=False)
