"""Reset: remove data (database rows and stored files) and recreate the default accounts.

Three scopes: everything; one Uplynk owner's data (the owner and its API keys stay, so its
credentials keep working); one VIS API key's data (the key stays). Media shared with another
owner's asset or another key's event is kept; media used only by the removed data goes, files too.
Queued or held jobs working for removed data are cancelled (a running one is asked to stop).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lynkflow.context import AppContext
from lynkflow.db.models import (
    Job,
    Media,
    UplynkAsset,
    UplynkAssetTerm,
    UplynkChange,
    UplynkLibrary,
    UplynkLibraryAsset,
    UplynkLibraryShare,
    UplynkOwner,
    UplynkSlicerJob,
    UplynkTestPlayer,
    VisApiKey,
    VisAsset,
    VisEvent,
    VisVuflow,
)
from lynkflow.db.wipe import wipe_all
from lynkflow.domain.vis_vuflows import ensure_default_vuflow
from lynkflow.jobs import queue
from lynkflow.seeding import ensure_default_accounts
from lynkflow.storage.paths import UnsafePath


class ResetError(ValueError):
    """A reset that cannot be done (unknown owner or key), with the reason."""


def reset_everything(ctx: AppContext) -> None:
    wipe_all(ctx.engine)
    for sub in ("media", "uplynk", "vis"):
        ctx.storage.remove_tree(sub)
    shutil.rmtree(ctx.storage.tmp, ignore_errors=True)
    ctx.storage.ensure()
    ensure_default_accounts(ctx)


def _media_used_elsewhere(db: Session, media_ids: set[str], asset_ids: set[str], event_ids: set[str]) -> set[str]:
    if not media_ids:
        return set()
    used = set(db.scalars(select(UplynkAsset.media_id).where(
        UplynkAsset.media_id.in_(media_ids), UplynkAsset.id.not_in(asset_ids or {""}))))
    used |= set(db.scalars(select(VisEvent.media_id).where(
        VisEvent.media_id.in_(media_ids), VisEvent.id.not_in(event_ids or {""}))))
    return used


def _cancel_jobs_for(db: Session, ctx: AppContext, *, media_ids: set[str], asset_ids: set[str],
                     event_ids: set[str], queue_job_ids: set[int]) -> None:
    """Stop unfinished jobs whose payload points at data being removed."""
    pending = db.scalars(select(Job).where(Job.state.not_in(queue.FINAL_STATES)))
    for job in pending:
        p: dict[str, Any] = job.payload or {}
        if (job.id in queue_job_ids or p.get("media_id") in media_ids or p.get("uplynk_asset_id") in asset_ids
                or p.get("vis_event_id") in event_ids or p.get("event_id") in event_ids
                or p.get("asset_id") in asset_ids):
            if job.state in (queue.QUEUED, queue.HELD):
                job.state = queue.CANCELLED
                job.finished = ctx.clock.now_ms()
                job.release_at_ms = None
            else:
                job.cancel_requested = True


def _remove_media(db: Session, ctx: AppContext, media_ids: Iterable[str]) -> list[str]:
    removed = []
    for media in db.scalars(select(Media).where(Media.id.in_(list(media_ids)))):
        removed.append(media.id)
        db.delete(media)
    return removed


def _remove_dirs(ctx: AppContext, base: str, names: Iterable[str]) -> None:
    for name in names:
        try:
            ctx.storage.remove_tree(f"{base}/{name}")
        except UnsafePath:
            continue  # a name that cannot be a folder of ours has no folder to remove


def reset_uplynk_owner(ctx: AppContext, owner_id: str) -> dict[str, int]:
    """Remove one owner's assets, change log, test players, libraries, slicer jobs and files."""
    owner_id = owner_id.strip().lower()
    with ctx.session() as db:
        if db.get(UplynkOwner, owner_id) is None:
            raise ResetError(f"no Uplynk owner {owner_id!r}")
        asset_ids = set(db.scalars(select(UplynkAsset.id).where(UplynkAsset.owner_id == owner_id)))
        media_ids = {m for m in db.scalars(select(UplynkAsset.media_id).where(
            UplynkAsset.owner_id == owner_id, UplynkAsset.media_id.is_not(None)))}
        media_ids -= _media_used_elsewhere(db, media_ids, asset_ids, set())
        slicer = list(db.scalars(select(UplynkSlicerJob).where(UplynkSlicerJob.owner_id == owner_id)))
        _cancel_jobs_for(db, ctx, media_ids=media_ids, asset_ids=asset_ids, event_ids=set(),
                         queue_job_ids={s.queue_job_id for s in slicer if s.queue_job_id is not None})
        library_ids = set(db.scalars(select(UplynkLibrary.id).where(UplynkLibrary.owner_id == owner_id)))
        counts = {"assets": len(asset_ids), "libraries": len(library_ids), "slicerJobs": len(slicer)}
        # Children first, so the same code works with or without ON DELETE CASCADE.
        if asset_ids:
            db.execute(delete(UplynkTestPlayer).where(UplynkTestPlayer.asset_id.in_(asset_ids)))
            db.execute(delete(UplynkLibraryAsset).where(UplynkLibraryAsset.asset_id.in_(asset_ids)))
        if library_ids:
            db.execute(delete(UplynkLibraryAsset).where(UplynkLibraryAsset.library_id.in_(library_ids)))
            db.execute(delete(UplynkLibraryShare).where(UplynkLibraryShare.library_id.in_(library_ids)))
        # Libraries other owners shared with this one stay theirs; only the share to us goes.
        db.execute(delete(UplynkLibraryShare).where(UplynkLibraryShare.owner_id == owner_id))
        db.execute(delete(UplynkLibrary).where(UplynkLibrary.owner_id == owner_id))
        db.execute(delete(UplynkChange).where(UplynkChange.owner_id == owner_id))
        db.execute(delete(UplynkSlicerJob).where(UplynkSlicerJob.owner_id == owner_id))
        if asset_ids:
            db.execute(delete(UplynkAssetTerm).where(UplynkAssetTerm.asset_id.in_(asset_ids)))
        db.execute(delete(UplynkAsset).where(UplynkAsset.owner_id == owner_id))
        db.flush()
        removed_media = _remove_media(db, ctx, media_ids)
        counts["media"] = len(removed_media)
    _remove_dirs(ctx, "uplynk", [owner_id])
    _remove_dirs(ctx, "media", removed_media)
    return counts


