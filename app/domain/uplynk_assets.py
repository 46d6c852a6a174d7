"""Uplynk assets: create, update, soft-delete, the ingest hooks, test players and the search-term
index every write keeps current. No HTTP in here. Next to it, by concept: reads
(uplynk_asset_reads.py), the change log (uplynk_changes.py), posters (uplynk_posters.py),
autoexpire (uplynk_autoexpire.py), libraries and sharing (uplynk_libraries.py).

The ingest job calls `create_asset` (state "slicing"), then `on_ingest_done` (state "ready") or
`on_ingest_failed` (state `ERROR_STATE`). Every visible change appends to `uplynk_changes`, which
`asset/changes` reads: creations, updates and state changes are "update", deletions "delete".

The term index (`uplynk_asset_terms`) holds one row per (asset, field, lower-cased word); fields are
`name`, `id`, `external`, `meta` (any metadata value) and `meta:<Field>` (one named field). The
asset/list query language is answered from it, so a search touches matching rows only.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BindParameter, Select, Update, bindparam, select, text
from sqlalchemy.orm import Session

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import (
    Media,
    UplynkAsset,
    UplynkOwner,
    UplynkSlicerJob,
    UplynkTestPlayer,
)
from lynkflow.domain import uplynk_posters
from lynkflow.domain.uplynk_asset_reads import is_live_of, rows_in_transaction
from lynkflow.domain.uplynk_changes import record_change
from lynkflow.domain.uplynk_errors import AssetError
from lynkflow.domain.uplynk_search import pair_rows
from lynkflow.storage.paths import safe_join

ERROR_STATE = "error"
TERM_MAX = 200
FIELD_MAX = 100
MAX_TERMS_PER_ASSET = 5000
_WORD = re.compile(r"\w+", re.UNICODE)


# --- words and terms --------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """Lower-cased whole words (letters, digits, underscore), as the search sees them."""
    return [w[:TERM_MAX] for w in _WORD.findall(text.lower())]


def _meta_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def field_words(desc: str, asset_id: str, external_id: str, meta: dict[str, Any] | None
                ) -> list[tuple[str, list[str]]]:
    """(field, word sequence) pairs of one asset, the unit the index and the evaluator share."""
    out: list[tuple[str, list[str]]] = [("name", words(desc or "")), ("id", [asset_id.lower()])]
    if external_id:
        ext_words = words(external_id)
        out.append(("external", ext_words))
        whole = external_id.lower()[:TERM_MAX]
        if [whole] != ext_words:
            out.append(("external", [whole]))  # external:ma* means "starts with ma"
    for key, value in (meta or {}).items():
        seq = words(_meta_text(value))
        out.append(("meta", seq))
        out.append((("meta:" + str(key))[:FIELD_MAX], seq))
    return out


def term_rows(asset_id: str, desc: str, external_id: str, meta: dict[str, Any] | None) -> list[dict[str, str]]:
    """The asset's index rows: one per (field, word), and one per adjacent word pair (uplynk_search)."""
    seen: set[tuple[str, str]] = set()
    fields = field_words(desc, asset_id, external_id, meta)
    for f, seq in fields:
        for w in seq:
            seen.add((f, w))
            if len(seen) >= MAX_TERMS_PER_ASSET:
                break
    return [{"asset_id": asset_id, "field": f, "term": t} for f, t in sorted(seen)] + pair_rows(asset_id, fields)


# A reindex sends the asset's wanted (field, term) rows as one parameter (PostgreSQL: two arrays,
# unnested; SQLite: one JSON array, read by json_each) and lets the database write the difference:
# a DELETE of the rows not wanted and an INSERT of the wanted ones that skips those present. So the
# statement text never changes, nothing counts against SQLite's limit on bound parameters, the rows
# present are not read first, and rows that stay are not touched. On PostgreSQL both run as one
# statement (a writable CTE: one round trip). Read first, then written one statement per row (an
# executemany each way), it cost ~28 % of an asset/update's CPU on PostgreSQL (~28 rows per update).
_WANTED = {"postgresql": "SELECT * FROM unnest(CAST(:fields AS VARCHAR[]), CAST(:terms AS VARCHAR[]))",
           "sqlite": "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:pairs)"}
_DELETE_UNWANTED = ("DELETE FROM uplynk_asset_terms WHERE asset_id = :asset_id "
                    "AND (field, term) NOT IN (SELECT field, term FROM wanted)")
