"""VIS assets: GIF/VIDEO/IMAGE requests, listing, renaming, deleting and storage sync (no HTTP).

An asset's `path` is relative to the VIS storage root: user assets live in
``<contentId>/assets/<filename>.<ext>``, SYSTEM assets are the files in the event's VOD folder
(``<contentId>/vod/``). Requests are validated completely before anything is written or queued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import Job, VisAsset, VisEvent, VisVuflow
from lynkflow.db.prepared import statements
from lynkflow.domain.vis_events import (
    Recording,
    VisConflict,
    VisNotFound,
    VisValidation,
    get_event,
)
from lynkflow.domain.vis_vuflows import default_vuflow_id
from lynkflow.jobs import kinds, queue
from lynkflow.storage.paths import UnsafePath, safe_join

ASSET_STATES = ["GENERATING", "COMPLETED", "FAILED"]
ASSET_TYPES = ["SYSTEM", "IMAGE", "VIDEO", "GIF"]
GENERATING, COMPLETED, FAILED = 0, 1, 2
SYSTEM, IMAGE, VIDEO, GIF = 0, 1, 2, 3
PAGE_SIZE = 100
#: Asset type → (job kind, file extension).
JOB_KINDS = {GIF: (kinds.VIS_GIF, "gif"), VIDEO: (kinds.VIS_VIDEO, "mp4"), IMAGE: (kinds.VIS_IMAGE, "jpg")}
MAX_FILENAME = 200


def parse_enum_list(text: str, names: list[str], what: str) -> list[int]:
    """`"COMPLETED,2"` → [1, 2]: names (any case) or numbers, comma-separated."""
    values: list[int] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        if item.isdigit() and int(item) < len(names):
            values.append(int(item))
        elif item.upper() in names:
            values.append(names.index(item.upper()))
        else:
            raise VisValidation(f"'{item}' is not an asset {what}; use {', '.join(names)} or "
                                f"0-{len(names) - 1}", f"InvalidAsset{what.title()}")
    return values


# --- requests ------------------------------------------------------------------------------


@dataclass
class AssetRequest:
    """A validated-shape GIF/VIDEO/IMAGE request; times are seconds into the recording."""

    type: int
    name: str
    filename: str | None
    priority: int
    start: float  # the image time for IMAGE
    end: float | None  # None for IMAGE
    params: dict[str, Any] = field(default_factory=dict)  # renderer options for the job


def asset_file_name(filename: str, ext: str) -> str:
    """The file name under the event's assets folder; VisValidation when it is not a plain name."""
    name = filename.strip()
    if not name:
        raise VisValidation("filename (or name) must not be empty", "InvalidFilename")
    if any(c in name for c in "/\\%") or name.startswith(".") or any(ord(c) < 32 for c in name):
        # '%' too: the name becomes part of the asset URL and must not decode into something else.
        raise VisValidation(
            f"filename '{filename}' must be a plain file name: no '/', '\\', '%', control characters or "
            "leading '.'; assets are written into the event's own assets folder", "InvalidFilename")
    if name.lower().endswith("." + ext):
        name = name[: -len(ext) - 1]  # "goal.GIF" and "goal" both become goal.gif
    name = f"{name}.{ext}"
    if len(name) > MAX_FILENAME:
        raise VisValidation(f"filename is longer than {MAX_FILENAME} characters", "InvalidFilename")
    return name


def _check_times(req: AssetRequest, rec: Recording) -> None:
    # Half a frame of slack: a clip ending exactly at the recording's end is fine even when the
    # container duration is rounded.
    slack = 0.5 / rec.fps
    if req.start < 0:
        raise VisValidation(f"start ({req.start:.3f} s) is before the beginning of the recording",
                            "ClipOutOfRange", duration=rec.duration)
    if req.end is None:
        if req.start >= rec.duration:
            raise VisValidation(f"time {req.start:.3f} s is beyond the recording, which lasts "
                                f"{rec.duration:.3f} s", "ClipOutOfRange", duration=rec.duration)
        return
    if req.end <= req.start:
        raise VisValidation(f"end ({req.end:.3f} s) must be after start ({req.start:.3f} s)",
                            "ClipEndNotAfterStart")
    if req.end > rec.duration + slack:
        raise VisValidation(f"end ({req.end:.3f} s) is beyond the recording, which lasts {rec.duration:.3f} s",
                            "ClipOutOfRange", duration=rec.duration)


