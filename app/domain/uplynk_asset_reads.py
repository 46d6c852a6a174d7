"""Reading Uplynk assets: the Core queries of the api2 read path and the one loader of the rows an
asset's rendering needs (test players, libraries, media). No HTTP in here.

Reads are the hot path (`asset/get` must keep up with a trivial route), so they use SQLAlchemy Core
rows, which carry the same attributes as ORM objects but cost a fraction. `related` accepts a
Session or a Connection and ORM objects or Core rows alike, so api2 rendering, playback and the
dashboard share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Integer, Row, Select, Subquery, bindparam, select, union_all
from sqlalchemy.orm import Session

from lynkflow.db.engine import OwnConnection, autocommit_cursor
from lynkflow.db.models import Media, UplynkAsset, UplynkLibraryAsset, UplynkLibraryShare, UplynkTestPlayer
from lynkflow.db.prepared import Prepared, statements

A = UplynkAsset.__table__
_PLAYERS = UplynkTestPlayer.__table__
_MEMBERS = UplynkLibraryAsset.__table__
_SHARES = UplynkLibraryShare.__table__
_MEDIA = Media.__table__
Db = Session | Connection


def is_live_of(owner_id: str) -> tuple[ColumnElement[bool], ...]:
    """"A live asset of this owner": the one place it is written (Core and ORM selects use it)."""
    return A.c.owner_id == owner_id, A.c.deleted.is_(None)


def live_assets(owner_id: str) -> Select:
    """The owner's live (not deleted) assets, as Core rows; `.where(...)` narrows it."""
    return select(A).where(*is_live_of(owner_id))


def shared_assets(owner_id: str) -> Select:
    """Other owners' live assets in libraries shared with `owner_id` (each asset once)."""
    shared_ids = (select(_MEMBERS.c.asset_id).join(_SHARES, _SHARES.c.library_id == _MEMBERS.c.library_id)
                  .where(_SHARES.c.owner_id == owner_id))
    return select(A).where(A.c.id.in_(shared_ids), A.c.deleted.is_(None), A.c.owner_id != owner_id)


def library_page(db: Db, library_id: str, limit: int, skip: int) -> list[Row]:
    """One page of the live assets of one library, newest first."""
    members = select(_MEMBERS.c.asset_id).where(_MEMBERS.c.library_id == library_id)
    return list(db.execute(select(A).where(A.c.id.in_(members), A.c.deleted.is_(None))
                           .order_by(A.c.created.desc(), A.c.id).offset(skip).limit(limit)))


# Built once: the hot single-asset lookup (asset/get by ID) and, on a rendering-cache miss, the
# related rows of that one asset.
_ONE_BY_ID = select(A).where(A.c.owner_id == bindparam("owner"), A.c.deleted.is_(None), A.c.id == bindparam("id"))
_PLAYERS_OF_ONE = (select(_PLAYERS).where(_PLAYERS.c.asset_id == bindparam("id"))
                   .order_by(_PLAYERS.c.created, _PLAYERS.c.id))
_LIBRARIES_OF_ONE = (select(_MEMBERS.c.library_id).where(_MEMBERS.c.asset_id == bindparam("id"))
                     .order_by(_MEMBERS.c.library_id))
_ONE_MEDIA = select(_MEDIA).where(_MEDIA.c.id == bindparam("id"))


class HotReads:
    """The reads of asset/get by ID, compiled once and run as autocommit statements.

    The single-asset lookup is the hottest query of the api2 face; going around the Session and
    Connection layers (transaction events, ORM compile state, result processing) costs a fraction.
    Each statement sees the latest commit on its own, as the rendering cache expects (render.py).
    They run on a connection of their own (`OwnConnection`: no pool checkout per call).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._own = OwnConnection(engine)
        self._asset = Prepared(engine.dialect, _ONE_BY_ID)
        self._players = Prepared(engine.dialect, _PLAYERS_OF_ONE)
        self._libraries = Prepared(engine.dialect, _LIBRARIES_OF_ONE)
        self._media = Prepared(engine.dialect, _ONE_MEDIA)

    def asset(self, owner: str, asset_id: str) -> Any | None:
        """The owner's live asset with this id, or None."""
        with self._own.cursor() as cur:
            rows = self._asset.rows(cur, {"owner": owner, "id": asset_id})
        return rows[0] if rows else None

    def related(self, asset: Any) -> Related:
        """`related(db, [asset])` for one asset, without a session."""
        with self._own.cursor() as cur:
            return _related_of_one(cur, asset, self._players, self._libraries, self._media)

    def close(self) -> None:
        self._own.close()


