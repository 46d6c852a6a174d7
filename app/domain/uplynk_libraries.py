"""Uplynk libraries and sharing: an owner's library, its assets, and the owners it is shared with.

A shared library's assets show up in the other owner's `asset/list` `shared_assets`. Membership is
part of how an asset renders (`libraries`), so every change moves the asset's `lastmod` forward,
which also invalidates the per-process render cache (app/uplynk/reads.py).
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import ids
from app.context import AppContext
from app.db.models import UplynkAsset, UplynkLibrary, UplynkLibraryAsset, UplynkLibraryShare
from app.domain.uplynk_assets import AssetError


def create_library(db: Session, ctx: AppContext, owner_id: str, desc: str) -> UplynkLibrary:
    now = ctx.clock.now_ms()
    lib = UplynkLibrary(id=ids.hex32(), owner_id=owner_id, desc=desc, created=now, lastmod=now)
    db.add(lib)
    db.flush()
    return lib


def _touch(db: Session, ctx: AppContext, asset_ids: list[str]) -> None:
    """An asset's `libraries` changed: move its lastmod (at least 1 ms, even on a frozen clock)."""
    now = ctx.clock.now_ms()
    for a in db.scalars(select(UplynkAsset).where(UplynkAsset.id.in_(asset_ids))):
        a.lastmod = max(now, a.lastmod + 1)


def add_to_library(db: Session, ctx: AppContext, library_id: str, asset_ids: list[str]) -> None:
    lib = db.get(UplynkLibrary, library_id)
    if lib is None:
        raise AssetError(f"library {library_id} not found")
    for aid in asset_ids:
        if db.get(UplynkLibraryAsset, (library_id, aid)) is None:
            db.add(UplynkLibraryAsset(library_id=library_id, asset_id=aid))
    lib.lastmod = ctx.clock.now_ms()
    _touch(db, ctx, asset_ids)
    db.flush()


def remove_from_library(db: Session, ctx: AppContext, library_id: str, asset_ids: list[str]) -> None:
    db.execute(delete(UplynkLibraryAsset).where(UplynkLibraryAsset.library_id == library_id,
                                                UplynkLibraryAsset.asset_id.in_(asset_ids)))
    _touch(db, ctx, asset_ids)


def share_library(db: Session, library_id: str, with_owner: str) -> None:
    if db.get(UplynkLibraryShare, (library_id, with_owner)) is None:
        db.add(UplynkLibraryShare(library_id=library_id, owner_id=with_owner))
        db.flush()


def libraries_for(db: Session, asset_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {a: [] for a in asset_ids}
    if asset_ids:
        rows = db.execute(select(UplynkLibraryAsset.asset_id, UplynkLibraryAsset.library_id)
                          .where(UplynkLibraryAsset.asset_id.in_(asset_ids))
                          .order_by(UplynkLibraryAsset.library_id))
        for asset_id, lib in rows:
            out[asset_id].append(lib)
    return out
