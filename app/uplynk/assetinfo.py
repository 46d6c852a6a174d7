"""The AssetInfo client API: `/player/assetinfo/{asset_id}.json` (reference §2.4, §6.1).

Players ask it for an asset's facts (duration, bit rates, slice layout, thumbnails). It is not api2:
no signature, a plain JSON document, readable from any origin. lynkflow answers with the fields it
knows from the asset row and its ingest outputs; fields it has no data for are left out rather than
invented, except the "nothing here" values a player expects (`is_ad` 0, ratings -1, `rating_flags` 0).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lynkflow.domain import uplynk_asset_reads as reads
from lynkflow.openapi import PLAYBACK
from lynkflow.routeclass import DeferredRoute
from lynkflow.storage.urls import storage_url

router = APIRouter(route_class=DeferredRoute, tags=[PLAYBACK])

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"}


def _error(asset_id: str, why: str) -> JSONResponse:
    # The document's own error flag, plus HTTP 404 so a plain fetch also sees the failure.
    return JSONResponse({"error": 1, "asset": asset_id, "msg": why}, status_code=404, headers=_HEADERS)


def assetinfo_doc(base: str, asset: Any, media: Any | None) -> dict[str, Any]:
    """The AssetInfo document of one asset; media-derived fields only when ingest has produced them."""
    r = (media.renditions if media is not None else None) or {}
    folder = (media.output_dir or "").rstrip("/") if media is not None else ""
    rays = list(r.get("rays") or [])
    thumbs = list(r.get("thumbs") or [])
    doc: dict[str, Any] = {
        "asset": asset.id,
        "external_id": asset.external_id,
        "desc": asset.desc,
        "owner": asset.owner_id,
        "duration": asset.duration,
        "audio_only": asset.audio_only,
        # Nominal ray bit rates in kbps (video + audio), lowest first, like the rays a player switches between.
        "rates": sorted(int(ray.get("bitrate", 0)) // 1000 for ray in rays),
        # The number of the last slice (slices are numbered from 0); -1 while there are none.
        "max_slice": asset.slices - 1,
        "slice_dur": float(r.get("segment_seconds", 4.0)),
        "error": 0,
        "is_ad": 0,
        "tv_rating": -1,
        "movie_rating": -1,
        "rating_flags": 0,
    }
    if thumbs and folder:
        # Slice n's thumbnail is thumb_prefix + f"{n:08d}.jpg" (ingest writes thumbs/00000000.jpg …).
        doc["thumb_prefix"] = storage_url(base, f"{folder}/thumbs/")
    if r.get("poster") and folder:
        doc["default_poster_url"] = storage_url(base, f"{folder}/{r['poster']}")
    if asset.poster_path:
        doc["poster_url"] = storage_url(base, asset.poster_path)
    return doc


@router.get("/player/assetinfo/{asset_id}.json", include_in_schema=True)
def assetinfo(asset_id: str, request: Request) -> JSONResponse:
    if not _HEX32.match(asset_id):
        return _error(asset_id, "asset IDs are 32 lowercase hex characters")
    ctx = request.app.state.ctx
    with ctx.read_session() as db:
        asset = reads.live_by_id(db, asset_id)
        media = reads.media_of(db, asset) if asset is not None else None
    if asset is None:
        return _error(asset_id, f"no such asset {asset_id}")
    return JSONResponse(assetinfo_doc(ctx.base_for(request), asset, media), headers=_HEADERS)