# (WHERE true: SQLite reads ON CONFLICT after a bare SELECT ... FROM as a join's ON.)
_INSERT_WANTED = ("INSERT INTO uplynk_asset_terms (asset_id, field, term) "
                  "SELECT :asset_id, field, term FROM wanted WHERE true ON CONFLICT DO NOTHING")


def _wanted(dialect: str) -> str:
    return f"WITH wanted (field, term) AS ({_WANTED[dialect]})"


_WRITE_TERMS = {
    "postgresql": [text(f"{_wanted('postgresql')}, unwanted AS ({_DELETE_UNWANTED}) {_INSERT_WANTED}")],
    "sqlite": [text(f"{_wanted('sqlite')} {_DELETE_UNWANTED}"), text(f"{_wanted('sqlite')} {_INSERT_WANTED}")],
}


def reindex(db: Session, asset: UplynkAsset) -> None:
    """Make the asset's index rows `term_rows` of its values, writing only the rows that differ.

    An update mostly keeps most of an asset's words (its id, external id and metadata when only the
    name changes): rewriting every row touched a leaf page of the term index per word, and on SQLite
    each dirty page is a WAL frame at commit (delete-all-and-insert-all cost about twice the SQLite
    time of the update's whole transaction). The rows present are compared in the index itself, not
    recomputed from the old values, so rows an older indexing left behind are removed too.
    """
    pairs = [(r["field"], r["term"]) for r in term_rows(asset.id, asset.desc, asset.external_id, asset.meta)]
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        params: dict[str, Any] = {"fields": [f for f, _ in pairs], "terms": [t for _, t in pairs]}
    else:
        params = {"pairs": json.dumps(pairs, ensure_ascii=False)}
    for statement in _WRITE_TERMS[dialect]:
        db.execute(statement, {"asset_id": asset.id, **params})


# --- create / update / delete -----------------------------------------------------------------


def _new_player(db: Session, ctx: AppContext, asset_id: str, desc: str) -> UplynkTestPlayer:
    player = UplynkTestPlayer(id=ids.player_id(), asset_id=asset_id, desc=desc, created=ctx.clock.now_ms())
    db.add(player)
    return player


def create_asset(
    db: Session,
    ctx: AppContext,
    *,
    owner_id: str,
    media_id: str | None,
    external_id: str = "",
    desc: str = "",
    meta: dict | None = None,
    source: str = "file",
    orig_filename: str | None = None,
) -> UplynkAsset:
    """A new asset in state "slicing", with a test player and an embed player, indexed and logged."""
    if db.get(UplynkOwner, owner_id) is None:
        raise AssetError(f"unknown owner {owner_id}")
    now = ctx.clock.now_ms()
    asset = UplynkAsset(
        id=ids.hex32(), owner_id=owner_id, media_id=media_id, external_id=external_id or "",
        desc=desc or (orig_filename or ""), state="slicing", job_type="vod", source=source,
        orig_filename=orig_filename, duration=0.0, rays=0, slices=0, audio_only=0,
        meta=dict(meta or {}), break_offsets=[], embed_player_id=ids.player_id(), autoexpire=0,
        require_drm=0, require_studio_drm=1 if _studio_drm(db, owner_id) else 0,
        created=now, lastmod=now,
    )
    db.add(asset)
    db.flush()
    _new_player(db, ctx, asset.id, "Test Player")
    reindex(db, asset)
    record_change(db, ctx, asset, "update", now)
    db.flush()
    return asset


def _studio_drm(db: Session, owner_id: str) -> bool:
    owner = db.get(UplynkOwner, owner_id)
    return bool(owner and owner.studio_drm)


def _break_offsets(media: Media) -> list[dict[str, Any]]:
    extra = (media.renditions or {}).get("extra") or {}
    offsets = extra.get("break_offsets") or (media.probe or {}).get("break_offsets") or []
    out = []
    for b in offsets:
        if isinstance(b, dict) and "offset" in b:
            item = {"break_type": str(b.get("break_type", "AD BREAK")), "offset": float(b["offset"]),
                    "duration": float(b.get("duration", 0.0))}
            if b.get("name"):
                item["name"] = str(b["name"])
            out.append(item)
    return out


_EMPTY_TTML = ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<tt xmlns="http://www.w3.org/ns/ttml" xml:lang="en"><body><div/></body></tt>\n')