def request_asset(db: Session, ctx: AppContext, event: VisEvent, rec: Recording, req: AssetRequest) -> VisAsset:
    """Create the asset in GENERATING and queue its job (in the caller's transaction)."""
    kind, ext = JOB_KINDS[req.type]
    _check_times(req, rec)
    file_name = asset_file_name(req.filename or req.name, ext)
    try:
        safe_join(ctx.storage.vis_root, event.content_id, "assets", file_name)
    except UnsafePath as exc:
        raise VisValidation(f"filename '{file_name}' is not usable: {exc}", "InvalidFilename") from None
    rel = f"{event.content_id}/assets/{file_name}"
    clash = db.scalar(select(VisAsset.id).where(VisAsset.event_id == event.id, VisAsset.path == rel))
    if clash is not None:
        raise VisConflict(f"Asset {clash} already uses {rel}; choose another filename or delete that asset",
                          "AssetPathInUse", assetId=clash, path=rel)
    now = ctx.clock.now_ms()
    asset = VisAsset(id=ids.guid(), event_id=event.id, api_key=event.api_key, name=req.name, path=rel,
                     extension=ext, state=GENERATING, type=req.type, content_id=event.content_id,
                     params={"start": req.start, "end": req.end, "priority": req.priority, **req.params},
                     created=now, modified=now)
    try:
        with db.begin_nested():
            db.add(asset)
    except IntegrityError:
        # Two requests for the same file name at once: the unique (event, path) index decides.
        raise VisConflict(f"Another asset already uses {rel}; choose another filename", "AssetPathInUse",
                          path=rel) from None
    payload = {"asset_id": asset.id, "event_id": event.id, "path": rel, "start": req.start, "end": req.end,
               **req.params}
    job = queue.enqueue(db, ctx, kind, payload, priority=req.priority, max_attempts=2)
    asset.job_id = str(job.id)
    return asset


# --- reads ---------------------------------------------------------------------------------


@dataclass
class AssetFilter:
    event_id: str | None = None
    content_id: str | None = None
    job_id: str | None = None
    name: str | None = None
    states: list[int] | None = None
    types: list[int] | None = None
    extensions: list[str] | None = None

    def has_delete_filter(self) -> bool:
        """DEL /asset/ needs at least one of the filters it documents (extensions is not one)."""
        return any(v is not None for v in (self.event_id, self.content_id, self.job_id, self.name,
                                           self.states, self.types))


def _visible(api_key: str) -> Select[tuple[VisAsset]]:
    return (select(VisAsset).join(VisEvent, VisEvent.id == VisAsset.event_id)
            .where(VisAsset.api_key == api_key, VisEvent.deleted.is_(None)))


# The filters bound as values, in order: name, column. The lists (states, types) bind one value each.
_BOUND_FILTERS = (("event_id", VisAsset.event_id), ("content_id", VisAsset.content_id), ("job_id", VisAsset.job_id),
                  ("name", VisAsset.name), ("states", VisAsset.state), ("types", VisAsset.type))
_LIST_FILTERS = frozenset({"states", "types"})
# A filter's shape: False (not given), True (a value), or for a list the number of its distinct values.
Shape = tuple[bool | int, ...]


