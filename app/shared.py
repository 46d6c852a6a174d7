"""Control-plane state that every lynkflow process shares through the database.

Any number of `lynkflow serve` and `lynkflow worker` processes on one database behave as one
instance: the clock, the lifecycle policies, the fault rules and the API-key cache generation are
rows in `control_state` / `control_faults`, not per-process memory. Each process keeps a cache of
them and checks one number — the version every change bumps — before it relies on the cache: at
the start of each API request, before a worker applies a lifecycle, on each housekeeping tick.
So a change made through one process is seen by the next request any other process serves.

The version check is one primary-key read on a DB-API connection of this object's own (no pool, no
ORM, no transaction), the cheapest round trip the database offers; the same code runs on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

from lynkflow.coalesce import Coalescer
from lynkflow.db.engine import autocommit_connection

VERSION_ROW = "_version"
JOURNAL_ROW = "_journal"  # the number of the last journaled request (lynkflow/control/journal.py)
# Data versions: commits that changed a table VIS lists, or api2 asset/list answers, are made of
# (lynkflow/db/data_version.py keeps them; lynkflow/kept_answers.py keeps answers under them). Read with
# `_version`, so they cost no statement of their own.
VIS_ROW = "_vis"
UPLYNK_ROW = "_uplynk"
DATA_ROWS = (VIS_ROW, UPLYNK_ROW)
COUNTER_ROWS = (VERSION_ROW, JOURNAL_ROW, *DATA_ROWS)
# Never go back, even on a wipe: a process compares them with the ones it last saw.
GROWING_ROWS = (VERSION_ROW, *DATA_ROWS)
_UPDATE_DOC = text("UPDATE control_state SET doc = :doc WHERE name = :name")
_INSERT_DOC = text("INSERT INTO control_state (name, doc, version) VALUES (:name, :doc, 0)")

# Listeners get the new documents after a refresh saw a change (name -> document).
Listener = Callable[[dict[str, Any]], None]


class SharedState:
    """A per-process cache of the `control_state` documents, refreshed by version."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._version: int | None = None
        # The data versions (DATA_ROWS) as of the latest read (each API request's, at its start); a row
        # that is missing is not in it.
        self.data_versions: dict[str, int] = {}
        self._docs: dict[str, Any] = {}
        self._listeners: list[Listener] = []
        self._conn_lock = threading.RLock()
        self._conn: Any = None
        self._postgres = engine.dialect.name == "postgresql"
        self._param = "%s" if self._postgres else "?"
        self._params = ", ".join([self._param] * len(COUNTER_ROWS))
        self._versions_sql = ("SELECT name, version FROM control_state WHERE name IN ("
                              + ", ".join([self._param] * (1 + len(DATA_ROWS))) + ")")
        self._reads: Coalescer[None, None] = Coalescer(self._refresh_for)  # refresh_async's (PostgreSQL)

    # --- reading ---------------------------------------------------------------------------------

    def on_change(self, listener: Listener) -> None:
        """Call `listener(docs)` after every refresh that saw a change."""
        with self._lock:
            self._listeners.append(listener)

    def refresh(self) -> None:
        """Reload the documents if any process changed them since this process last looked."""
        version = self._read_version()
        if version == self._version:
            return
        rows = self._query(f"SELECT name, doc FROM control_state WHERE name NOT IN ({self._params})", COUNTER_ROWS)
        docs = {name: json.loads(doc) for name, doc in rows}
        with self._lock:
            self._version = version
            self._docs = docs
            listeners = list(self._listeners)
        for listener in listeners:
            listener(docs)

    async def refresh_async(self) -> None:
        """`refresh` for a request on the event loop.

        On SQLite the version read is in-process and takes microseconds: it runs inline. On
        PostgreSQL it is a network round trip, which must not block the loop; it runs in the thread
        pool, and concurrent requests share reads: a request that arrives while a read is in flight
        waits for the *next* read (one that starts after it arrived, so it still sees every change
        committed before it came), and that one read serves every request that joined it. So under
        load a process makes one version read at a time instead of one per request.
        """
        if not self._postgres:
            self.refresh()
            return
        await self._reads.submit(None)

    def _refresh_for(self, callers: list[None]) -> list[None]:
        """One `refresh` for every request that joined it (`coalesce.Coalescer`)."""
        self.refresh()
        return [None] * len(callers)

    def get(self, name: str, default: Any = None) -> Any:
        return self._docs.get(name, default)

    # --- writing ---------------------------------------------------------------------------------

    def put(self, name: str, doc: Any) -> None:
        """Store one document and bump the version, in one transaction; then refresh this process."""
        encoded = json.dumps(doc, separators=(",", ":"), sort_keys=True)
        with self.writer().begin() as conn:
            updated = conn.execute(_UPDATE_DOC, {"name": name, "doc": encoded}).rowcount
            if not updated:
                conn.execute(_INSERT_DOC, {"name": name, "doc": encoded})
            bump(conn)
        self.refresh()

    def drop(self, names: list[str], *, put: dict[str, Any] | None = None) -> None:
        """Remove documents (a tenant's) and store others (`put`), with one version bump, in one
        transaction; nothing at all when none of the names is stored and there is nothing to put."""
        names = [n for n in names if n in self._docs]
        if not names and not put:
            return
        with self.writer().begin() as conn:
            if names:
                conn.execute(text("DELETE FROM control_state WHERE name = :name"), [{"name": n} for n in names])
            for name, doc in (put or {}).items():
                encoded = json.dumps(doc, separators=(",", ":"), sort_keys=True)
                if not conn.execute(_UPDATE_DOC, {"name": name, "doc": encoded}).rowcount:
                    conn.execute(_INSERT_DOC, {"name": name, "doc": encoded})
            bump(conn)
        self.refresh()

    def touch(self) -> None:
        """Bump the version without changing a document (e.g. after a fault rule table change)."""
        with self.writer().begin() as conn:
            bump(conn)
        self.refresh()

    def writer(self) -> Engine:
        """The engine for a write transaction (on SQLite it takes the write lock up front)."""
        return self.engine.execution_options(sqlite_begin="IMMEDIATE")

    def forget(self) -> None:
        """Drop the cache: the next refresh reloads (after a reset that rewrote the table)."""
        with self._lock:
            self._version = None

    # --- one round trip on a connection of its own -------------------------------------------

    def _read_version(self) -> int:
        """`_version`; `data_versions` is set from the same read."""
        with self._conn_lock:  # reads and their assignments in one order: a slower, older read never wins
            rows = dict(self._query(self._versions_sql, (VERSION_ROW, *DATA_ROWS)))
            self.data_versions = {name: int(rows[name]) for name in DATA_ROWS if name in rows}
        return int(rows.get(VERSION_ROW, 0))

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """A lone SELECT on this object's own DB-API connection, in autocommit: one round trip
        that sees the latest commit and holds no lock (no pool checkout, no BEGIN/ROLLBACK)."""
        with self._conn_lock:
            conn = self._conn
            if conn is None:
                conn = self._conn = autocommit_connection(self.engine)
            try:
                cur = conn.cursor()
                try:
                    cur.execute(sql, params)
                    return list(cur.fetchall())
                finally:
                    cur.close()
            except Exception:
                # A connection the server dropped (a restart) is replaced on the next call.
                self._conn = None
                with contextlib.suppress(Exception):
                    conn.close()
                raise

    def close(self) -> None:
        with self._conn_lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None


def bump(conn: Any) -> None:
    """Increment the shared version inside the caller's transaction (a Core connection or Session)."""
    conn.execute(_BUMP)


_BUMP = text(f"UPDATE control_state SET version = version + 1 WHERE name = '{VERSION_ROW}'")