def on_ingest_done(db: Session, ctx: AppContext, asset_id: str, media: Media, slicer_job_id: str | None) -> None:
    """The ingest made the renditions: the asset becomes "ready" with its real numbers."""
    asset = db.get(UplynkAsset, asset_id)
    if asset is None:
        return
    result = media.renditions or {}
    probe = media.probe or result.get("probe") or {}
    asset.state = "ready"
    asset.error = None
    asset.duration = float(result.get("duration") or probe.get("duration") or 0.0)
    asset.rays = len(result.get("rays") or [])
    asset.slices = int(result.get("slices") or 0)
    asset.audio_only = 0
    asset.break_offsets = _break_offsets(media)
    if media.original_filename and not asset.orig_filename:
        asset.orig_filename = media.original_filename
    asset.lastmod = ctx.clock.now_ms()
    # An (empty) caption document next to the MP4, so ttml_url answers like the real one does.
    if media.output_dir and result.get("mp4"):
        try:
            ttml = safe_join(ctx.storage.root, media.output_dir, result["mp4"] + ".ttml")
            if not ctx.storage.exists(ctx.storage.relative(ttml)):
                ttml.write_text(_EMPTY_TTML)
                ctx.storage.publish(ctx.storage.relative(ttml))
        except (OSError, ValueError):
            pass
    record_change(db, ctx, asset, "update")
    if slicer_job_id:
        job = db.get(UplynkSlicerJob, slicer_job_id)
        if job is not None:
            job.asset_id = asset.id
            job.progress = "Finished successfully"
            job.finished = ctx.clock.now_ms()


def on_ingest_failed(db: Session, ctx: AppContext, asset_id: str, reason: str, slicer_job_id: str | None) -> None:
    """The ingest failed for good: the asset shows `ERROR_STATE` and the job its `last_error`."""
    asset = db.get(UplynkAsset, asset_id)
    if asset is not None:
        asset.state = ERROR_STATE
        asset.error = reason
        asset.lastmod = ctx.clock.now_ms()
        record_change(db, ctx, asset, "update")
    if slicer_job_id:
        job = db.get(UplynkSlicerJob, slicer_job_id)
        if job is not None:
            job.last_error = reason
            job.progress = "cancelled" if reason == "cancelled" else f"Failed: {reason}"[:200]
            job.finished = ctx.clock.now_ms()
            if asset is not None:
                job.asset_id = asset.id


def live_assets(owner_id: str | BindParameter[str]) -> Select:
    """The owner's live assets as ORM objects, for writes (reads use `uplynk_asset_reads.live_assets`)."""
    return select(UplynkAsset).where(*is_live_of(owner_id))


# Built once (every update and delete starts with it): executing it builds no statement and
# computes no cache key; only the `ids` list is expanded per call.
_LIVE_BY_IDS = live_assets(bindparam("owner")).where(UplynkAsset.id.in_(bindparam("ids", expanding=True)))


def find_by_ids(db: Session, owner_id: str, asset_ids: Iterable[str]) -> dict[str, UplynkAsset]:
    wanted = list(dict.fromkeys(asset_ids))
    if not wanted:
        return {}
    rows = db.scalars(_LIVE_BY_IDS, {"owner": owner_id, "ids": wanted})
    return {a.id: a for a in rows}


# Of several live assets with one external id, the one an external-id call acts on (the docs say
# "arbitrary"; lynkflow picks the most recently created, docs/parity.md): the one rule for both lookups.
NEWEST_FIRST = (UplynkAsset.created.desc(), UplynkAsset.id.desc())


def find_by_external_ids(db: Session, owner_id: str, external_ids: Iterable[str]) -> dict[str, UplynkAsset]:
    """external id → asset; with duplicates, the most recently created one (the docs: "arbitrary")."""
    wanted = list(dict.fromkeys(external_ids))
    if not wanted:
        return {}
    found: dict[str, UplynkAsset] = {}
    for a in db.scalars(live_assets(owner_id).where(UplynkAsset.external_id.in_(wanted)).order_by(*NEWEST_FIRST)):
        found.setdefault(a.external_id, a)
    return found


def by_ids(db: Session, asset_ids: list[str]) -> list[UplynkAsset]:
    """The assets with these ids, whoever owns them, deleted ones too."""
    if not asset_ids:
        return []
    return list(db.scalars(select(UplynkAsset).where(UplynkAsset.id.in_(asset_ids))))


def all_by_external_ids(db: Session, owner_id: str, external_ids: list[str]) -> list[UplynkAsset]:
    """Every live asset carrying one of the external ids (duplicates are possible)."""
    if not external_ids:
        return []
    return list(db.scalars(live_assets(owner_id).where(UplynkAsset.external_id.in_(external_ids))))


