"""Uplynk libraries and sharing: an owner's library, its assets, and the owners it is shared with.

A shared library's assets show up in the other owner's `asset/list` `shared_assets`. Membership is
part of how an asset renders (`libraries`), so every change moves the asset's `lastmod` forward,
which also invalidates the per-process render cache (app/uplynk/render.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lynkflow import ids
from lynkflow.context import AppContext
from lynkflow.db.models import UplynkAsset, UplynkLibrary, UplynkLibraryAsset, UplynkLibraryShare, UplynkOwner
from lynkflow.domain.uplynk_errors import AssetError


def create_library(db: Session, ctx: AppContext, owner_id: str, desc: str) -> UplynkLibrary:
    now = ctx.clock.now_ms()
    lib = UplynkLibrary(id=ids.hex32(), owner_id=owner_id, desc=desc, created=now, lastmod=now)
    db.add(lib)
    db.flush()
    return lib


def _touch(db: Session, ctx: AppContext, asset_ids: list[str]) -> None:
    """An asset's `libraries` changed: move its lastmod (at least 1 ms, even on a frozen clock)."""
    if not asset_ids:
        return
    now = ctx.clock.now_ms()
    for a in db.scalars(select(UplynkAsset).where(UplynkAsset.id.in_(asset_ids))):
        a.lastmod = max(now, a.lastmod + 1)


def _bump(ctx: AppContext, lib: UplynkLibrary) -> None:
    lib.lastmod = max(ctx.clock.now_ms(), lib.lastmod + 1)


def member_ids(db: Session, library_id: str, asset_ids: Sequence[str]) -> set[str]:
    """Which of `asset_ids` are in the library already."""
    if not asset_ids:
        return set()
    return set(db.scalars(select(UplynkLibraryAsset.asset_id).where(
        UplynkLibraryAsset.library_id == library_id, UplynkLibraryAsset.asset_id.in_(list(asset_ids)))))


def add_to_library(db: Session, ctx: AppContext, library_id: str, asset_ids: list[str]) -> list[str]:
    """Add assets; returns the ones that were not members yet (only those change and move lastmod)."""
    lib = db.get(UplynkLibrary, library_id)
    if lib is None:
        raise AssetError(f"library {library_id} not found")
    present = member_ids(db, library_id, asset_ids)
    added = [aid for aid in dict.fromkeys(asset_ids) if aid not in present]
    for aid in added:
        db.add(UplynkLibraryAsset(library_id=library_id, asset_id=aid))
    if added:
        _bump(ctx, lib)
        _touch(db, ctx, added)
    db.flush()
    return added


def remove_from_library(db: Session, ctx: AppContext, library_id: str, asset_ids: list[str]) -> list[str]:
    """Remove assets; returns the ones that were members (only those change and move lastmod)."""
    present = member_ids(db, library_id, asset_ids)
    removed = [aid for aid in dict.fromkeys(asset_ids) if aid in present]
    if removed:
        db.execute(delete(UplynkLibraryAsset).where(UplynkLibraryAsset.library_id == library_id,
                                                    UplynkLibraryAsset.asset_id.in_(removed)))
        lib = db.get(UplynkLibrary, library_id)
        if lib is not None:
            _bump(ctx, lib)
        _touch(db, ctx, removed)
        db.flush()
    return removed


def rename_library(db: Session, ctx: AppContext, lib: UplynkLibrary, desc: str) -> None:
    if lib.desc != desc:
        lib.desc = desc
        _bump(ctx, lib)
        db.flush()


def share_library(db: Session, library_id: str, with_owner: str) -> bool:
    """Share with another owner; True when the share is new (sharing twice is harmless)."""
    if db.get(UplynkLibraryShare, (library_id, with_owner)) is None:
        db.add(UplynkLibraryShare(library_id=library_id, owner_id=with_owner))
        db.flush()
        return True
    return False


def shared_with(db: Session, library_id: str) -> list[str]:
    return list(db.scalars(select(UplynkLibraryShare.owner_id).where(UplynkLibraryShare.library_id == library_id)
                           .order_by(UplynkLibraryShare.owner_id)))


def owner_exists(db: Session, owner_id: str) -> bool:
    return db.get(UplynkOwner, owner_id) is not None


def owned_libraries(owner_id: str):  # noqa: ANN201 - a Select
    return select(UplynkLibrary).where(UplynkLibrary.owner_id == owner_id)


def list_owned(db: Session, owner_id: str, limit: int, skip: int) -> list[UplynkLibrary]:
    """One page of the owner's libraries, newest first."""
    return list(db.scalars(owned_libraries(owner_id).order_by(UplynkLibrary.created.desc(), UplynkLibrary.id)
                           .offset(skip).limit(limit)))


def find_owned(db: Session, owner_id: str, library_ids: Sequence[str], *, lock: bool = False
               ) -> dict[str, UplynkLibrary]:
    """The owner's libraries among `library_ids`; another owner's library is simply not there.

    `lock` reads them FOR UPDATE (PostgreSQL), so concurrent membership changes to one library queue
    up instead of racing on the same rows; SQLite writers are serialised already (BEGIN IMMEDIATE).
    """
    if not library_ids:
        return {}
    stmt = owned_libraries(owner_id).where(UplynkLibrary.id.in_(list(library_ids)))
    rows = db.scalars(stmt.with_for_update() if lock else stmt)
    return {lib.id: lib for lib in rows}


def asset_counts(db: Session, library_ids: Sequence[str]) -> dict[str, int]:
    """Live (not deleted) member assets per library."""
    out = {lid: 0 for lid in library_ids}
    if library_ids:
        rows = db.execute(select(UplynkLibraryAsset.library_id, func.count())
                          .join(UplynkAsset, UplynkAsset.id == UplynkLibraryAsset.asset_id)
                          .where(UplynkLibraryAsset.library_id.in_(list(library_ids)), UplynkAsset.deleted.is_(None))
                          .group_by(UplynkLibraryAsset.library_id))
        for lid, n in rows:
            out[lid] = int(n)
    return out


def libraries_for(db: Session, asset_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {a: [] for a in asset_ids}
    if asset_ids:
        rows = db.execute(select(UplynkLibraryAsset.asset_id, UplynkLibraryAsset.library_id)
                          .where(UplynkLibraryAsset.asset_id.in_(asset_ids))
                          .order_by(UplynkLibraryAsset.library_id))
        for asset_id, lib in rows:
            out[asset_id].append(lib)
    return out