def _bound(f: AssetFilter) -> tuple[Shape, dict[str, Any]]:
    """Which bound filters `f` sets and how (the statement's shape), and their values.

    A list binds each distinct value as a parameter of its own (`states_0`, ...), not as one expanding
    IN list, which SQLAlchemy renders anew per execution: so each shape's page is a statement prepared
    once (db/prepared.py). Duplicates change nothing in an IN list and would only make more shapes.
    """
    shape: list[bool | int] = []
    values: dict[str, Any] = {}
    for name, _ in _BOUND_FILTERS:
        value = getattr(f, name)
        if value is None:
            shape.append(False)
        elif name in _LIST_FILTERS:
            distinct = list(dict.fromkeys(value))
            shape.append(len(distinct) if distinct else -1)  # -1: an empty list, which matches nothing
            values.update({f"{name}_{i}": v for i, v in enumerate(distinct)})
        else:
            shape.append(True)
            values[name] = value
    return tuple(shape), values


def _bound_condition(name: str, column: Any, on: bool | int) -> ColumnElement[bool]:
    if name not in _LIST_FILTERS:
        return column == bindparam(name)
    if on == -1:
        return false()
    return column.in_([bindparam(f"{name}_{i}") for i in range(on)])


@lru_cache(maxsize=256)
def _bound_conditions(shape: Shape) -> tuple[ColumnElement[bool], ...]:
    """The conditions of the filters `shape` names, built once per shape: a request binds its values."""
    return tuple(_bound_condition(name, column, on) for (name, column), on in zip(_BOUND_FILTERS, shape, strict=True)
                 if on is not False)


def _extension_shape(extensions: list[str]) -> tuple[tuple[bool, ...], dict[str, Any]]:
    """Whether each extension filter matches the end of the path (True) or the extension (False), and
    the values they bind, as `_extension_condition` takes them."""
    # "extensions do not have to be filename extensions specifically", e.g. `_sprite.jpg`: a bare word
    # matches the extension, anything with '.' or '_' matches the end of the path.
    by_path = tuple("." in ext or "_" in ext for ext in extensions)
    return by_path, {f"ext_{i}": _like_escaped(ext) if path else ext.lower()
                     for i, (ext, path) in enumerate(zip(extensions, by_path, strict=True))}


def _like_escaped(text: str) -> str:
    """`text` as a literal in a LIKE pattern with ESCAPE '/': what SQLAlchemy's `autoescape=True` binds."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


@lru_cache(maxsize=256)
def _extension_condition(by_path: tuple[bool, ...]) -> ColumnElement[bool]:
    return or_(*(VisAsset.path.endswith(bindparam(f"ext_{i}"), escape="/") if path
                 else VisAsset.extension == bindparam(f"ext_{i}") for i, path in enumerate(by_path)))


# What GET /asset/ shows, read as plain rows (no ORM objects): the asset's columns, and the
# configuration of the vuflow its files are stored through — the event's, or for an event that names
# none, its key's default one (`default_flow`, the same for every asset of a page: one key). NULL when
# that vuflow is gone. One statement per page, built once: a request binds its values (and a filtered
# request adds its conditions).
_FLOW_ID = func.coalesce(VisEvent.vuflow_id, bindparam("default_flow"))
#: The columns of those rows, in order: vuflow/render.py reads a row by position (cheaper than by name).
ROW_COLUMNS = (VisAsset.id, VisAsset.event_id, VisAsset.name, VisAsset.path, VisAsset.extension, VisAsset.state,
               VisAsset.type, VisAsset.job_id, VisAsset.content_id, VisAsset.created, VisAsset.modified,
               _FLOW_ID.label("flow_id"), VisVuflow.configuration_json.label("flow_configuration"))
_ROWS = (select(*ROW_COLUMNS)
         .join(VisEvent, VisEvent.id == VisAsset.event_id)
         .outerjoin(VisVuflow, VisVuflow.id == _FLOW_ID)
         .where(VisAsset.api_key == bindparam("api_key"), VisEvent.deleted.is_(None)))
_PAGE = _ROWS.order_by(VisAsset.created, VisAsset.id).limit(PAGE_SIZE).offset(bindparam("offset"))
_ONE = _ROWS.where(VisAsset.id == bindparam("asset_id"))


def _row_params(api_key: str, **more: Any) -> dict[str, Any]:
    return {"api_key": api_key, "default_flow": default_vuflow_id(api_key), **more}


@lru_cache(maxsize=256)
def _filtered_page(shape: Shape, extensions: tuple[bool, ...] | None) -> Select[Any]:
    """The page statement for the filters `shape` and `extensions` name, built once (see `_bound_conditions`)."""
    query = _PAGE.where(*_bound_conditions(shape))
    return query if extensions is None else query.where(_extension_condition(extensions))


def list_assets(db: Session, api_key: str, f: AssetFilter, page_index: int) -> list[Any]:
    """A page of the key's assets as rows of what GET /asset/ shows (see `_ROWS`)."""
    shape, values = _bound(f)
    by_path = None
    if f.extensions is not None:
        by_path, ext_values = _extension_shape(f.extensions)
        values.update(ext_values)
    # Prepared (db/prepared.py): one autocommit statement, none of the Session's or the result's layers.
    return statements(db.get_bind()).rows(_filtered_page(shape, by_path),
                                          {**_row_params(api_key, offset=page_index * PAGE_SIZE), **values})


