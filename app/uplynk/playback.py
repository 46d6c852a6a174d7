"""Uplynk-style playback (reference §6.1) over an asset's rays:

- `/{asset_id}.m3u8`, `/ext/{owner}/{external_id}.m3u8`: the master playlist ingest wrote, with each
  ray's URI rewritten to an absolute /storage/ URL so the files are served (with Range) by the storage
  route.
- `/{id1},{id2},…/multiple.m3u8`, `/ext/{owner}/{e1},{e2},…/multiple.m3u8`: one master playlist whose
  variants (`/multiple/{ids}/ray{n}.m3u8`, generated) play the assets back to back, with
  `#EXT-X-DISCONTINUITY` between assets.
- `/segment/{n}/{asset_id}.m3u8`, `/segment/{n}/ext/{owner}/{eid}.m3u8`: a master playlist whose
  variants (`/segment/{n}/{asset_id}/ray{r}.m3u8`, generated) hold only slice n (0-based).

Refusals are plain-text HTTP errors: 400 for a malformed or disallowed request, 404 for something that
does not exist, 409 for an asset that is not ready yet, 403 for a missing or invalid playback token.
`require_drm` is enforced on the master-playlist URLs (single, ext, multiple, segment): a `require_drm=1` asset needs a
signed token in the query (app/uplynk/playback_tokens.py), else HTTP 403 with the reason; the generated
variant playlists and the /storage files stay open (documented in parity).

Each route reads the assets it plays in one read session (no write lock), through the domain
(app/domain/uplynk_asset_reads.py); the playlist text is built by the pure app/uplynk/hls.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.orm import Session

from lynkflow import limits
from lynkflow.domain import uplynk_asset_reads as reads
from lynkflow.media.ingest import playlist_segments
from lynkflow.openapi import PLAYBACK
from lynkflow.routeclass import DeferredRoute
from lynkflow.storage.paths import UnsafePath
from lynkflow.storage.urls import storage_url
from lynkflow.uplynk import hls
from lynkflow.uplynk.playback_tokens import check_playback_token, check_token_for

router = APIRouter(route_class=DeferredRoute, tags=[PLAYBACK])

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"}

MULTIPLE_MAX_SECONDS = 16 * 3600  # "total under 16 h" (reference §6.1)
MULTIPLE_MAX_ASSETS = 100  # lynkflow's own cap so one URL cannot make an unbounded query


class Refusal(Exception):
    """A playback request that cannot be served; becomes a plain-text HTTP error."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why

    def response(self) -> Response:
        label = {400: "bad request", 403: "forbidden", 404: "not found", 409: "not ready"}.get(self.status, "error")
        return PlainTextResponse(f"{label}: {self.why}\n", status_code=self.status)


def _index(text: str, what: str) -> int:
    """A 0-based index from the URL; a plain-text 400 (not FastAPI's JSON 422) when it is not one."""
    if not text.isdigit():
        raise Refusal(400, f"{what} must be a whole number counted from 0, not {text!r}")
    if len(text) > limits.INT64_DIGITS:
        raise Refusal(404, f"{what} {text[:20]}… does not exist")
    return int(text)


def _m3u8(text: str) -> Response:
    return Response(text, media_type=hls.MEDIA_TYPE, headers=_HEADERS)


@dataclass
class Playable:
    """A ready asset (a row) with its ingest outputs: the master playlist and its variants."""

    asset: Any
    media: Any
    master_text: str
    rendition: hls.Rendition

    @property
    def folder(self) -> str:
        return (self.media.output_dir or "").rstrip("/")

    def segments(self, ctx: Any, base: str, ray: int) -> list[tuple[str, float]]:
        """(absolute segment URL, duration) of one ray, read from its playlist in storage."""
        rel = self.rendition.variants[ray][1]
        try:
            path = ctx.storage.local_file(f"{self.folder}/{rel}")
            pairs = playlist_segments(path)
        except (UnsafePath, OSError) as exc:
            raise Refusal(404, f"asset {self.asset.id} ray playlist is missing from storage") from exc
        ray_dir = str(PurePosixPath(rel).parent)
        return [(storage_url(base, f"{self.folder}/{ray_dir}/{uri}"), dur) for uri, dur in pairs]


def _load(ctx: Any, db: Session, asset: Any | None, *, not_ready_status: int = 404) -> Playable:
    if asset is None:
        raise Refusal(404, "no such asset")
    if asset.state != "ready":
        raise Refusal(not_ready_status, f"asset {asset.id} is {asset.state}; playback starts once it is ready")
    media = reads.media_of(db, asset)
    if media is None or not media.output_dir or not (media.renditions or {}).get("master_playlist"):
        raise Refusal(404, f"asset {asset.id} has no playlists")
    try:
        text = ctx.storage.local_file(f"{media.output_dir}/{media.renditions['master_playlist']}").read_text()
    except (UnsafePath, OSError) as exc:
        raise Refusal(404, f"asset {asset.id} playlist is missing from storage") from exc
    variants = hls.variants(text)
    if not variants:
        raise Refusal(404, f"asset {asset.id} has no playlists")
    rays = list((media.renditions or {}).get("rays") or [])
    return Playable(asset, media, text, hls.Rendition(variants, rays, float(asset.duration or 0.0)))


