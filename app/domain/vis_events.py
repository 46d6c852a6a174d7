"""VIS events: the model behind `/api/event/*` (no HTTP here); vuflows are in vis_vuflows.

Also the hooks the ingest job calls to give an event its recording: `create_event_for_ingest`,
`on_ingest_done` (copies the recording's MP4 and thumbnail into the event's VOD folder, where the
VIS keeps an event's files, and makes SYSTEM assets for them) and `on_ingest_failed`.

Storage: an event's folder is ``<contentId>/`` under the VIS root, its VOD folder
``<contentId>/vod/``; every path stored on a row is relative to the VIS root.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import Job, Media, VisAsset, VisEvent
from lynkflow.domain.vis_errors import VisConflict, VisDomainError, VisNotFound, VisValidation
from lynkflow.domain.vis_vuflows import get_vuflow, is_guid
from lynkflow.storage.paths import UnsafePath, safe_join

__all__ = ["VisConflict", "VisDomainError", "VisNotFound", "VisValidation"]  # re-exported for callers

# --- enums (VIS docs: Event States, MP4 States) --------------------------------------------

EVENT_STATES = [
    "PRE_LIVE", "LIVE_UNPUBLISHED", "LIVE_PUBLISHED", "SUSPENDED", "STOPPED", "INSTANT_VOD",
    "INSTANT_VOD_BACKUP", "INSTANT_VOD_DELETE", "PRE_VOD", "VOD_INGESTING", "VOD_PRIVATE", "VOD_PUBLIC",
    "REMIX_GENERATING", "REMIX_PRIVATE", "REMIX_PUBLIC", "REMIX_ERROR", "VOD_ERROR", "ARCHIVER_PRIVATE",
    "ARCHIVER_PUBLIC", "COMPOSE_GENERATING", "COMPOSE_PUBLIC", "COMPOSE_PRIVATE", "COMPOSE_WAITING",
    "COMPOSE_ERROR", "LIVE_STARTING", "LIVE_STOPPING",
]
PRE_VOD, VOD_INGESTING, VOD_PRIVATE, VOD_PUBLIC, VOD_ERROR = 8, 9, 10, 11, 16
MP4_STATES = {0: "NONE", 1: "AVAILABLE", 2: "GENERATING", 4: "FAILED"}
MP4_NONE, MP4_AVAILABLE = 0, 1

# States an event can be put into through PUT /event/state/{id}: lynkflow has no live encoders, so
# only the VOD protection switch is a real transition (see docs/parity.md, Vuflow / VIS).
SETTABLE_STATES = {VOD_PRIVATE, VOD_PUBLIC}
HAS_RECORDING_STATES = {VOD_PRIVATE, VOD_PUBLIC}

_CONTENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

VOD_MP4_NAME = "{content_id}.mp4"  # the Task Engine's default mp4_filename
VOD_THUMB_NAME = "thumbnail.jpg"


def state_number(value: object) -> int:
    """An event state from its name (any case) or number; raises VisValidation."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int) and 0 <= value < len(EVENT_STATES):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and len(text) <= 2 and int(text) < len(EVENT_STATES):
            return int(text)
        if text.upper() in EVENT_STATES:
            return EVENT_STATES.index(text.upper())
    raise VisValidation(f"'{value}' is not an event state; use one of {', '.join(EVENT_STATES)} or 0-25",
                        "InvalidEventState")


# --- events --------------------------------------------------------------------------------


def get_event(db: Session, api_key: str, event_id: str, *, include_deleted: bool = False) -> VisEvent:
    event = db.get(VisEvent, event_id) if isinstance(event_id, str) else None
    if event is None or event.api_key != api_key or (event.deleted is not None and not include_deleted):
        raise VisNotFound(f"Event {event_id} was not found", "EventNotFound", id=event_id)
    return event


def _check_content_id(db: Session, content_id: str, *, exclude_event: str | None = None) -> None:
    if not _CONTENT_ID.match(content_id):
        raise VisValidation(
            f"contentId '{content_id}' cannot name a storage folder: use 1-100 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit", "InvalidContentId")
    clash = db.scalar(select(VisEvent.id).where(VisEvent.content_id == content_id,
                                                VisEvent.id != (exclude_event or "")))
    if clash is not None:
        raise VisConflict(f"contentId '{content_id}' is already used by event {clash}; content ids name "
                          "storage folders and must be unique", "ContentIdInUse", eventId=clash)


def create_event(db: Session, ctx: AppContext, api_key: str, *, event_id: str | None = None,
                 title: str = "", description: str = "", content_id: str | None = None,
                 external_id: str | None = None, ref_id: str | None = None, vuflow_id: str | None = None,
                 extra: dict[str, Any] | None = None, state: int = PRE_VOD) -> VisEvent:
    if event_id is not None:
        if not is_guid(event_id):
            raise VisValidation(f"id '{event_id}' is not a GUID", "InvalidId")
        if db.get(VisEvent, event_id) is not None:
            raise VisConflict(f"An Event with id {event_id} already exists; use PATCH /event/{event_id} to "
                              "change it", "EventExists", id=event_id)
    if vuflow_id is not None:
        get_vuflow(db, api_key, vuflow_id)
    new_id = event_id or ids.guid()
    content = content_id or new_id
    _check_content_id(db, content)
    now = ctx.clock.now_ms()
    event = VisEvent(id=new_id, api_key=api_key, vuflow_id=vuflow_id, title=title, description=description,
                     content_id=content, external_id=external_id, ref_id=ref_id, state=state,
                     mp4_state=MP4_NONE, extra=dict(extra or {}), created=now, modified=now)
    db.add(event)
    db.flush()
    return event