class PageReads:
    """asset/list's `paged` statements, prepared once per statement and page (db/prepared.py) and
    run as autocommit statements on a DB-API cursor.

    A list's page statements are built once per list shape (assets._list_statements) and hold their
    owner and search values; run through a Session each page paid for the transaction, the ORM
    execute path and SQLAlchemy's result processing, several times what the database took. Each
    page is one statement and sees the latest commit, as the rendering cache expects (render.py).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._statements = statements(engine)

    def page(self, stmt: Select, limit: int, skip: int) -> list[Any]:
        """The rows of one `paged` (or `paged_pair`) statement.

        Its values (owner, search terms, limit, skip) are written into its SQL text: the best plan
        depends on them (a common word: walk the owner's assets newest first and probe each; a rare
        one: start from its few index rows), and PostgreSQL's generic plan for a prepared statement
        with `$n` values chose for the rare word whatever the word, so a common word's page read
        and sorted every match (5-13 ms against 0.4 ms, docs/architecture.md)."""
        with autocommit_cursor(self.engine) as cur:  # opened first: the dialect knows the server
            return self._statements.with_values(stmt, {"limit": limit, "skip": skip}).rows(cur, {})


def rows_by_ids(db: Db, owner_id: str, ids: Sequence[str]) -> dict[str, Row]:
    """id → live asset row of the owner, or else of another owner who shares it with this one
    ("any of your libraries": shared assets are readable by ID)."""
    if not ids:
        return {}
    found = {r.id: r for r in db.execute(live_assets(owner_id).where(A.c.id.in_(list(ids))))}
    missing = [i for i in ids if i not in found]
    if missing:
        found.update(shared_by_ids(db, owner_id, missing))
    return found


def shared_by_ids(db: Db, owner_id: str, ids: Sequence[str]) -> dict[str, Row]:
    """id → live asset row of another owner, shared with this one through a library."""
    return {r.id: r for r in db.execute(shared_assets(owner_id).where(A.c.id.in_(list(ids))))}


def rows_by_external_ids(db: Db, owner_id: str, exts: Sequence[str]) -> dict[str, Row]:
    """With duplicate external IDs, the most recently created asset wins ("arbitrary" in the docs)."""
    if not exts:
        return {}
    rows = db.execute(live_assets(owner_id).where(A.c.external_id.in_(list(exts)))
                      .order_by(A.c.created, A.c.id)).all()
    return {r.external_id: r for r in rows}


def live_by_id(db: Db, asset_id: str) -> Row | None:
    """A live asset by id, whoever owns it (playback URLs carry no owner)."""
    return db.execute(select(A).where(A.c.id == asset_id, A.c.deleted.is_(None))).first()


def newest_by_external_id(db: Db, owner_id: str, external_id: str) -> Row | None:
    """The owner's most recently created live asset with this external id (duplicates are possible)."""
    return db.execute(live_assets(owner_id).where(A.c.external_id == external_id)
                      .order_by(A.c.created.desc(), A.c.id).limit(1)).first()


def rows_in_order(db: Db, ids: Sequence[str]) -> list[Row]:
    """The rows of `ids` (deleted ones too), in the order given; unknown ids are left out."""
    if not ids:
        return []
    by_id = {r.id: r for r in db.execute(_ROWS_BY_ID, {"ids": list(ids)})}
    return [by_id[i] for i in ids if i in by_id]


def _page_ids(stmt: Select, order: Sequence[ColumnElement]) -> Subquery:
    """The IDs of one page of an asset query in `order`: the sort and paging see IDs only (the sorter
    never carries every candidate's whole row, meta and all). Limit and skip are parameters, so one
    built statement serves every page."""
    return (stmt.with_only_columns(A.c.id).order_by(*order)
            .offset(bindparam("skip", type_=Integer)).limit(bindparam("limit", type_=Integer)).subquery())


def paged(stmt: Select, order: Sequence[ColumnElement]) -> Select:
    """One page of an asset query in `order`, as one statement (run by `PageReads`): the page's IDs,
    then its full rows joined in and put in the same order."""
    ids = _page_ids(stmt, order)
    return select(A).join(ids, A.c.id == ids.c.id).order_by(*order)


def paged_pair(first: Select, second: Select, order: Sequence[ColumnElement]) -> Select:
    """One page of each of two asset queries, as one statement, in `order`. A second statement cost a
    whole execution (on PostgreSQL a round trip) for a page that is usually empty. The rows do not
    say which query they came from: callers give two queries no asset can match both of, and tell
    the rows apart by what they select (asset/list's own and shared pages: by owner)."""
    # Each page is wrapped in a select of its own: a member of a UNION may not have ORDER BY or LIMIT
    # itself on SQLite.
    ids = union_all(*[select(page.c.id).select_from(page)
                      for page in (_page_ids(first, order), _page_ids(second, order))]).subquery()
    return select(A).join(ids, A.c.id == ids.c.id).order_by(*order)


# --- the one loader of what a rendering needs --------------------------------------------------


