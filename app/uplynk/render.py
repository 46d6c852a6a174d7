"""The api2 shapes: the asset dictionary (reference §2) and the cloud-slicer job dictionary (§5.1).

URLs point at this lynkflow (`ctx.public_base`): players under /player5/, files under /storage/.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lynkflow.db.models import Job, Media, UplynkAsset, UplynkSlicerJob, UplynkTestPlayer
from lynkflow.domain import uplynk_assets as assets_domain
from lynkflow.domain import uplynk_libraries
from lynkflow.domain.uplynk_jobs import derive_state
from lynkflow.storage.urls import storage_url


def player_url(base: str, player_id: str) -> str:
    return f"{base}/player5/{player_id}.html"


def _media_urls(base: str, media: Media | None) -> dict[str, str]:
    if media is None or not media.output_dir or not media.renditions:
        return {}
    out_dir = media.output_dir.rstrip("/")
    r = media.renditions
    urls: dict[str, str] = {}
    if r.get("mp4"):
        urls["mp4_url"] = storage_url(base, f"{out_dir}/{r['mp4']}")
        urls["ttml_url"] = urls["mp4_url"] + ".ttml"
    thumbs = r.get("thumbs") or []
    if thumbs:
        # The slice thumbnail about 10 % in, like the poster frame (the first one is often black).
        urls["thumb_url"] = storage_url(base, f"{out_dir}/{thumbs[min(len(thumbs) - 1, len(thumbs) // 10)]}")
    if r.get("poster"):
        urls["default_poster_url"] = storage_url(base, f"{out_dir}/{r['poster']}")
    return urls


def asset_dict(base: str, a: UplynkAsset, players: list[UplynkTestPlayer], libraries: list[str],
               media: Media | None, *, include_deleted: bool = False) -> dict[str, Any]:
    tp = [{"desc": p.desc, "id": p.id, "url": player_url(base, p.id)} for p in players]
    doc: dict[str, Any] = {
        "id": a.id,
        "external_id": a.external_id,
        "desc": a.desc,
        "owner": a.owner_id,
        "state": a.state,
        "job_type": a.job_type,
        "source": a.source,
        "orig_filename": a.orig_filename,
        "duration": a.duration,
        "rays": a.rays,
        "slices": a.slices,
        "audio_only": a.audio_only,
        "created": a.created,
        "lastmod": a.lastmod,
        "autoexpire": a.autoexpire,
        "require_drm": a.require_drm,
        "require_studio_drm": a.require_studio_drm,
        "break_offsets": list(a.break_offsets or []),
        "meta": dict(a.meta or {}),
        "libraries": libraries,
        "test_players": tp,
        "test_player_url": tp[0]["url"] if tp else None,
        "embed_player_url": player_url(base, a.embed_player_id) if a.embed_player_id else None,
        "dash_enabled": False,
        "clear_dash": False,
        "thumb_url": None,
        "mp4_url": None,
        "ttml_url": None,
        "default_poster_url": None,
    }
    doc.update(_media_urls(base, media))
    if a.poster_path:
        doc["poster_url"] = storage_url(base, a.poster_path)
    if a.state == assets_domain.ERROR_STATE and a.error:
        doc["error"] = a.error
    if include_deleted and a.deleted:
        doc["deleted"] = a.deleted
    return doc


def asset_dicts(db: Session, base: str, rows: list[UplynkAsset], *, include_deleted: bool = False
                ) -> list[dict[str, Any]]:
    """Render many assets with three batched look-ups (players, libraries, media), not three per asset."""
    ids_ = [a.id for a in rows]
    players = assets_domain.players_for(db, ids_)
    libs = uplynk_libraries.libraries_for(db, ids_)
    media = assets_domain.media_for(db, [a.media_id for a in rows if a.media_id])
    return [asset_dict(base, a, players[a.id], libs[a.id], media.get(a.media_id or ""),
                       include_deleted=include_deleted) for a in rows]


# --- jobs -------------------------------------------------------------------------------------

def job_dict(base: str, job: UplynkSlicerJob, queue_job: Job | None) -> dict[str, Any]:
    state = derive_state(job, queue_job)
    last_error = job.last_error or ((queue_job.last_error or "") if queue_job else "")
    if state == "waiting":
        progress = "Waiting for a slicer" + (f" (retry after: {last_error})" if last_error else "")
    elif state == "assigned":
        pct = queue_job.progress if queue_job else 0.0
        progress = f"{'Exporting' if job.kind == 'export' else 'Slicing'}: {pct:.0f}%"
    elif state == "done":
        progress = "Finished successfully"
    elif state == "cancelled":
        progress = "Cancelled"
    else:
        progress = f"Failed: {last_error}" if last_error else "Failed"
    finished = 0
    if state in ("done", "error", "cancelled"):
        finished = job.finished or (queue_job.finished if queue_job and queue_job.finished else 0) or 0
    doc: dict[str, Any] = {
        "id": job.id,
        "owner": job.owner_id,
        "state": state,
        "source": dict(job.source or {}),
        "args": dict(job.args or {}),
        "asset": job.asset_id,
        "attempts": queue_job.attempts if queue_job else job.attempts,
        "last_error": last_error,
        "last_start": (queue_job.started or 0) if queue_job else job.last_start,
        "finished": finished,
        "created": job.created,
        "progress": progress,
    }
    if job.kind == "export":
        doc["hd_exported_url"] = storage_url(base, job.export_path) if (job.export_path and state == "done") else None
    return doc


def job_dicts(db: Session, base: str, jobs: list[UplynkSlicerJob]) -> list[dict[str, Any]]:
    qids = [j.queue_job_id for j in jobs if j.queue_job_id is not None]
    queue_jobs = {q.id: q for q in db.scalars(select(Job).where(Job.id.in_(qids)))} if qids else {}
    return [job_dict(base, j, queue_jobs.get(j.queue_job_id or -1)) for j in jobs]
