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
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select

from lynkflow import limits
from lynkflow.db.models import Media, UplynkAsset
from lynkflow.media.ingest import playlist_segments
from lynkflow.openapi import PLAYBACK
from lynkflow.storage.paths import UnsafePath
from lynkflow.storage.urls import storage_url
from lynkflow.uplynk.playback_tokens import check_playback_token, check_token_for

router = APIRouter(tags=[PLAYBACK])

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_M3U8 = "application/vnd.apple.mpegurl"
_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"}
# A quoted attribute value may contain commas (CODECS="avc1…,mp4a…"), so split with a pattern.
_ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')

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


def _not_found(why: str) -> Response:
    return Refusal(404, why).response()


def _m3u8(lines: list[str]) -> Response:
    return Response("\n".join(lines) + "\n", media_type=_M3U8, headers=_HEADERS)


@dataclass
class Playable:
    """A ready asset with its ingest outputs: rays (highest first), their master-playlist attributes."""

    asset: UplynkAsset
    media: Media
    master_text: str
    variants: list[tuple[str, str]]  # (#EXT-X-STREAM-INF attribute text, ray playlist path), ray order

    @property
    def folder(self) -> str:
        return (self.media.output_dir or "").rstrip("/")

    @property
    def rays(self) -> list[dict]:
        return list((self.media.renditions or {}).get("rays") or [])

    def segments(self, ctx, base: str, ray: int) -> list[tuple[str, float]]:  # noqa: ANN001
        """(absolute segment URL, duration) of one ray, read from its playlist in storage."""
        rel = self.variants[ray][1]
        try:
            path = ctx.storage.local_file(f"{self.folder}/{rel}")
            pairs = playlist_segments(path)
        except (UnsafePath, OSError) as exc:
            raise Refusal(404, f"asset {self.asset.id} ray playlist is missing from storage") from exc
        ray_dir = str(PurePosixPath(rel).parent)
        return [(storage_url(base, f"{self.folder}/{ray_dir}/{uri}"), dur) for uri, dur in pairs]


def _load(ctx, asset: UplynkAsset | None, *, not_ready_status: int = 404) -> Playable:  # noqa: ANN001
    if asset is None:
        raise Refusal(404, "no such asset")
    if asset.state != "ready":
        raise Refusal(not_ready_status, f"asset {asset.id} is {asset.state}; playback starts once it is ready")
    with ctx.session() as db:
        media = db.get(Media, asset.media_id) if asset.media_id else None
    if media is None or not media.output_dir or not (media.renditions or {}).get("master_playlist"):
        raise Refusal(404, f"asset {asset.id} has no playlists")
    try:
        text = ctx.storage.local_file(f"{media.output_dir}/{media.renditions['master_playlist']}").read_text()
    except (UnsafePath, OSError) as exc:
        raise Refusal(404, f"asset {asset.id} playlist is missing from storage") from exc
    variants: list[tuple[str, str]] = []
    pending: str | None = None
    for line in text.splitlines():
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = line[len("#EXT-X-STREAM-INF:"):]
        elif line and not line.startswith("#") and pending is not None:
            variants.append((pending, line))
            pending = None
    if not variants:
        raise Refusal(404, f"asset {asset.id} has no playlists")
    return Playable(asset, media, text, variants)


def _raw_query(request: Request) -> str:
    """The query string exactly as received: the token signature covers its raw bytes."""
    return request.scope.get("query_string", b"").decode("latin-1")


def _guard(request: Request, asset: UplynkAsset | None) -> None:
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


def _master(request: Request, asset: UplynkAsset | None) -> Response:
    ctx = request.app.state.ctx
    try:
        _guard(request, asset)
        play = _load(ctx, asset)
    except Refusal as r:
        return r.response()
    base = ctx.public_base(str(request.base_url))
    lines = []
    for line in play.master_text.splitlines():
        if line and not line.startswith("#"):
            line = storage_url(base, f"{play.folder}/{line}")
        lines.append(line)
    return _m3u8(lines)


