"""The read path of the api2 face: Core queries (no ORM identity map) and a cache of rendered assets.

Reads are the hot path (`asset/get` must keep up with a trivial route), so they use SQLAlchemy Core
rows, which render exactly like ORM objects but cost a fraction. Rendered asset dictionaries are
cached per process under the asset's whole row (plus base URL): every request still reads the row,
so a cached rendering is only reused for the exact row the database holds now, also when another
process made the change. Changes that live outside the row (test players, library membership)
move the asset's `lastmod` forward by at least 1 ms, so they change the row too.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, namedtuple
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Row, bindparam, select

from lynkflow.db.models import Media, UplynkAsset, UplynkLibraryAsset, UplynkLibraryShare, UplynkTestPlayer
from lynkflow.uplynk.render import asset_dict

A = UplynkAsset.__table__
CACHE_MAX = 20_000


class _RenderCache:
    def __init__(self, size: int = CACHE_MAX) -> None:
        self._items: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple) -> dict[str, Any] | None:
        with self._lock:
            doc = self._items.get(key)
            if doc is not None:
                self._items.move_to_end(key)
            return doc

    def put(self, key: tuple, doc: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = doc
            if len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _cache(ctx: Any) -> _RenderCache:
    return ctx.caches.get(_RenderCache, _RenderCache)


def live_select(owner: str):  # noqa: ANN201 - a Select
    return select(A).where(A.c.owner_id == owner, A.c.deleted.is_(None))


def shared_select(owner: str):  # noqa: ANN201 - a Select
    """Other owners' live assets in libraries shared with `owner` (each asset once)."""
    shared_ids = (select(UplynkLibraryAsset.asset_id)
                  .join(UplynkLibraryShare, UplynkLibraryShare.library_id == UplynkLibraryAsset.library_id)
                  .where(UplynkLibraryShare.owner_id == owner))
    return select(A).where(A.c.id.in_(shared_ids), A.c.deleted.is_(None), A.c.owner_id != owner)


# Built once: the hot single-asset lookup skips statement construction and cache-key work.
_ONE_BY_ID = select(A).where(A.c.owner_id == bindparam("owner"), A.c.deleted.is_(None), A.c.id == bindparam("id"))


class _OneByIdLookup:
    """`_ONE_BY_ID` compiled once for the engine's dialect and run on a pooled DB-API connection.

    The single-asset lookup is the hottest query of the face; going around the Connection layer
    (transaction events, result processing) halves its cost. A lone SELECT needs no explicit
    transaction on SQLite (autocommit mode, see app/db/engine.py) nor, switched to autocommit for
    the one statement, on PostgreSQL. JSON columns come back as text from SQLite and are
    decoded here, as SQLAlchemy would.
    """

    def __init__(self, engine: Engine) -> None:
        compiled = _ONE_BY_ID.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self.positional = list(compiled.positiontup or [])
        names = [c.name for c in A.c]
        self.row_type = namedtuple("AssetRow", names)  # type: ignore[misc]
        self.json_at = [i for i, c in enumerate(A.c) if isinstance(c.type, JSON)]
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"

    def __call__(self, owner: str, asset_id: str) -> Any | None:
        params: Any = {"owner": owner, "id": asset_id}
        if self.positional:
            params = tuple(params[name] for name in self.positional)
        raw = self.engine.raw_connection()
        driver = raw.driver_connection
        # On PostgreSQL a lone SELECT in autocommit mode is one round trip instead of three
        # (BEGIN, SELECT, and the pool's ROLLBACK on return); the flag is client-side only.
        autocommit = self.is_postgres and not driver.autocommit
        try:
            if autocommit:
                driver.autocommit = True
            cur = raw.cursor()
            try:
                cur.execute(self.sql, params)
                row = cur.fetchone()
            finally:
                cur.close()
        finally:
            if autocommit:
                driver.autocommit = False
            raw.close()
        if row is None:
            return None
        values = list(row)
        for i in self.json_at:
            if isinstance(values[i], (str, bytes)):
                values[i] = json.loads(values[i])
        return self.row_type(*values)


def one_by_id(ctx: Any, owner: str, asset_id: str) -> Any | None:
    return ctx.services.get(_OneByIdLookup, lambda: _OneByIdLookup(ctx.engine))(owner, asset_id)


def rows_by_ids(conn: Connection, owner: str, ids: Sequence[str]) -> dict[str, Row]:
    if not ids:
        return {}
    if len(ids) == 1:
        rows = conn.execute(_ONE_BY_ID, {"owner": owner, "id": ids[0]}).all()
    else:
        rows = conn.execute(live_select(owner).where(A.c.id.in_(list(ids)))).all()
    return {r.id: r for r in rows}


def rows_by_external_ids(conn: Connection, owner: str, exts: Sequence[str]) -> dict[str, Row]:
    """With duplicate external IDs, the most recently created asset wins ("arbitrary" in the docs)."""
    if not exts:
        return {}
    rows = conn.execute(live_select(owner).where(A.c.external_id.in_(list(exts)))
                        .order_by(A.c.created, A.c.id)).all()
    return {r.external_id: r for r in rows}


def render(ctx: Any, conn: Connection | None, base: str, rows: Iterable[Any], *, include_deleted: bool = False
           ) -> list[dict[str, Any]]:
    """Asset dictionaries for rows; opens a connection for related rows only on a cache miss."""
    rows = list(rows)
    cache = _cache(ctx)
    out: list[dict[str, Any] | None] = []
    missing: list[tuple[int, Row, tuple]] = []
    for i, r in enumerate(rows):
        # The whole row is the key: any change to it is a different rendering.
        key = (repr(tuple(r)), base, include_deleted)
        doc = cache.get(key)
        out.append(doc)
        if doc is None:
            missing.append((i, r, key))
    if missing and conn is None:
        with ctx.engine.connect() as own:
            _fill(ctx, own, base, missing, out, include_deleted)
    elif missing:
        assert conn is not None
        _fill(ctx, conn, base, missing, out, include_deleted)
    # Callers may add to a document (e.g. JSON encoding only); hand out shallow copies.
    return [dict(d) for d in out if d is not None]


def _fill(ctx: Any, conn: Connection, base: str, missing: list[tuple[int, Any, tuple]],
          out: list[dict[str, Any] | None], include_deleted: bool) -> None:
    cache = _cache(ctx)
    if missing:
        ids = [r.id for _, r, _ in missing]
        players: dict[str, list[Row]] = {a: [] for a in ids}
        for p in conn.execute(select(UplynkTestPlayer.__table__).where(UplynkTestPlayer.asset_id.in_(ids))
                              .order_by(UplynkTestPlayer.created, UplynkTestPlayer.id)):
            players[p.asset_id].append(p)
        libs: dict[str, list[str]] = {a: [] for a in ids}
        for asset_id, lib in conn.execute(select(UplynkLibraryAsset.asset_id, UplynkLibraryAsset.library_id)
                                          .where(UplynkLibraryAsset.asset_id.in_(ids))
                                          .order_by(UplynkLibraryAsset.library_id)):
            libs[asset_id].append(lib)
        media_ids = list({r.media_id for _, r, _ in missing if r.media_id})
        media = {m.id: m for m in conn.execute(select(Media.__table__).where(Media.id.in_(media_ids)))} \
            if media_ids else {}
        for i, r, key in missing:
            doc = asset_dict(base, r, players[r.id], libs[r.id], media.get(r.media_id or ""),
                             include_deleted=include_deleted)
            cache.put(key, doc)
            out[i] = doc
