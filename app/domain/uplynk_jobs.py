"""Cloud-slicer jobs: create (slice a source into a new asset), quickclip (a frame-accurate cut of a
ready asset into a new asset), export (an MP4 of an asset), cancel, delete. No HTTP in here.

A slicer job is a row in `uplynk_slicer_jobs`; its work runs as a row in the durable `jobs` queue
(`queue_job_id`), and its visible state is derived from that queue job (see app/uplynk/render.py).

Sources: a file inside the allowed media folder (LYNKFLOW_MEDIA_DIR), copied into the data dir at
once; or an http(s) URL on the loopback interface, downloaded by an `uplynk.fetch` job (never in
the request, since it may be slow) with a size cap, after which the ingest job is queued and the
slicer job follows it. Other URLs (S3, remote hosts) are refused: lynkflow never reaches out.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import Job, Media, UplynkAsset, UplynkSlicerJob
from lynkflow.domain import uplynk_posters
from lynkflow.jobs import kinds, queue
from lynkflow.jobs.registry import Handler, JobRun, register

MAX_DOWNLOAD_BYTES = 4 * 1024**3
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class SlicerError(ValueError):
    """A slicer request that cannot be done, with a message for the client."""


# --- create -------------------------------------------------------------------------------------


def classify_source(ctx: AppContext, url: str) -> tuple[str, Path | str]:
    """("file", path inside the media folder) or ("http", url on loopback); SlicerError otherwise."""
    from lynkflow.domain.media import MediaSourceError, resolve_allowed_source

    try:
        parsed = urlparse(url)
    except ValueError as exc:  # e.g. a host part that changes under NFKC normalisation
        raise SlicerError(f"source url {url[:200]!r} is not a valid URL or path: {exc}") from None
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        host = (parsed.hostname or "").lower()
        if host not in LOOPBACK_HOSTS:
            raise SlicerError(f"source url host {host or '(none)'!r} is not allowed: lynkflow only fetches from "
                              "127.0.0.1, localhost or ::1; or put the file in the media folder and send its path")
        return "http", url
    if scheme in ("", "file"):
        path = unquote(parsed.path) if scheme == "file" else url
        try:
            return "file", resolve_allowed_source(ctx, path)
        except MediaSourceError as exc:
            raise SlicerError(str(exc)) from None
    raise SlicerError(f"source url scheme {scheme!r} is not supported by lynkflow; use a file in the media "
                      f"folder {ctx.settings.resolved_media_dir} or an http(s) URL on 127.0.0.1")


def _new_job(db: Session, ctx: AppContext, owner: str, kind: str, source: dict, args: dict,
             asset_id: str | None = None) -> UplynkSlicerJob:
    job = UplynkSlicerJob(id=ids.hex32(), owner_id=owner, kind=kind, state="waiting", source=source, args=args,
                          asset_id=asset_id, attempts=0, last_error="", last_start=0, finished=0, progress="",
                          created=ctx.clock.now_ms())
    db.add(job)
    db.flush()
    return job


def _start_ingest(db: Session, ctx: AppContext, media: Media, job: UplynkSlicerJob, ingest: dict[str, Any],
                  priority: int) -> str | None:
    """Queue the ingest that makes the job's asset; returns the new asset's id."""
    from lynkflow.domain.ingest import start_ingest

    started = start_ingest(db, ctx, media, uplynk={**ingest, "owner": job.owner_id, "slicer_job_id": job.id},
                           priority=priority)
    job.queue_job_id = started.job.id
    return started.uplynk_asset_id


def create_job(db: Session, ctx: AppContext, owner: str, source: dict[str, Any], args: dict[str, Any],
               ingest: dict[str, Any], *, priority: int = 5) -> str:
    """Queue a slicing job; `ingest` holds external_id, desc, meta, trim for the new asset.

    A local source is copied into the data dir before the first statement of the (lazy) session,
    so the copy — up to the source size limit — holds no database lock.
    """
    from lynkflow.domain.media import create_media_from_file

    url = source.get("url")
    if not isinstance(url, str) or not url.strip():
        raise SlicerError('source must be {"url": "<file path or http URL>"}')
    kind, where = classify_source(ctx, url.strip())
    if kind == "file":
        assert isinstance(where, Path)
        media = create_media_from_file(db, ctx, where, where.name)  # the copy, then the first write
        job = _new_job(db, ctx, owner, "create", source, args)
        _start_ingest(db, ctx, media, job, ingest, priority)
    else:
        job = _new_job(db, ctx, owner, "create", source, args)
        payload = {"slicer_job_id": job.id, "url": where, "ingest": _jsonable(ingest), "priority": priority}
        job.queue_job_id = queue.enqueue(db, ctx, kinds.UPLYNK_FETCH, payload, priority=priority).id
    return job.id


def _jsonable(ingest: dict[str, Any]) -> dict[str, Any]:
    out = dict(ingest)
    if out.get("trim") is not None:
        out["trim"] = list(out["trim"])
    return out


def _fetch_run(ctx: AppContext, run: JobRun) -> dict[str, Any]:
    from lynkflow.media.fetch import download

    url = run.payload["url"]
    name = os.path.basename(urlparse(url).path) or "source.mp4"
    tmp = ctx.storage.tmp / f"fetch-{run.payload['slicer_job_id']}-{run.id}.part"
    total = download(url, tmp, max_bytes=MAX_DOWNLOAD_BYTES, on_progress=run.report_progress, cancel=run.cancel)
    return {"path": ctx.storage.relative(tmp), "filename": name, "bytes": total}


def _fetch_finish(ctx: AppContext, job_id: int, payload: dict[str, Any], result: dict[str, Any]) -> None:
    from lynkflow.domain.media import create_media_from_file

    tmp = ctx.storage.root / result["path"]
    with ctx.session() as db:
        job = db.get(UplynkSlicerJob, payload["slicer_job_id"])
        if job is None or job.state == "cancelled":
            tmp.unlink(missing_ok=True)
            return
        media = create_media_from_file(db, ctx, tmp, result.get("filename"), move=True)
        ingest = dict(payload.get("ingest") or {})
        if ingest.get("trim"):
            ingest["trim"] = tuple(ingest["trim"])
        _start_ingest(db, ctx, media, job, ingest, int(payload.get("priority", 5)))


def _slicer_job_failed(ctx: AppContext, job_id: int, payload: dict[str, Any], reason: str) -> None:
    """A fetch or export that failed for good: the slicer job shows why (its state derives from the queue)."""
    with ctx.session() as db:
        job = db.get(UplynkSlicerJob, payload["slicer_job_id"])
        if job is not None:
            job.last_error = reason
            job.finished = ctx.clock.now_ms()


register(Handler(kinds.UPLYNK_FETCH, _fetch_run, _fetch_finish, _slicer_job_failed, lifecycle_group="fetch"))


# --- quickclip ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuickclipSource:
    """What a quickclip cuts from, found before the write: the beam's rendition and the poster."""

    rendition: Path
    original_name: str
    beam_desc: str
    poster: tuple[bytes, str] | None


