"""Read-only, paged queries behind the dashboard (no HTTP here).

Every list is one page (LIMIT/OFFSET over an indexed order) plus one COUNT, and whatever a page
shows about related rows (media files, players, event asset previews) comes from one batched query
per kind, never one per row. So a page costs the same with 10 assets or 100 000.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from lynkflow.db.models import (
    Job,
    Media,
    UplynkApiKey,
    UplynkAsset,
    UplynkOwner,
    UplynkTestPlayer,
    VisApiKey,
    VisAsset,
    VisEvent,
    VisVuflow,
)
from lynkflow.domain import uplynk_asset_reads
from lynkflow.domain.vis_assets import SYSTEM as SYSTEM_ASSET
from lynkflow.domain.vis_events import VOD_THUMB_NAME
from lynkflow.storage.paths import UnsafePath, safe_join
from lynkflow.storage.urls import storage_url

T = TypeVar("T")

ASSETS_PER_PAGE = 50
EVENTS_PER_PAGE = 20
EVENT_ASSETS_PER_PAGE = 50
JOBS_PER_PAGE = 50
PREVIEWS_PER_EVENT = 6
JOB_STATES = ("queued", "running", "held", "done", "failed", "cancelled")
# safe_join needs a base to check a relative path against; the check is lexical, so any folder does.
_CHECK_ROOT = Path("/nonexistent-lynkflow-root")


@dataclass
class Page(Generic[T]):
    items: list[T]
    number: int  # 1-based
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(raw: int | None) -> int:
    return max(1, int(raw or 1))


def _paged(db: Session, query: Select[Any], count_query: Select[Any], number: int, size: int) -> Page[Any]:
    total = int(db.scalar(count_query) or 0)
    # A page past the end shows the last page rather than an empty table.
    number = min(number, max(1, math.ceil(total / size)))
    items = list(db.scalars(query.offset((number - 1) * size).limit(size)))
    return Page(items, number, size, total)


# --- storage URLs --------------------------------------------------------------------------


def media_file_url(media: Media | None, relative: str | None) -> str | None:
    """The /storage URL of one ingest output of a media item, or None when it has none."""
    if media is None or not media.output_dir or not relative:
        return None
    try:
        safe_join(_CHECK_ROOT, media.output_dir, relative)  # refuse odd paths before making a URL
    except UnsafePath:
        return None
    return storage_url("", f"{media.output_dir}/{relative}")


# --- Uplynk assets -------------------------------------------------------------------------


@dataclass
class AssetView:
    """What one dashboard row or player page shows about an Uplynk asset."""

    asset: UplynkAsset
    media: Media | None
    thumb_url: str | None = None
    poster_url: str | None = None
    mp4_url: str | None = None
    hls_url: str | None = None
    thumbs: list[str] = field(default_factory=list)
    players: list[UplynkTestPlayer] = field(default_factory=list)

    @property
    def playable(self) -> bool:
        return self.asset.deleted is None and self.asset.state == "ready" and bool(self.mp4_url or self.hls_url)


def asset_view(asset: UplynkAsset, media: Media | None, players: list[UplynkTestPlayer] | None = None,
               *, all_thumbs: bool = False) -> AssetView:
    view = AssetView(asset=asset, media=media, players=list(players or []))
    r = (media.renditions or {}) if media is not None else {}
    thumbs = [t for t in (r.get("thumbs") or []) if isinstance(t, str)]
    if thumbs:
        # About 10 % in, as the api2 thumb_url does: the first slice is often a black frame.
        view.thumb_url = media_file_url(media, thumbs[min(len(thumbs) - 1, len(thumbs) // 10)])
    if all_thumbs:
        view.thumbs = [u for u in (media_file_url(media, t) for t in thumbs) if u]
    view.poster_url = (storage_url("", asset.poster_path) if asset.poster_path
                       else media_file_url(media, r.get("poster")))
    if view.thumb_url is None:
        view.thumb_url = view.poster_url
    view.mp4_url = media_file_url(media, r.get("mp4"))
    view.hls_url = media_file_url(media, r.get("master_playlist"))
    return view


def owners(db: Session) -> list[tuple[UplynkOwner, int]]:
    """Owners with their live asset counts (one grouped query)."""
    counts = dict(db.execute(select(UplynkAsset.owner_id, func.count()).where(UplynkAsset.deleted.is_(None))
                             .group_by(UplynkAsset.owner_id)).all())
    rows = db.scalars(select(UplynkOwner).order_by(UplynkOwner.created, UplynkOwner.id).limit(200))
    return [(o, int(counts.get(o.id, 0))) for o in rows]


def assets_page(db: Session, owner_id: str, number: int, *, deleted: bool = False,
                size: int = ASSETS_PER_PAGE) -> Page[AssetView]:
    where = [UplynkAsset.owner_id == owner_id,
             UplynkAsset.deleted.is_not(None) if deleted else UplynkAsset.deleted.is_(None)]
    query = select(UplynkAsset).where(*where).order_by(UplynkAsset.created.desc(), UplynkAsset.id.desc())
    count = select(func.count()).select_from(UplynkAsset).where(*where)
    page = _paged(db, query, count, number, size)
    assets: list[UplynkAsset] = page.items
    related = uplynk_asset_reads.related(db, assets, libraries=False)
    page.items = [asset_view(a, related.media_of(a), related.players_of(a)) for a in assets]
    return page


@dataclass
class PlayerTarget:
    """The asset a /player5/{id}.html URL names, and which kind of id named it."""

    view: AssetView
    kind: str  # "test" | "embed" | "asset"


def resolve_player(db: Session, player_id: str) -> PlayerTarget | None:
    """A test-player id, an embed-player id or (lynkflow convenience) an asset id → the asset."""
    kind = "test"
    asset: UplynkAsset | None = None
    player = db.get(UplynkTestPlayer, player_id)
    if player is not None:
        asset = db.get(UplynkAsset, player.asset_id)
    if asset is None:
        kind = "embed"
        asset = db.scalar(select(UplynkAsset).where(UplynkAsset.embed_player_id == player_id).limit(1))
    if asset is None:
        kind = "asset"
        asset = db.get(UplynkAsset, player_id.lower())  # asset ids are lowercase hex; player ids are not
    if asset is None:
        return None
    related = uplynk_asset_reads.related(db, [asset], libraries=False)
    return PlayerTarget(asset_view(asset, related.media_of(asset), related.players_of(asset), all_thumbs=True), kind)


# --- VIS events and assets -----------------------------------------------------------------


@dataclass
class VisAssetView:
    asset: VisAsset
    url: str
    poster: str | None = None  # the event's VOD thumbnail: what an MP4 tile shows before it plays

    @property
    def kind(self) -> str:
        """How the page shows it: "image" (GIF/JPG/PNG), "video" (MP4) or "file"."""
        ext = (self.asset.extension or "").lower()
        if ext in ("gif", "jpg", "jpeg", "png", "webp"):
            return "image"
        if ext in ("mp4", "m4v", "webm"):
            return "video"
        return "file"


def vis_asset_view(asset: VisAsset, poster: str | None = None) -> VisAssetView:
    return VisAssetView(asset, storage_url("", f"vis/{asset.path}"), poster)


def event_posters(db: Session, event_ids: list[str]) -> dict[str, str]:
    """Each event's VOD thumbnail URL (the SYSTEM `thumbnail.jpg` its ingest wrote), in one query.

    An MP4 tile without a poster is a black box until it is played: the first frame of a clip is
    often black, and a small tile never loads enough to show one.
    """
    if not event_ids:
        return {}
    rows = db.execute(select(VisAsset.event_id, VisAsset.path).where(
        VisAsset.event_id.in_(event_ids), VisAsset.type == SYSTEM_ASSET, VisAsset.extension == "jpg"))
    return {event_id: storage_url("", f"vis/{path}") for event_id, path in rows
            if path.endswith(f"/vod/{VOD_THUMB_NAME}")}


@dataclass
class EventView:
    event: VisEvent
    vuflow_name: str | None
    asset_count: int
    previews: list[VisAssetView]
    poster_url: str | None = None

    @property
    def recording_url(self) -> str | None:
        return storage_url("", f"vis/{self.event.vod_file}") if self.event.vod_file else None


def events_page(db: Session, number: int, *, deleted: bool = False, size: int = EVENTS_PER_PAGE) -> Page[EventView]:
    where = [VisEvent.deleted.is_not(None) if deleted else VisEvent.deleted.is_(None)]
    query = select(VisEvent).where(*where).order_by(VisEvent.created.desc(), VisEvent.id.desc())
    page = _paged(db, query, select(func.count()).select_from(VisEvent).where(*where), number, size)
    page.items = _event_views(db, page.items, PREVIEWS_PER_EVENT)
    return page


def _event_views(db: Session, events: list[VisEvent], previews: int) -> list[EventView]:
    ids = [e.id for e in events]
    if not ids:
        return []
    counts = dict(db.execute(select(VisAsset.event_id, func.count()).where(VisAsset.event_id.in_(ids))
                             .group_by(VisAsset.event_id)).all())
    posters = event_posters(db, ids)
    # The newest few assets of each event in one query (a window function; SQLite and PostgreSQL).
    rank = func.row_number().over(partition_by=VisAsset.event_id,
                                  order_by=(VisAsset.created.desc(), VisAsset.id.desc())).label("rank")
    ranked = select(VisAsset.id, rank).where(VisAsset.event_id.in_(ids)).subquery()
    preview_rows = db.scalars(select(VisAsset).join(ranked, ranked.c.id == VisAsset.id)
                              .where(ranked.c.rank <= previews)
                              .order_by(VisAsset.created.desc(), VisAsset.id.desc()))
    by_event: dict[str, list[VisAssetView]] = {}
    for a in preview_rows:
        by_event.setdefault(a.event_id, []).append(vis_asset_view(a, posters.get(a.event_id)))
    flow_ids = [e.vuflow_id for e in events if e.vuflow_id]
    flows = dict(db.execute(select(VisVuflow.id, VisVuflow.name).where(VisVuflow.id.in_(flow_ids))).all()) \
        if flow_ids else {}
    return [EventView(e, flows.get(e.vuflow_id or ""), int(counts.get(e.id, 0)), by_event.get(e.id, []),
                      posters.get(e.id)) for e in events]


def event_detail(db: Session, event_id: str) -> EventView | None:
    event = db.get(VisEvent, event_id)
    if event is None:
        return None
    return _event_views(db, [event], PREVIEWS_PER_EVENT)[0]


def event_assets_page(db: Session, event_id: str, number: int,
                      size: int = EVENT_ASSETS_PER_PAGE) -> Page[VisAssetView]:
    where = [VisAsset.event_id == event_id]
    query = select(VisAsset).where(*where).order_by(VisAsset.created.desc(), VisAsset.id.desc())
    page = _paged(db, query, select(func.count()).select_from(VisAsset).where(*where), number, size)
    poster = event_posters(db, [event_id]).get(event_id)
    page.items = [vis_asset_view(a, poster) for a in page.items]
    return page


# --- jobs ----------------------------------------------------------------------------------


def job_summary(job: Job) -> dict[str, Any]:
    """A job as the dashboard shows and polls it: no payload internals or big results."""
    payload = job.payload or {}
    subject: dict[str, str] = {}
    for key, name in (("uplynk_asset_id", "uplynkAssetId"), ("vis_event_id", "visEventId"),
                      ("asset_id", "visAssetId"), ("event_id", "visEventId"), ("media_id", "mediaId")):
        value = payload.get(key)
        if isinstance(value, str) and value:
            subject.setdefault(name, value)
    return {
        "id": job.id, "kind": job.kind, "state": job.state, "priority": job.priority,
        "progress": round(float(job.progress or 0.0), 1), "attempts": job.attempts,
        "maxAttempts": job.max_attempts, "lastError": job.last_error, "created": job.created,
        "started": job.started, "finished": job.finished, **subject,
    }


def jobs_page(db: Session, number: int, state: str | None = None, size: int = JOBS_PER_PAGE) -> Page[Job]:
    where = [Job.state == state] if state else []
    query = select(Job).where(*where).order_by(Job.id.desc())
    return _paged(db, query, select(func.count()).select_from(Job).where(*where), number, size)


def recent_jobs(db: Session, limit: int, ids: list[int] | None = None) -> list[Job]:
    """The newest `limit` jobs, plus any jobs asked for by id (newest first)."""
    rows = {j.id: j for j in db.scalars(select(Job).order_by(Job.id.desc()).limit(limit))}
    wanted = [i for i in (ids or []) if i not in rows]
    if wanted:
        rows.update({j.id: j for j in db.scalars(select(Job).where(Job.id.in_(wanted[:100])))})
    return sorted(rows.values(), key=lambda j: j.id, reverse=True)


def job_counts(db: Session) -> dict[str, int]:
    counts = dict(db.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    return {s: int(counts.get(s, 0)) for s in JOB_STATES}


# --- credentials ---------------------------------------------------------------------------


def uplynk_keys(db: Session) -> list[tuple[UplynkOwner, list[UplynkApiKey]]]:
    out: list[tuple[UplynkOwner, list[UplynkApiKey]]] = []
    owners_ = list(db.scalars(select(UplynkOwner).order_by(UplynkOwner.created, UplynkOwner.id).limit(50)))
    keys: dict[str, list[UplynkApiKey]] = {}
    if owners_:
        for k in db.scalars(select(UplynkApiKey).where(UplynkApiKey.owner_id.in_([o.id for o in owners_]))
                            .order_by(UplynkApiKey.created, UplynkApiKey.id)):
            keys.setdefault(k.owner_id, []).append(k)
    for o in owners_:
        out.append((o, keys.get(o.id, [])))
    return out


def vis_keys(db: Session) -> list[VisApiKey]:
    return list(db.scalars(select(VisApiKey).order_by(VisApiKey.created, VisApiKey.key).limit(50)))