def update_event(db: Session, ctx: AppContext, api_key: str, event_id: str, changes: dict[str, Any],
                 extra: dict[str, Any]) -> VisEvent:
    """Apply a PATCH: `changes` holds model fields (title, description, ...), `extra` documented extras."""
    event = get_event(db, api_key, event_id)
    if "content_id" in changes and changes["content_id"] not in (None, event.content_id):
        raise VisConflict("contentId cannot change after creation: it names the event's storage folder",
                          "ContentIdImmutable", contentId=event.content_id)
    if changes.get("vuflow_id") is not None:
        get_vuflow(db, api_key, changes["vuflow_id"])
    for field in ("title", "description", "external_id", "ref_id", "vuflow_id"):
        if field in changes:
            value = changes[field]
            if value is None and field in ("title", "description"):
                value = ""  # not-null text columns: null clears them
            setattr(event, field, value)
    if extra:
        event.extra = {**(event.extra or {}), **extra}
    event.modified = ctx.clock.now_ms()
    return event


@dataclass
class EventPage:
    results: list[Any]  # rows of an event's columns and its vuflow's name (vis_event_queries.find_events)
    total: int
    page_size: int


def delete_event(db: Session, ctx: AppContext, api_key: str, event_id: str, *, hard: bool) -> None:
    """Soft delete (restorable) by default; a hard delete removes the row, its assets and its folder."""
    event = get_event(db, api_key, event_id, include_deleted=hard)
    if not hard:
        event.deleted = ctx.clock.now_ms()
        event.modified = event.deleted
        return
    from lynkflow.domain.vis_assets import cancel_asset_jobs

    assets = list(db.scalars(select(VisAsset).where(VisAsset.event_id == event.id)))
    cancel_asset_jobs(db, ctx, assets)
    for asset in assets:
        db.delete(asset)
    folder = event.content_id
    db.delete(event)
    db.flush()
    with contextlib.suppress(UnsafePath):  # a name that cannot be a folder of ours has none to remove
        ctx.storage.remove_tree(f"vis/{folder}")


def restore_event(db: Session, ctx: AppContext, api_key: str, event_id: str) -> VisEvent:
    event = get_event(db, api_key, event_id, include_deleted=True)
    if event.deleted is None:
        raise VisConflict(f"Event {event_id} is not deleted", "EventNotDeleted", id=event_id)
    event.deleted = None
    event.modified = ctx.clock.now_ms()
    return event


def set_state(db: Session, ctx: AppContext, api_key: str, event_id: str, state: int) -> VisEvent:
    event = get_event(db, api_key, event_id)
    if state not in SETTABLE_STATES:
        raise VisConflict(
            f"lynkflow cannot move an event to {EVENT_STATES[state]}: it runs no live encoders; the states "
            "that can be set are VOD_PRIVATE and VOD_PUBLIC", "UnsupportedStateChange",
            state=EVENT_STATES[state])
    if event.state not in HAS_RECORDING_STATES:
        raise VisConflict(f"Event {event_id} is {EVENT_STATES[event.state]}: it has no ingested VOD to make "
                          f"{EVENT_STATES[state]} yet", "EventHasNoVod", state=EVENT_STATES[event.state])
    event.state = state
    event.modified = ctx.clock.now_ms()
    return event


# --- the event's recording -------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """What assets are cut from: a stored media file, its duration and its wall-clock start (if any).

    `relative` names it in storage; a job asks `ctx.storage.local_file` for it when it runs, so an
    API request that only checks times never downloads a recording from an object store."""

    relative: str
    duration: float
    fps: float
    start_ms: int | None
    probe: dict[str, Any] | None = None  # the file's probe (media/probe.py `Probe.to_dict()`)


def recording_of(db: Session, ctx: AppContext, event: VisEvent) -> Recording:
    """The event's recording; VisConflict when it has none yet (not ingested, or ingest failed)."""
    if event.state not in HAS_RECORDING_STATES or not event.vod_file:
        raise VisConflict(
            f"Event {event.id} has no recording to cut from (state {EVENT_STATES[event.state]}); wait until "
            "its VOD is ingested (VOD_PRIVATE or VOD_PUBLIC)", "EventHasNoRecording",
            state=EVENT_STATES[event.state])
    media = db.get(Media, event.media_id) if event.media_id else None
    candidates: list[str] = []
    if media is not None and media.source_path:
        candidates.append(media.source_path)
    candidates.append(f"vis/{event.vod_file}")
    rel = next((c for c in candidates if ctx.storage.exists(c)), None)
    if rel is None:
        raise VisConflict(f"The recording file of event {event.id} is missing from storage; run "
                          f"PUT /asset/sync/{event.id} or ingest it again", "RecordingMissing")
    from_media = media is not None and media.source_path is not None and rel == media.source_path
    info = media.probe if from_media and media.probe else None
    if info is None:
        from lynkflow.media.probe import probe

        info = probe(ctx.storage.local_file(rel)).to_dict()
    return Recording(relative=rel, duration=float(info["duration"]), fps=float(info.get("fps") or 25.0),
                     start_ms=media.recording_start_ms if media is not None else None, probe=info)


