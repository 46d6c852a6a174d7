"""`/api2/asset/getframe` (one PNG from the highest ray) and `/api2/asset/getthumbs` (every frame of
a range of at most one second, PNG, from the lowest ray) — reference §4.4, §4.5.

Frames are decoded in-process from the ray's MP4 by `lynkflow.media.frames`, which is frame-accurate:
the frame returned is the one whose display span covers the requested time.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from lynkflow.db.models import UplynkAsset
from lynkflow.domain import uplynk_asset_reads as reads
from lynkflow.domain import uplynk_assets as dom
from lynkflow.media.errors import FrameOutOfRange
from lynkflow.storage.paths import UnsafePath
from lynkflow.uplynk.errors import Api2Error
from lynkflow.uplynk.params import as_str, parse_time_ms, require
from lynkflow.uplynk.transport import Api2Call

MAX_THUMB_RANGE_MS = 1000


def _asset(call: Api2Call, db: Session, *, allow_external: bool) -> tuple[UplynkAsset, Path, Path, float]:
    """The asset, its highest and lowest ray MP4s and its duration; refuses unready assets clearly."""
    p = call.params
    if p.get("id") not in (None, ""):
        aid = as_str(p["id"], "id", max_len=64)
        asset = dom.find_by_ids(db, call.owner, [aid]).get(aid)
        label = f"id {aid}"
    elif allow_external and p.get("external_id") not in (None, ""):
        ext = as_str(p["external_id"], "external_id", max_len=200)
        asset = dom.find_by_external_ids(db, call.owner, [ext]).get(ext)
        label = f"external_id {ext}"
    else:
        raise Api2Error("missing required parameter id" + (" (or external_id)" if allow_external else ""))
    if asset is None:
        raise Api2Error(f"Asset not found ({label})")
    if asset.state != "ready":
        raise Api2Error(f"asset {asset.id} is {asset.state}, not ready; frames exist once slicing is done")
    media = reads.media_of(db, asset)
    if media is None or not media.output_dir or not (media.renditions or {}).get("rays"):
        raise Api2Error(f"asset {asset.id} has no video renditions")
    rays = media.renditions["rays"]
    storage = call.ctx.storage
    try:
        # Fetched into the local cache when the media lives in an object store.
        highest = storage.local_file(f"{media.output_dir}/{rays[0]['mp4']}")
        lowest = storage.local_file(f"{media.output_dir}/{rays[-1]['mp4']}")
    except (FileNotFoundError, UnsafePath):
        raise Api2Error(f"asset {asset.id} video renditions are missing from storage") from None
    return asset, highest, lowest, float(asset.duration)


def _check_inside(name: str, ms: int, duration: float) -> None:
    if ms >= int(round(duration * 1000)):
        raise Api2Error(f"{name} {ms} ms is outside the asset: it is {int(duration * 1000)} ms long "
                        f"(valid times are 0 to {max(0, int(duration * 1000) - 1)} ms)")


def getframe(call: Api2Call, db: Session) -> dict[str, Any]:
    ts = parse_time_ms(require(call.params, "ts"), "ts")
    _asset_row, highest, _lowest, duration = _asset(call, db, allow_external=False)
    _check_inside("ts", ts, duration)
    try:
        from lynkflow.media import frames  # PyAV loads on first use, not at start-up

        png = frames.frame_at(highest, ts / 1000.0, fmt="png")
    except FrameOutOfRange as exc:
        raise Api2Error(f"ts {ts} ms is outside the asset: {exc}") from None
    return {"img": base64.b64encode(png).decode()}


def getthumbs(call: Api2Call, db: Session) -> dict[str, Any]:
    p = call.params
    start = parse_time_ms(require(p, "start"), "start")
    stop = parse_time_ms(p["stop"], "stop") if p.get("stop") not in (None, "") else start + MAX_THUMB_RANGE_MS
    if stop <= start:
        raise Api2Error(f"stop ({stop} ms) must be after start ({start} ms)")
    if stop - start > MAX_THUMB_RANGE_MS:
        raise Api2Error(f"the range from start to stop is {stop - start} ms; it may be at most "
                        f"{MAX_THUMB_RANGE_MS} ms (1 second)")
    _asset_row, _highest, lowest, duration = _asset(call, db, allow_external=True)
    _check_inside("start", start, duration)
    try:
        from lynkflow.media import frames

        images = frames.frames_between(lowest, start / 1000.0, stop / 1000.0, fmt="png")
    except FrameOutOfRange as exc:
        raise Api2Error(f"start {start} ms is outside the asset: {exc}") from None
    return {"imgs": [base64.b64encode(i).decode() for i in images]}