@dataclass
class Related:
    """The rows an asset's rendering needs beyond its own row, for a batch of assets."""

    players: dict[str, list[Any]]  # asset id -> test players, oldest first
    libraries: dict[str, list[str]]  # asset id -> library ids, sorted
    media: dict[str, Any]  # media id -> media row

    def players_of(self, asset: Any) -> list[Any]:
        return self.players.get(asset.id, [])

    def media_of(self, asset: Any) -> Any | None:
        return self.media.get(asset.media_id or "")

    def of(self, asset: Any) -> tuple[list[Any], list[str], Any | None]:
        """(players, library ids, media) of one asset: the related arguments of the api2 rendering."""
        return self.players_of(asset), self.libraries.get(asset.id, []), self.media_of(asset)


# Built once, on Core columns (no ORM compile step), with expanding IN lists: rendering a batch of
# assets constructs no statement and computes no cache key (both are memoized on these objects).
_IDS = bindparam("ids", expanding=True)
_ROWS_BY_ID = select(A).where(A.c.id.in_(_IDS))
_PLAYERS_OF = select(_PLAYERS).where(_PLAYERS.c.asset_id.in_(_IDS)).order_by(_PLAYERS.c.created, _PLAYERS.c.id)
_LIBRARIES_OF = (select(_MEMBERS.c.asset_id, _MEMBERS.c.library_id).where(_MEMBERS.c.asset_id.in_(_IDS))
                 .order_by(_MEMBERS.c.library_id))
_MEDIA_BY_ID = select(_MEDIA).where(_MEDIA.c.id.in_(_IDS))


def related(db: Db, assets: Iterable[Any], *, libraries: bool = True) -> Related:
    """Players, libraries (unless not wanted) and media of many assets with one batched query per
    kind, never one per asset. api2 rendering, playback and the dashboard all load through here."""
    assets = list(assets)
    if len(assets) == 1:
        return _related_in_transaction(db, assets[0], libraries=libraries)
    ids = list(dict.fromkeys(a.id for a in assets))
    players: dict[str, list[Any]] = {a: [] for a in ids}
    libs: dict[str, list[str]] = {a: [] for a in ids}
    media: dict[str, Any] = {}
    if not ids:
        return Related(players, libs, media)
    for p in db.execute(_PLAYERS_OF, {"ids": ids}):
        players[p.asset_id].append(p)
    if libraries:
        for asset_id, lib in db.execute(_LIBRARIES_OF, {"ids": ids}):
            libs[asset_id].append(lib)
    media_ids = list({a.media_id for a in assets if a.media_id})
    if media_ids:
        media = {m.id: m for m in db.execute(_MEDIA_BY_ID, {"ids": media_ids})}
    return Related(players, libs, media)


def media_of(db: Db, asset: Any) -> Any | None:
    """The media row of one asset (its ingest outputs), or None before ingest has made one."""
    if not asset.media_id:
        return None
    return db.execute(_ONE_MEDIA, {"id": asset.media_id}).first()


def _related_in_transaction(db: Db, asset: Any, *, libraries: bool) -> Related:
    """`related` for one asset (an update's answer, a playback, the dashboard's asset page) on the
    statements compiled once (db/prepared.py), run on the DB-API cursor of `db`'s own transaction, so
    they see what it wrote. Through the Session, the expanding IN lists of the batch statements were
    rendered again for every call (~300 µs of an asset/update). The Session has flushed what it held
    (`update_asset` flushes a new test player itself; others only read)."""
    with _transaction_cursor(db) as (cur, prepared):
        return _related_of_one(cur, asset, prepared.get(_PLAYERS_OF_ONE),
                               prepared.get(_LIBRARIES_OF_ONE) if libraries else None, prepared.get(_ONE_MEDIA))


def rows_in_transaction(db: Db, stmt: Select, params: dict[str, Any]) -> list[Any]:
    """The rows of a SELECT built once, compiled once (db/prepared.py) and run on the DB-API cursor of
    `db`'s own transaction (an asset/update's row lookup): through the Session, a cheap statement paid
    for its execution layers several times what the database took."""
    with _transaction_cursor(db) as (cur, prepared):
        return prepared.get(stmt).rows(cur, params)


@contextmanager
def _transaction_cursor(db: Db) -> Iterator[tuple[Any, Any]]:
    """A DB-API cursor of `db`'s transaction (begun if need be) and the engine's prepared statements."""
    conn = db if isinstance(db, Connection) else db.connection()  # a Session (or the dispatcher's lazy one)
    cur = conn.connection.cursor()
    try:
        yield cur, statements(conn.engine)
    finally:
        cur.close()


def _related_of_one(cur: Any, asset: Any, players: Prepared, libraries: Prepared | None, media: Prepared) -> Related:
    """The one-asset `Related` read on `cur` with the one-asset statements (`libraries` None: not wanted)."""
    library_ids = [r.library_id for r in libraries.rows(cur, {"id": asset.id})] if libraries is not None else []
    media_rows = media.rows(cur, {"id": asset.media_id}) if asset.media_id else []
    return Related({asset.id: players.rows(cur, {"id": asset.id})}, {asset.id: library_ids},
                   {m.id: m for m in media_rows})
