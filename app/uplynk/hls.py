"""HLS playlist text for Uplynk-style playback: pure functions over playlist text and numbers (no
HTTP, no database, no files). app/uplynk/playback.py finds the assets and serves what these build.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

MEDIA_TYPE = "application/vnd.apple.mpegurl"
_STREAM_INF = "#EXT-X-STREAM-INF:"
# A quoted attribute value may contain commas (CODECS="avc1…,mp4a…"), so split with a pattern.
_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def playlist(lines: Sequence[str]) -> str:
    return "\n".join(lines) + "\n"


def variants(master_text: str) -> list[tuple[str, str]]:
    """(#EXT-X-STREAM-INF attribute text, variant URI) pairs of a master playlist, in order."""
    out: list[tuple[str, str]] = []
    pending: str | None = None
    for line in master_text.splitlines():
        if line.startswith(_STREAM_INF):
            pending = line[len(_STREAM_INF):]
        elif line and not line.startswith("#") and pending is not None:
            out.append((pending, line))
            pending = None
    return out


def rewrite_uris(master_text: str, url_of: Callable[[str], str]) -> str:
    """The master playlist with every URI line replaced by `url_of(uri)` (tags kept as they are)."""
    return playlist([url_of(line) if line and not line.startswith("#") else line
                     for line in master_text.splitlines()])


def media_playlist(parts: Sequence[Sequence[tuple[str, float]]]) -> str:
    """A VOD media playlist of runs of (segment URL, duration), a discontinuity between runs."""
    durations = [d for run in parts for _, d in run]
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", f"#EXT-X-TARGETDURATION:{max(1, math.ceil(max(durations, default=1)))}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for i, run in enumerate(parts):
        if i:
            # Timestamps restart and the resolution/codecs may change at each asset boundary.
            lines.append("#EXT-X-DISCONTINUITY")
        for url, dur in run:
            lines += [f"#EXTINF:{dur:.6f},", url]
    lines.append("#EXT-X-ENDLIST")
    return playlist(lines)


def attrs(text: str) -> dict[str, str]:
    return {k: v for k, v in _ATTR.findall(text)}


@dataclass(frozen=True)
class Rendition:
    """What the playlists of one ready asset are built from."""

    variants: list[tuple[str, str]]  # (attribute text, ray playlist path), highest ray first
    rays: list[dict[str, Any]]  # the ingest's ray descriptions (height, bitrate...), same order
    duration: float


def ray_height(r: Rendition, n: int) -> int:
    return int(r.rays[n].get("height", 0)) if n < len(r.rays) else 0


def closest_ray(r: Rendition, height: int) -> int:
    """The ray whose height is closest to `height`; on a tie the higher one (rays are highest first)."""
    if not r.rays:
        return 0
    return min(range(len(r.variants)), key=lambda i: abs(int(r.rays[i].get("height", 0)) - height)
               if i < len(r.rays) else math.inf)


def multiple_master(pieces: Sequence[Rendition], ray_url: Callable[[int], str]) -> str:
    """The master playlist of assets played back to back: variant n takes from each asset the ray
    closest in height to the first asset's ray n; its attributes describe the combination."""
    first = pieces[0]
    weights = [p.duration or 0.0 for p in pieces]
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for n, (attr_text, _) in enumerate(first.variants):
        height = ray_height(first, n)
        chosen = [attrs(p.variants[closest_ray(p, height)][0]) for p in pieces]
        out = dict(attrs(attr_text))
        # BANDWIDTH is a peak, so the largest of the pieces; AVERAGE-BANDWIDTH weighted by duration.
        out["BANDWIDTH"] = str(max(int(c.get("BANDWIDTH", 0) or 0) for c in chosen))
        if all("AVERAGE-BANDWIDTH" in c for c in chosen) and sum(weights) > 0:
            avg = sum(int(c["AVERAGE-BANDWIDTH"]) * w for c, w in zip(chosen, weights, strict=True)) / sum(weights)
            out["AVERAGE-BANDWIDTH"] = str(int(avg))
        else:
            out.pop("AVERAGE-BANDWIDTH", None)
        # CODECS must name every codec in the variant: the union, or nothing when a piece does not say.
        if all("CODECS" in c for c in chosen):
            codecs: list[str] = []
            for c in chosen:
                for codec in c["CODECS"].strip('"').split(","):
                    if codec not in codecs:
                        codecs.append(codec)
            out["CODECS"] = '"' + ",".join(codecs) + '"'
        else:
            out.pop("CODECS", None)
        lines.append(_STREAM_INF + ",".join(f"{k}={v}" for k, v in out.items()))
        lines.append(ray_url(n))
    return playlist(lines)


def variant_master(variant_list: Sequence[tuple[str, str]], ray_url: Callable[[int], str]) -> str:
    """A master playlist with the given variants' attributes and `ray_url(n)` as variant n's URI."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for n, (attr_text, _) in enumerate(variant_list):
        lines += [_STREAM_INF + attr_text, ray_url(n)]
    return playlist(lines)