def _raw_query(request: Request) -> str:
    """The query string exactly as received: the token signature covers its raw bytes."""
    return request.scope.get("query_string", b"").decode("latin-1")


def _guard(request: Request, asset: Any | None) -> None:
    """403 unless the asset plays without a token or the URL carries a valid one."""
    if asset is not None:
        why = check_playback_token(request.app.state.ctx, asset, _raw_query(request))
        if why is not None:
            raise Refusal(403, why)


def _guard_many(request: Request, plays: list[Playable]) -> None:
    """multiple.m3u8: one token (cid = the comma-joined asset IDs) when any of the assets requires it."""
    if any(p.asset.require_drm for p in plays):
        why = check_token_for(request.app.state.ctx, owner_id=plays[0].asset.owner_id,
                              asset_ids=[p.asset.id for p in plays],
                              external_ids=[p.asset.external_id or "" for p in plays], raw_query=_raw_query(request))
        if why is not None:
            raise Refusal(403, why)


def _base(request: Request) -> str:
    return request.app.state.ctx.base_for(request)


def _by_external(db: Session, owner: str, external_id: str) -> Any | None:
    return reads.newest_by_external_id(db, owner.lower(), external_id)


def _by_id(db: Session, asset_id: str) -> Any:
    if not _HEX32.match(asset_id):
        raise Refusal(404, f"asset ID {asset_id!r} is not 32 lowercase hex characters")
    asset = reads.live_by_id(db, asset_id)
    if asset is None:
        raise Refusal(404, f"no such asset {asset_id}")
    return asset


def _master(request: Request, find: Any) -> Response:
    """The master playlist ingest wrote for the asset `find(db)` names, its URIs made absolute."""
    ctx = request.app.state.ctx
    try:
        with ctx.read_session() as db:
            asset = find(db)
            _guard(request, asset)
            play = _load(ctx, db, asset)
    except Refusal as r:
        return r.response()
    base = _base(request)
    return _m3u8(hls.rewrite_uris(play.master_text, lambda uri: storage_url(base, f"{play.folder}/{uri}")))


# --- multiple -------------------------------------------------------------------------------------

def _split(listing: str, what: str) -> list[str]:
    items = listing.split(",")
    if any(not x for x in items):
        raise Refusal(400, f"empty {what} in the list {listing!r}; separate {what}s with single commas")
    if len(items) > MULTIPLE_MAX_ASSETS:
        raise Refusal(400, f"{len(items)} assets listed; lynkflow plays at most {MULTIPLE_MAX_ASSETS} at once")
    seen: set[str] = set()
    for x in items:
        if x in seen:
            raise Refusal(400, f"{what} {x} is listed twice; multiple.m3u8 plays each asset at most once")
        seen.add(x)
    return items


def _multiple_assets(ctx: Any, db: Session, ids: str) -> list[Playable]:
    """Resolve and check a comma-separated list of asset IDs (the canonical form of both URL kinds)."""
    assets = [_by_id(db, x) for x in _split(ids, "asset ID")]
    return _check_multiple(ctx, db, assets)


def _check_multiple(ctx: Any, db: Session, assets: list[Any]) -> list[Playable]:
    owners = {a.owner_id for a in assets}
    if len(owners) > 1:
        raise Refusal(400, "the assets belong to different owners; multiple.m3u8 needs one owner's assets")
    seen: set[str] = set()
    for a in assets:
        # Two external IDs can name the same asset; that is a repeat as well.
        if a.id in seen:
            raise Refusal(400, f"asset {a.id} is listed twice; multiple.m3u8 plays each asset at most once")
        seen.add(a.id)
    for a in assets:
        if a.state != "ready":
            raise Refusal(409, f"asset {a.id} is {a.state}; multiple.m3u8 plays only assets that are ready")
    total = sum(a.duration or 0.0 for a in assets)
    if total >= MULTIPLE_MAX_SECONDS:
        raise Refusal(400, f"the assets last {total / 3600:.2f} h together; multiple.m3u8 needs under 16 h")
    return [_load(ctx, db, a, not_ready_status=409) for a in assets]


def _multiple_master(request: Request, plays: list[Playable]) -> Response:
    ids = ",".join(p.asset.id for p in plays)
    base = _base(request)
    return _m3u8(hls.multiple_master([p.rendition for p in plays], lambda n: f"{base}/multiple/{ids}/ray{n}.m3u8"))