def _live(db, *conds):  # noqa: ANN001, ANN202
    return db.scalar(select(UplynkAsset).where(UplynkAsset.deleted.is_(None), *conds)
                     .order_by(UplynkAsset.created.desc(), UplynkAsset.id).limit(1))


def _by_external(ctx, owner: str, external_id: str) -> UplynkAsset | None:  # noqa: ANN001
    with ctx.session() as db:
        return _live(db, UplynkAsset.owner_id == owner.lower(), UplynkAsset.external_id == external_id)


def _by_id(ctx, asset_id: str) -> UplynkAsset:  # noqa: ANN001
    if not _HEX32.match(asset_id):
        raise Refusal(404, f"asset ID {asset_id!r} is not 32 lowercase hex characters")
    with ctx.session() as db:
        asset = _live(db, UplynkAsset.id == asset_id)
    if asset is None:
        raise Refusal(404, f"no such asset {asset_id}")
    return asset


# --- media playlists built from several sources -----------------------------------------------------

def _media_playlist(parts: list[list[tuple[str, float]]]) -> Response:
    """A VOD media playlist of the given segment runs, a discontinuity between runs."""
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
    return _m3u8(lines)


def _attrs(text: str) -> dict[str, str]:
    return {k: v for k, v in _ATTR.findall(text)}


def _closest_ray(play: Playable, height: int) -> int:
    """The ray whose height is closest to ``height``; on a tie the higher one (rays are highest first)."""
    rays = play.rays
    if not rays:
        return 0
    return min(range(len(play.variants)), key=lambda i: abs(int(rays[i].get("height", 0)) - height)
               if i < len(rays) else math.inf)


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


def _multiple_assets(ctx, ids: str) -> list[Playable]:  # noqa: ANN001
    """Resolve and check a comma-separated list of asset IDs (the canonical form of both URL kinds)."""
    assets = [_by_id(ctx, x) for x in _split(ids, "asset ID")]
    return _check_multiple(ctx, assets)


def _check_multiple(ctx, assets: list[UplynkAsset]) -> list[Playable]:  # noqa: ANN001
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
    return [_load(ctx, a, not_ready_status=409) for a in assets]


def _multiple_master(request: Request, plays: list[Playable]) -> Response:
    first = plays[0]
    ids = ",".join(p.asset.id for p in plays)
    base = request.app.state.ctx.public_base(str(request.base_url))
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for n, (attr_text, _) in enumerate(first.variants):
        height = int(first.rays[n]["height"]) if n < len(first.rays) else 0
        chosen = [_attrs(p.variants[_closest_ray(p, height)][0]) for p in plays]
        out = dict(_attrs(attr_text))
        # BANDWIDTH is a peak, so the largest of the pieces; AVERAGE-BANDWIDTH weighted by duration.
        out["BANDWIDTH"] = str(max(int(c.get("BANDWIDTH", 0) or 0) for c in chosen))
        weights = [(p.asset.duration or 0.0) for p in plays]
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
        lines.append("#EXT-X-STREAM-INF:" + ",".join(f"{k}={v}" for k, v in out.items()))
        lines.append(f"{base}/multiple/{ids}/ray{n}.m3u8")
    return _m3u8(lines)


@router.get("/ext/{owner}/{external_ids}/multiple.m3u8", include_in_schema=True)
def play_multiple_external(owner: str, external_ids: str, request: Request) -> Response:
    ctx = request.app.state.ctx
    try:
        assets = []
        for eid in _split(external_ids, "external ID"):
            asset = _by_external(ctx, owner, eid)
            if asset is None:
                raise Refusal(404, f"owner {owner} has no asset with external ID {eid!r}")
            assets.append(asset)
        plays = _check_multiple(ctx, assets)
        _guard_many(request, plays)
        return _multiple_master(request, plays)
    except Refusal as r:
        return r.response()


