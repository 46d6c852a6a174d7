"""The api2 shapes: the asset dictionary (reference §2) and the cloud-slicer job dictionary (§5.1),
and the per-process cache of rendered assets.

URLs point at this lynkflow (`ctx.public_base`): players under /player5/, files under /storage/.

Rendered asset dictionaries are cached per process under the asset's id, last change and base URL,
and kept only while the whole row read now equals the row they were made from: every request
still reads the row, so a cached rendering is only reused for the exact row the database holds
now, also when another process made the change. Changes that live outside the row (test players,
library membership) move the asset's `lastmod` forward by at least 1 ms, so they change the row too.
A cached rendering also keeps its JSON text once a list has asked for it (`render_asset_texts`), so a
page of unchanged assets is joined from texts (uplynk/encoded.py) instead of encoded again; the text
is valid exactly as long as its rendering, by the same row check.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from lynkflow import jsondoc
from lynkflow.db.models import Job, Media, UplynkAsset, UplynkSlicerJob, UplynkTestPlayer
from lynkflow.domain import uplynk_asset_reads as reads
from lynkflow.domain.uplynk_assets import ERROR_STATE
from lynkflow.domain.uplynk_jobs import derive_state, queue_jobs_of
from lynkflow.storage.urls import storage_url

CACHE_MAX = 20_000


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
    if a.state == ERROR_STATE and a.error:
        doc["error"] = a.error
    if include_deleted and a.deleted:
        doc["deleted"] = a.deleted
    return doc


class _Entry:
    """One cached rendering: the row values it was made from, the document, and its JSON text (encoded
    on first need: only lists ask for it, so a rendering for asset/update or asset/changes costs no encoding)."""

    __slots__ = ("values", "doc", "text")

    def __init__(self, values: tuple | None, doc: dict[str, Any]) -> None:
        self.values = values
        self.doc = doc
        self.text: str | None = None

    def encoded(self) -> str:
        # Two threads may both encode a new entry: the same text, so whichever lands is right.
        text = self.text
        if text is None:
            text = self.text = jsondoc.encode(self.doc)
        return text


class _RenderCache:
    """id, lastmod, base, include_deleted -> the row's values, the rendering and its text; LRU-bounded."""

    def __init__(self, size: int = CACHE_MAX) -> None:
        self._items: OrderedDict[tuple, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get_many(self, wanted: list[tuple[tuple, tuple | None]]) -> list[_Entry | None]:
        """The cached entries of (key, values) pairs, under one lock: an entry is a hit only while its row
        values equal the ones read now; None values (not cacheable) miss."""
        out: list[_Entry | None] = []
        with self._lock:
            for key, values in wanted:
                hit = self._items.get(key) if values is not None else None
                if hit is None or hit.values != values:
                    out.append(None)
                    continue
                self._items.move_to_end(key)
                out.append(hit)
        return out

    def put(self, key: tuple, entry: _Entry) -> None:
        with self._lock:
            self._items[key] = entry
            if len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _cache(ctx: Any) -> _RenderCache:
    return ctx.caches.get(_RenderCache, _RenderCache)


def _hot_reads(ctx: Any) -> reads.HotReads:
    return ctx.services.get(reads.HotReads, lambda: reads.HotReads(ctx.engine))


def render_one_text_by_id(ctx: Any, owner: str, asset_id: str, base: str) -> str | None:
    """The hot path of asset/get: one autocommit statement, and the rendering's JSON text from the cache
    when the row is unchanged (on a miss, the related rows are read the same way). None if not found.
    The text, not a copy of the document: encoding the asset again on every call was ~4 % of the call."""
    hot = _hot_reads(ctx)
    row = hot.asset(owner, asset_id)
    if row is None:
        return None
    return _render(ctx, base, [row], lambda missing: hot.related(missing[0]))[0].encoded()


def render_assets(ctx: Any, db: Session, base: str, rows: Iterable[Any], *, include_deleted: bool = False
                  ) -> list[dict[str, Any]]:
    """Asset dictionaries for rows (Core rows or ORM objects); related rows are loaded only for the
    ones not in the cache. Callers may add to a document: each is a shallow copy."""
    entries = _render(ctx, base, rows, lambda missing: reads.related(db, missing), include_deleted=include_deleted)
    return [dict(e.doc) for e in entries]


def render_asset_texts(ctx: Any, db: Session, base: str, rows: Iterable[Any]) -> list[str]:
    """The JSON text of each row's asset dictionary (`jsondoc.encode` of what `render_assets` gives),
    encoded once per cached rendering, so an unchanged asset listed again costs no encoding."""
    return [e.encoded() for e in _render(ctx, base, rows, lambda missing: reads.related(db, missing))]


def _render(ctx: Any, base: str, rows: Iterable[Any], load_related: Callable[[list[Any]], reads.Related], *,
            include_deleted: bool = False) -> list[_Entry]:
    rows = list(rows)
    # ORM objects (just written by this call) are rendered fresh and not cached.
    wanted = [((r.id, r.lastmod, base, include_deleted), None if isinstance(r, UplynkAsset) else tuple(r))
              for r in rows]
    cache = _cache(ctx)
    out = cache.get_many(wanted)
    missing = [(i, r, values, key) for i, (r, entry, (key, values)) in enumerate(zip(rows, out, wanted, strict=True))
               if entry is None]
    if missing:
        related = load_related([r for _, r, _, _ in missing])
        for i, r, values, key in missing:
            entry = _Entry(values, asset_dict(base, r, *related.of(r), include_deleted=include_deleted))
            if values is not None:
                cache.put(key, entry)
            out[i] = entry
    return [e for e in out if e is not None]


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
    queue_jobs = queue_jobs_of(db, jobs)
    return [job_dict(base, j, queue_jobs.get(j.queue_job_id or -1)) for j in jobs]