def quickclip_source(db: Session, ctx: AppContext, owner: str, beam_id: str, start_ms: int, duration_ms: int,
                     poster_ts_ms: int | None = None) -> QuickclipSource:
    """Check a clip of [start, start + duration) ms of the ready asset `beam_id`, and decode its
    poster (at `poster_ts_ms`, relative to the clip start) — in a read session, so the decode holds
    no write lock and a bad time is refused before any write.

    The cut is taken from the beam's highest-ray MP4 (the asset timeline that getframe shows and
    the clip times refer to), not from its original upload: an asset made with `trim` (or a clip of
    a clip) does not start at the upload's time 0.
    """
    if start_ms < 0 or duration_ms <= 0:
        raise SlicerError("the clip needs start >= 0 and duration > 0 (milliseconds)")
    if poster_ts_ms is not None and not 0 <= poster_ts_ms < duration_ms:
        raise SlicerError(f"args.poster_ts {poster_ts_ms} ms is outside the clip; it is relative to the clip "
                          f"start and must be in [0, {duration_ms}) ms")
    rendition, original_name, beam_desc = _beam_rendition(db, ctx, owner, beam_id, start_ms, duration_ms)
    poster: tuple[bytes, str] | None = None
    if poster_ts_ms is not None:
        from lynkflow.media.errors import MediaError
        from lynkflow.media.frames import frame_at

        try:
            poster = (frame_at(rendition, (start_ms + poster_ts_ms) / 1000.0, fmt="jpeg"), "jpg")
        except MediaError as exc:  # e.g. no frame that late in a rendition slightly shorter than `duration`
            raise SlicerError(f"args.poster_ts: {exc}") from None
    return QuickclipSource(rendition, original_name, beam_desc, poster)