# The asset row of an update, read and written by Core statements built once: through the ORM (an
# identity-mapped load, change tracking and a unit-of-work flush) the update's row cost about half
# of the call's own CPU. The row an update wants: the owner's live asset by id, or the most recently
# created one carrying an external id (`NEWEST_FIRST`, as `find_by_external_ids` picks).
_ASSET = UplynkAsset.__table__
_LIVE_ROW_BY_ID = select(_ASSET).where(*is_live_of(bindparam("owner")), _ASSET.c.id == bindparam("id"))
_LIVE_ROW_BY_EXTERNAL_ID = (select(_ASSET).where(*is_live_of(bindparam("owner")),
                                                 _ASSET.c.external_id == bindparam("external_id"))
                            .order_by(*NEWEST_FIRST).limit(1))


def live_row_by_id(db: Session, owner_id: str, asset_id: str) -> Any | None:
    """The owner's live asset with this id, as a read-only row (for `update_asset`), or None."""
    rows = rows_in_transaction(db, _LIVE_ROW_BY_ID, {"owner": owner_id, "id": asset_id})
    return rows[0] if rows else None


def live_row_by_external_id(db: Session, owner_id: str, external_id: str) -> Any | None:
    """The owner's live asset with this external id (the most recently created one), or None."""
    rows = rows_in_transaction(db, _LIVE_ROW_BY_EXTERNAL_ID, {"owner": owner_id, "external_id": external_id})
    return rows[0] if rows else None


@functools.lru_cache(maxsize=64)
def _update_row(columns: tuple[str, ...]) -> Update:
    """`UPDATE uplynk_assets SET <columns> WHERE id = :asset_id`, built once per set of columns: an
    update writes only what it changed (as the ORM's flush did), so unchanged indexed columns are
    not rewritten."""
    return _ASSET.update().where(_ASSET.c.id == bindparam("asset_id")).values(
        {c: bindparam(c) for c in columns})


def update_asset(db: Session, ctx: AppContext, row: Any, changes: dict[str, Any]) -> UplynkAsset:
    """Apply already-parsed changes (keys: external_id, desc, meta, require_drm, require_studio_drm,
    autoexpire, test_player, embed_player, poster) to the asset `row` (`live_row_by_id`) in one
    transaction. Returns the asset as it now is, for rendering: a transient object, never added to
    the session (the row is written by one Core UPDATE of the changed columns)."""
    was = row._asdict()
    asset = UplynkAsset(**was)
    reindex_needed = False
    if "external_id" in changes:
        asset.external_id = changes["external_id"]
        reindex_needed = True
    if "desc" in changes:
        asset.desc = changes["desc"]
        reindex_needed = True
    if "meta" in changes:
        new = changes["meta"]
        asset.meta = {} if new == {} else {**(asset.meta or {}), **new}
        reindex_needed = True
    for key in ("require_drm", "require_studio_drm", "autoexpire"):
        if key in changes:
            setattr(asset, key, changes[key])
    if changes.get("test_player") or changes.get("embed_player"):
        # Players live outside the asset row; move lastmod even on a frozen clock (see app/uplynk/render.py).
        asset.lastmod = max(ctx.clock.now_ms(), asset.lastmod + 1)
    if changes.get("test_player"):
        n = db.scalar(select(UplynkTestPlayer.id).where(UplynkTestPlayer.asset_id == asset.id).limit(1))
        _new_player(db, ctx, asset.id, "Test Player" if n is None else "Additional Test Player")
    if changes.get("embed_player"):
        asset.embed_player_id = ids.player_id()
    if "poster" in changes:
        uplynk_posters.store_poster(ctx, asset, changes["poster"])
    asset.lastmod = max(ctx.clock.now_ms(), asset.lastmod)
    written = {c: getattr(asset, c) for c in _UPDATABLE if getattr(asset, c) != was[c]}
    if written:
        db.execute(_update_row(tuple(sorted(written))), {**written, "asset_id": asset.id})
    if reindex_needed:
        reindex(db, asset)
    record_change(db, ctx, asset, "update", asset.lastmod)
    db.flush()  # a new test player, so that the rendering's read of the players sees it
    return asset


# The columns `update_asset` may change.
_UPDATABLE = ("external_id", "desc", "meta", "require_drm", "require_studio_drm", "autoexpire", "embed_player_id",
              "poster_path", "lastmod")


def soft_delete(db: Session, ctx: AppContext, asset: UplynkAsset, at_ms: int | None = None) -> None:
    now = ctx.clock.now_ms() if at_ms is None else at_ms
    asset.deleted = now
    asset.lastmod = now
    record_change(db, ctx, asset, "delete", now)