# --- ingest hooks (called by lynkflow.domain.ingest) ----------------------------------------------


def create_event_for_ingest(db: Session, ctx: AppContext, *, api_key: str, vuflow_id: str | None, title: str,
                            media_id: str, event_id: str | None = None) -> VisEvent:
    """The event an ingest fills: an existing one (by id) or a new one; state VOD_INGESTING."""
    if event_id is not None and db.get(VisEvent, event_id) is not None:
        event = get_event(db, api_key, event_id)
        if vuflow_id is not None and event.vuflow_id is None:
            event.vuflow_id = get_vuflow(db, api_key, vuflow_id).id
        if title and not event.title:
            event.title = title
    else:
        event = create_event(db, ctx, api_key, event_id=event_id, title=title, vuflow_id=vuflow_id)
    event.media_id = media_id
    event.state = VOD_INGESTING
    event.modified = ctx.clock.now_ms()
    db.flush()
    return event


def attach_ingested_media(db: Session, ctx: AppContext, event: VisEvent, media_id: str) -> None:
    """Give an event the recording of an already-ingested media item (lynkflow extension)."""
    media = db.get(Media, media_id)
    if media is None:
        raise VisNotFound(f"Media {media_id} was not found", "MediaNotFound", mediaId=media_id)
    if media.state != "ready":
        raise VisConflict(f"Media {media_id} is {media.state}, not ready; wait for its ingest to finish or "
                          "use sourcePath to ingest a file", "MediaNotReady", mediaState=media.state)
    create_event_for_ingest(db, ctx, api_key=event.api_key, vuflow_id=None, title="", media_id=media.id,
                            event_id=event.id)
    on_ingest_done(db, ctx, event.id, media, _ingest_job_of(db, media.id))


def _ingest_job_of(db: Session, media_id: str) -> int | None:
    """The job that ingested a media item (the newest, if it was ingested again); None once it is gone."""
    from lynkflow.jobs import kinds

    return db.scalar(select(Job.id).where(Job.kind == kinds.INGEST, Job.payload["media_id"].as_string() == media_id)
                     .order_by(Job.id.desc()).limit(1))


def place_file(src: Path, dst: Path, tmp_dir: Path) -> None:
    """Put a copy of src at dst atomically (a hard link when the filesystem allows)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"vis-{ids.hex32()}{dst.suffix}"
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def on_ingest_done(db: Session, ctx: AppContext, event_id: str, media: Media, job_id: int | None = None) -> None:
    """Write the recording's MP4 and thumbnail into the VOD folder; VOD_PRIVATE; SYSTEM assets
    (made by `job_id`, the ingest job, when there is one)."""
    from lynkflow.domain.vis_assets import ensure_system_asset

    event = db.get(VisEvent, event_id)
    if event is None:
        return  # hard-deleted while ingesting: nothing to show it on
    renditions = media.renditions or {}
    files: list[tuple[str, str]] = []  # (rendition key, file name in the VOD folder)
    if renditions.get("mp4"):
        files.append(("mp4", VOD_MP4_NAME.format(content_id=event.content_id)))
    if renditions.get("poster"):
        files.append(("poster", VOD_THUMB_NAME))
    if not files:
        on_ingest_failed(db, ctx, event_id, "the ingest produced no MP4 for the event's VOD folder")
        return
    vod_folder = f"{event.content_id}/vod"
    written: list[str] = []
    for key, name in files:
        src = ctx.storage.local_file(f"{media.output_dir or ''}/{renditions[key]}")
        dst = safe_join(ctx.storage.vis_root, vod_folder, name)
        place_file(src, dst, ctx.storage.tmp)
        ctx.storage.publish(f"vis/{vod_folder}/{name}")
        written.append(f"{vod_folder}/{name}")
    event.media_id = media.id
    event.vod_folder = vod_folder
    event.vod_file = written[0]
    event.state = VOD_PRIVATE
    event.mp4_state = MP4_AVAILABLE
    event.modified = ctx.clock.now_ms()
    for rel in written:
        ensure_system_asset(db, ctx, event, rel, job_id)
    db.flush()


def on_ingest_failed(db: Session, ctx: AppContext, event_id: str, reason: str) -> None:
    event = db.get(VisEvent, event_id)
    if event is None:
        return
    event.state = VOD_ERROR
    event.extra = {**(event.extra or {}), "lynkflowIngestError": reason}
    event.modified = ctx.clock.now_ms()