@router.get("/ext/{owner}/{external_ids}/multiple.m3u8", include_in_schema=True)
def play_multiple_external(owner: str, external_ids: str, request: Request) -> Response:
    ctx = request.app.state.ctx
    try:
        with ctx.read_session() as db:
            assets = []
            for eid in _split(external_ids, "external ID"):
                asset = _by_external(db, owner, eid)
                if asset is None:
                    raise Refusal(404, f"owner {owner} has no asset with external ID {eid!r}")
                assets.append(asset)
            plays = _check_multiple(ctx, db, assets)
        _guard_many(request, plays)
        return _multiple_master(request, plays)
    except Refusal as r:
        return r.response()


@router.get("/{ids}/multiple.m3u8", include_in_schema=True)
def play_multiple(ids: str, request: Request) -> Response:
    ctx = request.app.state.ctx
    try:
        with ctx.read_session() as db:
            plays = _multiple_assets(ctx, db, ids)
        _guard_many(request, plays)
        return _multiple_master(request, plays)
    except Refusal as r:
        return r.response()


@router.get("/multiple/{ids}/ray{n}.m3u8", include_in_schema=True)
def play_multiple_ray(ids: str, n: str, request: Request) -> Response:
    """Variant n of a multiple.m3u8: for each asset the ray closest in height to the first asset's ray n."""
    ctx = request.app.state.ctx
    try:
        ray = _index(n, "the ray number")
        with ctx.read_session() as db:
            plays = _multiple_assets(ctx, db, ids)
        first = plays[0].rendition
        if ray >= len(first.variants):
            raise Refusal(404, f"ray {ray} does not exist; these assets play rays 0 to {len(first.variants) - 1}")
        height = hls.ray_height(first, ray)
        base = _base(request)
        return _m3u8(hls.media_playlist([p.segments(ctx, base, hls.closest_ray(p.rendition, height))
                                         for p in plays]))
    except Refusal as r:
        return r.response()


# --- segment --------------------------------------------------------------------------------------

def _segment_master(request: Request, text: str, find: Any) -> Response:
    ctx = request.app.state.ctx
    try:
        with ctx.read_session() as db:
            asset = find(db)
            n = _index(text, "the slice number")
            _guard(request, asset)
            play = _load(ctx, db, asset)
        _check_slice(play, n)
    except Refusal as r:
        return r.response()
    base = _base(request)
    return _m3u8(hls.variant_master(play.rendition.variants,
                                    lambda r: f"{base}/segment/{n}/{quote(play.asset.id)}/ray{r}.m3u8"))


def _check_slice(play: Playable, n: int) -> None:
    slices = play.asset.slices
    if not 0 <= n < slices:
        raise Refusal(404, f"asset {play.asset.id} has slices 0 to {slices - 1} (0-based); there is no slice {n}")


@router.get("/segment/{n}/ext/{owner}/{external_id}.m3u8", include_in_schema=True)
def play_segment_external(n: str, owner: str, external_id: str, request: Request) -> Response:
    return _segment_master(request, n, lambda db: _by_external(db, owner, external_id))


@router.get("/segment/{n}/{asset_id}.m3u8", include_in_schema=True)
def play_segment(n: str, asset_id: str, request: Request) -> Response:
    return _segment_master(request, n, lambda db: _by_id(db, asset_id))


@router.get("/segment/{n}/{asset_id}/ray{r}.m3u8", include_in_schema=True)
def play_segment_ray(n: str, asset_id: str, r: str, request: Request) -> Response:
    """Ray r of slice n: a one-segment VOD playlist."""
    ctx = request.app.state.ctx
    try:
        slice_n, ray = _index(n, "the slice number"), _index(r, "the ray number")
        with ctx.read_session() as db:
            play = _load(ctx, db, _by_id(db, asset_id))
        _check_slice(play, slice_n)
        if ray >= len(play.rendition.variants):
            raise Refusal(404, f"asset {asset_id} has rays 0 to {len(play.rendition.variants) - 1}; "
                          f"there is no ray {ray}")
        segments = play.segments(ctx, _base(request), ray)
        if slice_n >= len(segments):
            raise Refusal(404, f"asset {asset_id} ray {ray} has no slice {slice_n}")
        return _m3u8(hls.media_playlist([[segments[slice_n]]]))
    except Refusal as refusal:
        return refusal.response()


# --- single asset (declared last: its patterns are the broadest) ----------------------------------

@router.get("/ext/{owner}/{external_id}.m3u8", include_in_schema=True)
def play_external(owner: str, external_id: str, request: Request) -> Response:
    return _master(request, lambda db: _by_external(db, owner, external_id))


@router.get("/{asset_id}.m3u8", include_in_schema=True)
def play_asset(asset_id: str, request: Request) -> Response:
    if not _HEX32.match(asset_id):
        return Refusal(404, "asset IDs are 32 lowercase hex characters").response()
    return _master(request, lambda db: reads.live_by_id(db, asset_id))