def asset_row(db: Session, api_key: str, asset_id: str) -> Any:
    """One asset as a row like `list_assets` gives; VisNotFound when the key has no such asset."""
    rows = statements(db.get_bind()).rows(_ONE, _row_params(api_key, asset_id=asset_id))  # as in list_assets
    if not rows:
        raise _not_found(asset_id)
    return rows[0]


def _not_found(asset_id: str) -> VisNotFound:
    return VisNotFound(f"Asset {asset_id} was not found", "AssetNotFound", id=asset_id)


def get_asset(db: Session, api_key: str, asset_id: str) -> VisAsset:
    asset = db.scalar(_visible(api_key).where(VisAsset.id == asset_id))
    if asset is None:
        raise _not_found(asset_id)
    return asset


def rename_asset(db: Session, ctx: AppContext, api_key: str, asset_id: str, name: str) -> VisAsset:
    asset = get_asset(db, api_key, asset_id)
    asset.name = name
    asset.modified = ctx.clock.now_ms()
    return asset


# --- deletes -------------------------------------------------------------------------------


def cancel_asset_jobs(db: Session, ctx: AppContext, assets: list[VisAsset]) -> None:
    """Stop the jobs of assets that are going away, in the caller's unit of work (a second session
    would wait on SQLite's write lock held by this one)."""
    for asset in assets:
        if asset.state != GENERATING or not asset.job_id or not asset.job_id.isdigit():
            continue
        job = db.get(Job, int(asset.job_id))
        if job is None:
            continue
        if job.state in (queue.QUEUED, queue.HELD):
            job.state = queue.CANCELLED
            job.finished = ctx.clock.now_ms()
        elif job.state == queue.RUNNING:
            job.cancel_requested = True


def _remove_files(ctx: AppContext, paths: list[str]) -> None:
    for rel in paths:
        try:
            ctx.storage.remove_tree(f"vis/{rel}")
        except (UnsafePath, IsADirectoryError, PermissionError):
            continue


def delete_asset(db: Session, ctx: AppContext, api_key: str, asset_id: str) -> None:
    asset = get_asset(db, api_key, asset_id)
    if asset.type == SYSTEM:
        raise VisValidation(f"Asset {asset_id} is a SYSTEM asset; SYSTEM assets are not deletable",
                            "SystemAssetNotDeletable", id=asset_id)
    cancel_asset_jobs(db, ctx, [asset])
    path = asset.path
    db.delete(asset)
    db.flush()
    _remove_files(ctx, [path])