def create_quickclip(db: Session, ctx: AppContext, owner: str, beam_id: str, start_ms: int, duration_ms: int,
                     found: QuickclipSource, source: dict[str, Any], args: dict[str, Any], ingest: dict[str, Any],
                     *, priority: int = 5) -> str:
    """Queue the clip `quickclip_source` checked as a new asset. The rendition is copied into a new
    media item and goes through the ordinary ingest with `trim`, which cuts frame-accurately before
    encoding. `ingest` holds external_id, desc (empty: "Clip of <beam desc>") and meta."""
    from lynkflow.domain.media import create_media_from_file

    # The copy first (no lock yet), then the beam is checked again inside the write: it may have
    # been deleted since `quickclip_source` read it.
    media = create_media_from_file(db, ctx, found.rendition, found.original_name)
    _beam_rendition(db, ctx, owner, beam_id, start_ms, duration_ms)
    job = _new_job(db, ctx, owner, "quickclip", source, args)
    fields = {**ingest, "desc": ingest.get("desc") or f"Clip of {found.beam_desc}"[:1000], "source": "clip",
              "trim": (start_ms / 1000.0, (start_ms + duration_ms) / 1000.0)}
    asset_id = _start_ingest(db, ctx, media, job, fields, priority)
    if found.poster is not None and asset_id is not None:
        asset = db.get(UplynkAsset, asset_id)
        if asset is not None:
            uplynk_posters.store_poster(ctx, asset, found.poster)
    return job.id


def _own_ready_asset(db: Session, owner: str, asset_id: str, param: str, verb: str) -> UplynkAsset:
    """The caller's live, ready asset, or SlicerError saying which of those it is not."""
    asset = db.scalar(select(UplynkAsset).where(UplynkAsset.id == asset_id, UplynkAsset.owner_id == owner,
                                                UplynkAsset.deleted.is_(None)))
    if asset is None:
        raise SlicerError(f"Asset not found ({param} {asset_id})")
    if asset.state != "ready":
        raise SlicerError(f"asset {asset_id} is {asset.state}; only ready assets can be {verb}")
    return asset


def _beam_rendition(db: Session, ctx: AppContext, owner: str, beam_id: str, start_ms: int,
                    duration_ms: int) -> tuple[Path, str, str]:
    """The beam's highest-ray MP4, original file name and desc; SlicerError when it cannot be clipped."""
    from lynkflow.storage.paths import UnsafePath

    beam = _own_ready_asset(db, owner, beam_id, "beam_id", "clipped")
    beam_ms = int(round(float(beam.duration) * 1000))
    if start_ms + duration_ms > beam_ms:
        raise SlicerError(f"the clip [{start_ms}, {start_ms + duration_ms}) ms goes beyond the end of asset {beam_id}, "
                          f"which is {beam_ms} ms long")
    media = db.get(Media, beam.media_id) if beam.media_id else None
    if media is None or not media.output_dir or not (media.renditions or {}).get("mp4"):
        raise SlicerError(f"asset {beam_id} has no video to clip")
    try:
        rendition = ctx.storage.local_file(f"{media.output_dir}/{media.renditions['mp4']}")
    except (FileNotFoundError, UnsafePath):
        raise SlicerError(f"asset {beam_id} has no video to clip") from None
    return rendition, beam.orig_filename or media.original_filename, beam.desc or ""


# --- export -------------------------------------------------------------------------------------


def create_export(db: Session, ctx: AppContext, owner: str, asset_id: str, aaclc: bool) -> str:
    asset = _own_ready_asset(db, owner, asset_id, "asset", "exported")
    args: dict[str, Any] = {"export_mp4": True}
    if aaclc:
        args["aaclc"] = "1"
    job = _new_job(db, ctx, owner, "export", {}, args, asset_id=asset.id)
    payload = {"slicer_job_id": job.id, "asset_id": asset.id, "owner": owner, "aaclc": aaclc}
    job.queue_job_id = queue.enqueue(db, ctx, kinds.UPLYNK_EXPORT, payload).id
    return job.id


def _export_run(ctx: AppContext, run: JobRun) -> dict[str, Any]:
    from lynkflow.media.clip import remux_mp4
    from lynkflow.storage.paths import safe_join

    with ctx.session() as db:
        asset = db.get(UplynkAsset, run.payload["asset_id"])
        media = db.get(Media, asset.media_id) if asset is not None and asset.media_id else None
        if asset is None or media is None or not media.output_dir or not media.renditions:
            raise ValueError("the asset has no renditions to export")
        source = ctx.storage.local_file(f"{media.output_dir}/{media.renditions['mp4']}")
        duration = float(asset.duration)
    folder = safe_join(ctx.storage.root, "uplynk", run.payload["owner"], "exports")
    folder.mkdir(parents=True, exist_ok=True)
    target = safe_join(folder, f"{run.payload['asset_id']}_{run.payload['slicer_job_id']}.mp4")
    # The highest ray, remuxed with its index up front. AAC-LC is what ingest encodes, so `aaclc`
    # needs no re-encode; HE-AAC (the real default) is not available in the bundled ffmpeg.
    remux_mp4(source, target, duration=duration, on_progress=run.report_progress, cancel=run.cancel)
    ctx.storage.publish(ctx.storage.relative(target))
    return {"export_path": ctx.storage.relative(target)}