@router.get("/{ids}/multiple.m3u8", include_in_schema=True)
def play_multiple(ids: str, request: Request) -> Response:
    try:
        plays = _multiple_assets(request.app.state.ctx, ids)
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
        plays = _multiple_assets(ctx, ids)
        first = plays[0]
        if ray >= len(first.variants):
            raise Refusal(404, f"ray {ray} does not exist; these assets play rays 0 to {len(first.variants) - 1}")
        height = int(first.rays[ray]["height"]) if ray < len(first.rays) else 0
        base = ctx.public_base(str(request.base_url))
        return _media_playlist([p.segments(ctx, base, _closest_ray(p, height)) for p in plays])
    except Refusal as r:
        return r.response()


# --- segment --------------------------------------------------------------------------------------

def _segment_master(request: Request, text: str, asset: UplynkAsset | None) -> Response:
    ctx = request.app.state.ctx
    try:
        n = _index(text, "the slice number")
        _guard(request, asset)
        play = _load(ctx, asset)
        _check_slice(play, n)
    except Refusal as r:
        return r.response()
    base = ctx.public_base(str(request.base_url))
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r, (attr_text, _) in enumerate(play.variants):
        lines += [f"#EXT-X-STREAM-INF:{attr_text}", f"{base}/segment/{n}/{quote(play.asset.id)}/ray{r}.m3u8"]
    return _m3u8(lines)


def _check_slice(play: Playable, n: int) -> None:
    slices = play.asset.slices
    if not 0 <= n < slices:
        raise Refusal(404, f"asset {play.asset.id} has slices 0 to {slices - 1} (0-based); there is no slice {n}")


@router.get("/segment/{n}/ext/{owner}/{external_id}.m3u8", include_in_schema=True)
def play_segment_external(n: str, owner: str, external_id: str, request: Request) -> Response:
    return _segment_master(request, n, _by_external(request.app.state.ctx, owner, external_id))


@router.get("/segment/{n}/{asset_id}.m3u8", include_in_schema=True)
def play_segment(n: str, asset_id: str, request: Request) -> Response:
    try:
        asset = _by_id(request.app.state.ctx, asset_id)
    except Refusal as r:
        return r.response()
    return _segment_master(request, n, asset)


@router.get("/segment/{n}/{asset_id}/ray{r}.m3u8", include_in_schema=True)
def play_segment_ray(n: str, asset_id: str, r: str, request: Request) -> Response:
    """Ray r of slice n: a one-segment VOD playlist."""
    ctx = request.app.state.ctx
    try:
        slice_n, ray = _index(n, "the slice number"), _index(r, "the ray number")
        play = _load(ctx, _by_id(ctx, asset_id))
        _check_slice(play, slice_n)
        if ray >= len(play.variants):
            raise Refusal(404, f"asset {asset_id} has rays 0 to {len(play.variants) - 1}; there is no ray {ray}")
        segments = play.segments(ctx, ctx.public_base(str(request.base_url)), ray)
        if slice_n >= len(segments):
            raise Refusal(404, f"asset {asset_id} ray {ray} has no slice {slice_n}")
        return _media_playlist([[segments[slice_n]]])
    except Refusal as refusal:
        return refusal.response()


# --- single asset (declared last: its patterns are the broadest) ----------------------------------

@router.get("/ext/{owner}/{external_id}.m3u8", include_in_schema=True)
def play_external(owner: str, external_id: str, request: Request) -> Response:
    return _master(request, _by_external(request.app.state.ctx, owner, external_id))


@router.get("/{asset_id}.m3u8", include_in_schema=True)
def play_asset(asset_id: str, request: Request) -> Response:
    if not _HEX32.match(asset_id):
        return _not_found("asset IDs are 32 lowercase hex characters")
    ctx = request.app.state.ctx
    with ctx.session() as db:
        asset = _live(db, UplynkAsset.id == asset_id)
    return _master(request, asset)
