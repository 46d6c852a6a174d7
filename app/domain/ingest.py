"""Ingest: turn a stored media item into renditions, HLS, thumbnails, poster and MP4, then make
the Uplynk asset and/or VIS event that asked for it visible as ready (or failed).

`start_ingest` runs in the caller's transaction: it creates the asset/event rows in their
"processing" states and queues one `ingest` job. The job's `run` does the media work; `finish`
and `fail` (see app/jobs/registry.py) flip the visible states, so no asset or event stays
"processing" forever.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from lynkflow.context import AppContext
from lynkflow.db.models import Job, Media
from lynkflow.domain.media import create_media_from_file, media_source, remove_media_files
from lynkflow.jobs import kinds, queue
from lynkflow.jobs.registry import Handler, JobRun, register


@dataclass
class IngestStarted:
    job: Job
    media_id: str
    uplynk_asset_id: str | None
    vis_event_id: str | None


def start_ingest(db: Session, ctx: AppContext, media: Media, *, uplynk: dict[str, Any] | None = None,
                 vis: dict[str, Any] | None = None, priority: int = 5) -> IngestStarted:
    asset_id = event_id = None
    if uplynk is not None:
        from lynkflow.domain import uplynk_assets

        asset = uplynk_assets.create_asset(
            db, ctx, owner_id=uplynk.get("owner") or ctx.settings.uplynk_owner, media_id=media.id,
            external_id=uplynk.get("external_id") or "", desc=uplynk.get("desc") or media.original_filename,
            meta=uplynk.get("meta") or {}, source=uplynk.get("source", "file"),
            orig_filename=media.original_filename,
        )
        asset_id = asset.id
    if vis is not None:
        from lynkflow.domain import vis_events

        event = vis_events.create_event_for_ingest(
            db, ctx, api_key=vis.get("api_key") or ctx.settings.vuflow_api_key, vuflow_id=vis.get("vuflow_id"),
            title=vis.get("title") or media.original_filename, media_id=media.id, event_id=vis.get("event_id"),
        )
        event_id = event.id
    trim = (uplynk or {}).get("trim")
    payload = {
        "media_id": media.id,
        "uplynk_asset_id": asset_id,
        "slicer_job_id": (uplynk or {}).get("slicer_job_id"),
        "vis_event_id": event_id,
        "trim": list(trim) if trim else None,
    }
    media.state = "processing"
    job = queue.enqueue(db, ctx, kinds.INGEST, payload, priority=priority)
    return IngestStarted(job=job, media_id=media.id, uplynk_asset_id=asset_id, vis_event_id=event_id)


def ingest_file(ctx: AppContext, path: Path, *, original_filename: str | None = None,
                uplynk: dict[str, Any] | None = None, vis: dict[str, Any] | None = None,
                priority: int = 5, move: bool = False) -> IngestStarted:
    """Copy (or, with `move`, rename) a local file into the data dir and queue its ingest (one transaction)."""
    with ctx.session() as db:
        media = create_media_from_file(db, ctx, path, original_filename, move=move)
        return start_ingest(db, ctx, media, uplynk=uplynk, vis=vis, priority=priority)


def _run(ctx: AppContext, job: JobRun) -> dict[str, Any]:
    from lynkflow.media.clip import make_clip
    from lynkflow.media.ingest import ingest
    from lynkflow.media.probe import probe

    with ctx.session() as db:
        media = db.get(Media, job.payload["media_id"])
        if media is None:
            raise ValueError(f"media {job.payload['media_id']} no longer exists")
        source = media_source(ctx, media)
    # Refuses bad input (zero bytes, not media, audio only...) with a clear reason; the probe is
    # handed on, so the source is read once for it.
    info = probe(source)
    scratch = ctx.storage.tmp / f"ingest-{job.payload['media_id']}-{job.id}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        trim = job.payload.get("trim")
        if trim:
            trimmed = scratch / "trimmed.mp4"
            make_clip(source, trimmed, start=float(trim[0]), end=float(trim[1]), frame_accurate=True,
                      cancel=job.cancel, info=info)
            source, info = trimmed, None  # the cut is a new file: ingest probes it
        out_dir = ctx.storage.media_dir(job.payload["media_id"]) / "out"
        result = ingest(source, out_dir, on_progress=job.report_progress, cancel=job.cancel, info=info)
        ctx.storage.publish(ctx.storage.relative(out_dir))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    doc = result.to_dict()
    doc["output_dir"] = ctx.storage.relative(out_dir)
    return doc


def _finish(ctx: AppContext, job_id: int, payload: dict[str, Any], result: dict[str, Any]) -> None:
    with ctx.session() as db:
        media = db.get(Media, payload["media_id"])
        if media is None:
            return
        media.state = "ready"
        media.error = None
        media.probe = result.get("probe")
        media.output_dir = result.get("output_dir")
        media.renditions = result
        media.updated = ctx.clock.now_ms()
        db.flush()
        if payload.get("uplynk_asset_id"):
            from lynkflow.domain import uplynk_assets

            uplynk_assets.on_ingest_done(db, ctx, payload["uplynk_asset_id"], media, payload.get("slicer_job_id"))
        if payload.get("vis_event_id"):
            from lynkflow.domain import vis_events

            vis_events.on_ingest_done(db, ctx, payload["vis_event_id"], media, job_id)


def _fail(ctx: AppContext, job_id: int, payload: dict[str, Any], reason: str) -> None:
    with ctx.session() as db:
        media = db.get(Media, payload["media_id"])
        if media is not None:
            media.state = "error"
            media.error = reason
            media.updated = ctx.clock.now_ms()
            # Nothing can be made of this media item any more: its outputs and its source (which
            # may be gigabytes) go; the row keeps the reason.
            remove_media_files(ctx, media)
        if payload.get("uplynk_asset_id"):
            from lynkflow.domain import uplynk_assets

            uplynk_assets.on_ingest_failed(db, ctx, payload["uplynk_asset_id"], reason, payload.get("slicer_job_id"))
        if payload.get("vis_event_id"):
            from lynkflow.domain import vis_events

            vis_events.on_ingest_failed(db, ctx, payload["vis_event_id"], reason)


register(Handler(kinds.INGEST, _run, _finish, _fail, lifecycle_group="ingest"))


def ingest_seed_media(ctx: AppContext, items: list[dict[str, Any]], base_dir: Path) -> list[int]:
    """Queue the media items of a seed file; synthetic clips are generated first (deterministic).
    Returns the ingest job ids."""
    job_ids = []
    for item in items:
        if "synthetic" in item:
            from lynkflow.fixtures.synth import STANDARD_CLIPS, make_clip

            name = item["synthetic"]
            if name not in STANDARD_CLIPS:
                raise ValueError(f"unknown synthetic clip {name!r}; known: {', '.join(sorted(STANDARD_CLIPS))}")
            target = ctx.settings.resolved_media_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            path = make_clip(target, **STANDARD_CLIPS[name])
        elif "path" in item:
            path = (base_dir / item["path"]).resolve()
            if not path.is_file():
                raise ValueError(f"seed media file not found: {path}")
        else:
            raise ValueError("each seed media item needs \"synthetic\" or \"path\"")
        uplynk = item.get("uplynk")
        if uplynk is not None and uplynk.get("owner") == "default":
            uplynk = {**uplynk, "owner": ctx.settings.uplynk_owner}
        vis = item.get("vis")
        if vis is not None:
            vis = {"api_key": ctx.settings.vuflow_api_key if vis.get("apiKey", "default") == "default"
                   else vis["apiKey"], "vuflow_id": vis.get("vuflowId"), "title": vis.get("title"),
                   "event_id": vis.get("eventId")}
        started = ingest_file(ctx, path, uplynk=uplynk, vis=vis)
        if started.uplynk_asset_id and uplynk and uplynk.get("libraries"):
            from lynkflow.domain.uplynk_libraries import add_to_library

            with ctx.session() as db:
                for library_id in uplynk["libraries"]:
                    add_to_library(db, ctx, library_id, [started.uplynk_asset_id])
        job_ids.append(started.job.id)
    return job_ids