def delete_assets(db: Session, ctx: AppContext, api_key: str, f: AssetFilter) -> int:
    if not f.has_delete_filter():
        raise VisValidation("Provide at least one filter (eventId, contentId, jobId, name, states or types) "
                            "to delete many assets", "NoDeleteFilter")
    shape, values = _bound(f)
    extension = []
    if f.extensions is not None:
        by_path, ext_values = _extension_shape(f.extensions)
        extension, values = [_extension_condition(by_path)], {**values, **ext_values}
    assets = [a for a in db.scalars(_visible(api_key).where(*_bound_conditions(shape), *extension), values)
              if a.type != SYSTEM]
    cancel_asset_jobs(db, ctx, assets)
    paths = [a.path for a in assets]
    for asset in assets:
        db.delete(asset)
    db.flush()
    _remove_files(ctx, paths)
    return len(assets)


# --- SYSTEM assets and sync ----------------------------------------------------------------


def ensure_system_asset(db: Session, ctx: AppContext, event: VisEvent, rel: str,
                        job_id: int | None = None) -> VisAsset:
    """The asset of a file in storage, created as a COMPLETED SYSTEM asset when there is none.

    `job_id` is the job that wrote the file (an ingest); the asset shows it as its `jobId`, a string
    as in the seed's SYSTEM asset example. A file found without a job (an asset sync) has none.
    """
    existing = db.scalar(select(VisAsset).where(VisAsset.event_id == event.id, VisAsset.path == rel))
    if existing is not None:
        existing.modified = ctx.clock.now_ms()
        if job_id is not None:  # a re-ingest rewrote the file: the newer job made it
            existing.job_id = str(job_id)
        return existing
    file_name = rel.rsplit("/", 1)[-1]
    ext = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    now = ctx.clock.now_ms()
    asset = VisAsset(id=ids.guid(), event_id=event.id, api_key=event.api_key, name=file_name, path=rel,
                     extension=ext[:20], state=COMPLETED, type=SYSTEM, content_id=event.content_id,
                     job_id=str(job_id) if job_id is not None else None, params={}, created=now, modified=now)
    db.add(asset)
    db.flush()
    return asset


@dataclass
class SyncResult:
    has_vod_file_changed: bool
    created: int
    deleted: int
    path_evaluated: str


_VOD_SUFFIXES = (".mp4", ".ism", ".ismv")


def sync_event(db: Session, ctx: AppContext, api_key: str, event_id: str) -> SyncResult:
    """Assets for unlisted files in the VOD folder; drop COMPLETED assets whose file is gone."""
    event = get_event(db, api_key, event_id)
    if not event.vod_file:
        raise VisConflict(f"Event {event_id} has no VOD file; sync needs one, as its folder is what gets "
                          "synchronised", "EventHasNoVod")
    vod_folder = event.vod_folder or event.vod_file.rsplit("/", 1)[0]
    safe_join(ctx.storage.vis_root, vod_folder)
    on_disk = [rel.removeprefix("vis/") for rel in ctx.storage.list_files(f"vis/{vod_folder}")]
    changed = False
    if not ctx.storage.exists(f"vis/{event.vod_file}"):
        replacement = next((p for p in on_disk if p.lower().endswith(_VOD_SUFFIXES)), None)
        event.vod_file = replacement
        changed = True
    known = {a.path: a for a in db.scalars(select(VisAsset).where(VisAsset.event_id == event.id))}
    created = 0
    for rel in on_disk:
        if rel not in known:
            ensure_system_asset(db, ctx, event, rel)
            created += 1
    deleted = 0
    for asset in known.values():
        # GENERATING and FAILED assets have no file yet (or never will); they are not "missing".
        if asset.state == COMPLETED and not ctx.storage.exists(f"vis/{asset.path}"):
            db.delete(asset)
            deleted += 1
    event.modified = ctx.clock.now_ms()
    db.flush()
    return SyncResult(changed, created, deleted, vod_folder)