def _export_finish(ctx: AppContext, job_id: int, payload: dict[str, Any], result: dict[str, Any]) -> None:
    with ctx.session() as db:
        job = db.get(UplynkSlicerJob, payload["slicer_job_id"])
        if job is not None:
            job.export_path = result["export_path"]
            job.finished = ctx.clock.now_ms()
            job.progress = "Finished successfully"



register(Handler(kinds.UPLYNK_EXPORT, _export_run, _export_finish, _slicer_job_failed, lifecycle_group="export"))


# --- read, cancel, delete -----------------------------------------------------------------------


def get_job(db: Session, owner: str, job_id: str) -> UplynkSlicerJob | None:
    return db.scalar(select(UplynkSlicerJob).where(UplynkSlicerJob.id == job_id, UplynkSlicerJob.owner_id == owner))


def list_jobs(db: Session, owner: str, limit: int, skip: int) -> list[UplynkSlicerJob]:
    return list(db.scalars(select(UplynkSlicerJob).where(UplynkSlicerJob.owner_id == owner)
                           .order_by(UplynkSlicerJob.created.desc(), UplynkSlicerJob.id).offset(skip).limit(limit)))


def queue_jobs_of(db: Session, jobs: list[UplynkSlicerJob]) -> dict[int, Job]:
    """The queue job behind each slicer job (by queue job id), in one query."""
    qids = [j.queue_job_id for j in jobs if j.queue_job_id is not None]
    return {q.id: q for q in db.scalars(select(Job).where(Job.id.in_(qids)))} if qids else {}


# The queue's states as a slicer job shows them (reference §5.1: waiting → assigned → done | error).
_VISIBLE = {queue.QUEUED: "waiting", queue.RUNNING: "assigned", queue.HELD: "assigned", queue.DONE: "done",
            queue.FAILED: "error", queue.CANCELLED: "cancelled"}


def derive_state(job: UplynkSlicerJob, queue_job: Job | None) -> str:
    """A cancel shows at once (the worker stops within seconds); otherwise the queue job's state."""
    if job.state == "cancelled" or queue_job is None:
        return job.state
    return _VISIBLE.get(queue_job.state, job.state)


def visible_state(db: Session, job: UplynkSlicerJob) -> str:
    qj = db.get(Job, job.queue_job_id) if job.queue_job_id is not None else None
    return derive_state(job, qj)


def cancel_job(db: Session, ctx: AppContext, owner: str, job_id: str) -> int | None:
    """Mark the job cancelled; returns its queue job, which the caller asks to stop after the commit
    (`queue.request_cancel`), so a worker never sees the request before the cancel is visible."""
    job = get_job(db, owner, job_id)
    if job is None:
        raise SlicerError(f"Job not found ({job_id})")
    state = visible_state(db, job)
    if state in ("done", "error", "cancelled"):
        raise SlicerError(f"job {job_id} is already {state}; only waiting or assigned jobs can be cancelled")
    qid = job.queue_job_id
    job.state = "cancelled"
    job.finished = ctx.clock.now_ms()
    job.last_error = ""
    return qid


def stop_queue_job(ctx: AppContext, queue_job_id: int | None) -> None:
    """Ask the queue job of a cancelled slicer job to stop (one already finished is left alone)."""
    if queue_job_id is not None:
        with contextlib.suppress(queue.JobError):
            queue.request_cancel(ctx, queue_job_id)


def delete_jobs(db: Session, ctx: AppContext, owner: str, job_ids: list[str]) -> list[list[str]]:
    actions: list[list[str]] = []
    for jid in job_ids:
        job = get_job(db, owner, jid)
        if job is None:
            actions.append([jid, "Not found"])
            continue
        if visible_state(db, job) == "assigned":
            actions.append([jid, "Cannot delete an assigned job; cancel it first"])
            continue
        qid = job.queue_job_id
        db.delete(job)
        db.flush()
        if qid is not None:
            qj = db.get(Job, qid)
            if qj is not None and qj.state == queue.QUEUED:
                qj.state = queue.CANCELLED
                qj.finished = ctx.clock.now_ms()
        actions.append([jid, "deleted"])
    return actions