def reset_vis_key(ctx: AppContext, api_key: str) -> dict[str, int]:
    """Remove one VIS key's vuflows, events, assets and event folders."""
    with ctx.session() as db:
        if db.get(VisApiKey, api_key) is None:
            raise ResetError(f"no VIS API key {api_key!r}")
        events = list(db.scalars(select(VisEvent).where(VisEvent.api_key == api_key)))
        event_ids = {e.id for e in events}
        folders = {e.content_id for e in events if e.content_id}
        media_ids = {e.media_id for e in events if e.media_id}
        media_ids -= _media_used_elsewhere(db, media_ids, set(), event_ids)
        vis_asset_count = len(list(db.scalars(select(VisAsset.id).where(
            (VisAsset.api_key == api_key) | VisAsset.event_id.in_(event_ids or {""})))))
        _cancel_jobs_for(db, ctx, media_ids=media_ids, asset_ids=set(), event_ids=event_ids, queue_job_ids=set())
        db.execute(delete(VisAsset).where((VisAsset.api_key == api_key) | VisAsset.event_id.in_(event_ids or {""})))
        db.execute(delete(VisEvent).where(VisEvent.api_key == api_key))
        vuflows = db.execute(delete(VisVuflow).where(VisVuflow.api_key == api_key)).rowcount
        db.flush()
        ensure_default_vuflow(db, api_key, ctx.clock.now_ms())  # a reset key is as good as a new one
        removed_media = _remove_media(db, ctx, media_ids)
        counts = {"events": len(event_ids), "assets": vis_asset_count, "vuflows": vuflows,
                  "media": len(removed_media)}
    _remove_dirs(ctx, "vis", folders)
    _remove_dirs(ctx, "media", removed_media)
    return counts
