"""Uplynk-style playback: `/{asset_id}.m3u8` and `/ext/{owner}/{external_id}.m3u8` master playlists
over the asset's rays, plus the ray playlists and slices they point to (reference §6.1).

The master playlist is the one ingest wrote, with each ray's URI rewritten to an absolute
/storage/ URL so the files are served (with Range) by the storage route. Playback tokens are not
checked: `require_drm` is reported but lynkflow plays every asset (documented in parity).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select

from app.db.models import Media, UplynkAsset
from app.storage.paths import UnsafePath, safe_join
from app.uplynk.render import storage_url

router = APIRouter(tags=["uplynk playback"])

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_M3U8 = "application/vnd.apple.mpegurl"


def _not_found(why: str) -> Response:
    return PlainTextResponse(f"not found: {why}\n", status_code=404)


def _master(request: Request, asset: UplynkAsset | None) -> Response:
    ctx = request.app.state.ctx
    if asset is None:
        return _not_found("no such asset")
    if asset.state != "ready":
        return _not_found(f"asset {asset.id} is {asset.state}; playback starts once it is ready")
    with ctx.session() as db:
        media = db.get(Media, asset.media_id) if asset.media_id else None
    if media is None or not media.output_dir or not (media.renditions or {}).get("master_playlist"):
        return _not_found(f"asset {asset.id} has no playlists")
    try:
        path = safe_join(ctx.storage.root, media.output_dir, media.renditions["master_playlist"])
        text = path.read_text()
    except (UnsafePath, OSError):
        return _not_found(f"asset {asset.id} playlist is missing from storage")
    base = ctx.public_base(str(request.base_url))
    folder = media.output_dir.rstrip("/")
    lines = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            line = storage_url(base, f"{folder}/{line}")
        lines.append(line)
    return Response("\n".join(lines) + "\n", media_type=_M3U8,
                    headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"})


def _live(db, *conds):  # noqa: ANN001, ANN202
    return db.scalar(select(UplynkAsset).where(UplynkAsset.deleted.is_(None), *conds)
                     .order_by(UplynkAsset.created.desc(), UplynkAsset.id).limit(1))


@router.get("/ext/{owner}/{external_id}.m3u8", include_in_schema=True)
def play_external(owner: str, external_id: str, request: Request) -> Response:
    ctx = request.app.state.ctx
    with ctx.session() as db:
        asset = _live(db, UplynkAsset.owner_id == owner.lower(), UplynkAsset.external_id == external_id)
    return _master(request, asset)


@router.get("/{asset_id}.m3u8", include_in_schema=True)
def play_asset(asset_id: str, request: Request) -> Response:
    if not _HEX32.match(asset_id):
        return _not_found("asset IDs are 32 lowercase hex characters")
    ctx = request.app.state.ctx
    with ctx.session() as db:
        asset = _live(db, UplynkAsset.id == asset_id)
    return _master(request, asset)
