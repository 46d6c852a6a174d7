"""The request journal: a size-capped record of recent API requests, shared by every process.

One entry per Uplynk or VIS request (the control plane is not journaled): when, which API, method,
path, status, how long it took, the decoded api2 `msg` parameters or the VIS JSON body, the fault
applied, the signature verdict, and whether the answer was an internal error (a 500, or an api2
`{"error": 1}` from the catch-all for an unexpected exception). The middleware appends; tests
query, count, clear and wait. Entries are rows of `control_journal`, written in batches off the
request path, so the journal of any API process shows what every process served, and the cap
holds however many requests arrive.
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Select, delete, select

from lynkflow.db.engine import NO_FLUSH_WAIT
from lynkflow.db.models import ControlJournal, ControlState
from lynkflow.logging import get_logger
from lynkflow.shared import JOURNAL_ROW, SharedState

log = get_logger("journal")

APIS = ("uplynk", "vuflow")
_BIGINT = 2**63 - 1
# The shared document holding the journal number of the last clear: ids count from it.
CLEARED_DOC = "journal_cleared"
MAX_WAIT_SECONDS = 300.0  # the longest POST /_lynkflow/journal/wait may hold a request


@dataclass(frozen=True)
class JournalQuery:
    """Filters shared by list, count and wait. `route` is an exact path or a glob (`*`, `?`)."""

    api: str | None = None
    route: str | None = None
    method: str | None = None
    status: str | None = None  # "404", or a class like "4xx"
    since: int | None = None  # lynkflow-clock ms, inclusive
    until: int | None = None  # lynkflow-clock ms, inclusive
    internal_error: bool | None = None  # only answers that were (or were not) our own bug
    tenant: str | None = None  # only one tenant's requests (lynkflow/tenancy.py)

    def __post_init__(self) -> None:
        if self.api is not None and self.api not in APIS:
            raise ValueError(f"api must be one of {', '.join(APIS)}, got {self.api!r}")
        # Checked before it reaches a query: a method is a short word (no NUL, nothing a column refuses).
        if self.method is not None and not (self.method.isascii() and self.method.isalpha()
                                            and len(self.method) <= 16):
            raise ValueError(f"method must be an HTTP method like GET, got {self.method[:40]!r}")
        if self.status is not None:
            s = self.status.lower()
            if not (s.isdigit() and len(s) == 3) and not (len(s) == 3 and s[0].isdigit() and s[1:] == "xx"):
                raise ValueError(f"status must be a code like 404 or a class like 4xx, got {self.status!r}")

    def narrow(self, sql: Select[Any]) -> Select[Any]:
        """The filters a database index can use (route globs are matched afterwards, in `matches`)."""
        if self.api is not None:
            sql = sql.where(ControlJournal.api == self.api)
        if self.method is not None:
            sql = sql.where(ControlJournal.method == self.method.upper())
        # Clamped to what a BIGINT holds: any instant beyond is beyond every entry anyway.
        if self.since is not None:
            sql = sql.where(ControlJournal.time_ms >= max(-_BIGINT, min(_BIGINT, self.since)))
        if self.until is not None:
            sql = sql.where(ControlJournal.time_ms <= max(-_BIGINT, min(_BIGINT, self.until)))
        return sql

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.api is not None and entry["api"] != self.api:
            return False
        if self.method is not None and entry["method"] != self.method.upper():
            return False
        if self.route is not None and not route_matches(self.route, entry["route"]):
            return False
        if self.status is not None:
            s = self.status.lower()
            code = str(entry["status"])
            if (s.endswith("xx") and code[0] != s[0]) or (not s.endswith("xx") and code != s):
                return False
        if self.internal_error is not None and entry.get("internalError", False) != self.internal_error:
            return False
        if self.tenant is not None and entry.get("tenant") != self.tenant:
            return False
        if self.since is not None and entry["time"] < self.since:
            return False
        return not (self.until is not None and entry["time"] > self.until)


def route_matches(pattern: str, path: str) -> bool:
    """Exact path or glob; a VIS pattern without the /api prefix also matches the /api path."""
    candidates = [path]
    if path.startswith("/api/"):
        candidates.append(path[4:])
    if any(c in pattern for c in "*?["):
        return any(fnmatch.fnmatchcase(p, pattern) for p in candidates)
    return pattern in candidates


# One encoder for every entry (json.dumps with options builds a new one per call).
_encode = json.JSONEncoder(separators=(",", ":"), default=str).encode


# PostgreSQL: the counter's bump and the batch's insert in one statement (one round trip, rows as arrays),
# answering with the batch's last number. Entry i of the batch (from 1, WITH ORDINALITY) is numbered
# last - len + i, as `executemany` numbered them. The arrays go in binary (`%b`): as text, psycopg quotes
# every element with a regex substitution per `"` of the JSON docs, which cost more than the statements
# it saved (1.49 ms a flush of 25). Against one INSERT per entry through psycopg's pipeline: 0.83-1.38 ->
# 0.49-0.80 ms of CPU a flush of 25 (docs/architecture.md, "The journal's flush on PostgreSQL").
# `relaxed` (db.engine.NO_FLUSH_WAIT): a flush every 20 ms under load need not wait for an fsync; in
# the statement rather than a SET LOCAL of its own, 0.05-0.2 ms of CPU less a flush.
_BUMP_AND_INSERT_PG = (
    f"WITH {NO_FLUSH_WAIT}, "
    "counter AS (UPDATE control_state SET version = version + %s FROM relaxed WHERE name = %s RETURNING version), "
    "added AS (INSERT INTO control_journal (n, time_ms, api, method, status, doc) "
    "SELECT counter.version - %s + t.i, t.time_ms, t.api, t.method, t.status, t.doc FROM counter, "
    "unnest(%b::bigint[], %b::varchar[], %b::varchar[], %b::int[], %b::text[]) WITH ORDINALITY "
    "AS t(time_ms, api, method, status, doc, i)) "
    "SELECT version FROM counter")


class _FlushSql(NamedTuple):
    """The flush's statements, written for a DB-API parameter style (SQLite's `?`, psycopg's `%s`)."""

    bump: str
    insert: str
    trim: str

    @staticmethod
    @functools.cache
    def of(paramstyle: str) -> _FlushSql:
        p = "?" if paramstyle == "qmark" else "%s"
        return _FlushSql(
            bump=f"UPDATE control_state SET version = version + {p} WHERE name = {p} RETURNING version",
            insert=("INSERT INTO control_journal (n, time_ms, api, method, status, doc) "
                    f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})"),
            # The lower bound is the oldest entry left, found through the key's index: `n <= bound`
            # alone also walked every older entry PostgreSQL had not vacuumed yet (a bitmap scan visits
            # dead rows too), 0.16 -> 2.7 ms a flush after 37k requests and 6-9 ms in a 60 s load run;
            # with it, 0.22 ms throughout.
            trim=f"DELETE FROM control_journal WHERE n <= {p} AND n >= (SELECT min(n) FROM control_journal)",
        )


class Journal:
    """The request journal of every process, in the `control_journal` table.

    `record` only appends to a per-process buffer (no database work on the request's path); a
    background thread writes the buffer every `FLUSH_SECONDS` in one transaction, numbering the
    entries from the shared `_journal` counter and dropping the oldest beyond `size`. Reads flush
    this process's buffer first, so a test sees its own requests at once and other processes'
    within a flush interval.
    """

    FLUSH_SECONDS = 0.02

    def __init__(self, shared: SharedState, size: int) -> None:
        self.shared = shared
        self.size = size
        self._writer = shared.writer()  # made once: each `writer()` builds a new option engine
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    # --- writing -----------------------------------------------------------------------------

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append(entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._flusher, name="lynkflow-journal", daemon=True)
                self._thread.start()
        self._wake.set()

    def _flusher(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait()
            self._wake.clear()
            self._stopped.wait(self.FLUSH_SECONDS)  # gather a batch
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the journal must never take the service down
                log.exception("journal flush failed")

    def flush(self) -> None:
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            # Encoded before the transaction: the write lock is held for the statements only.
            rows = [(int(e["time"]), e["api"], e["method"], int(e["status"] or 0), _encode(e)) for e in batch]
            with self._writer.begin() as conn:
                sql = _FlushSql.of(conn.dialect.paramstyle)
                # The statements go straight to the DB-API cursor of the transaction SQLAlchemy
                # began (so the write lock, BEGIN IMMEDIATE and the commit events stay as they are):
                # through Core, building, caching and processing them cost more than the database's work.
                cur = conn.connection.driver_connection.cursor()
                try:
                    # The counter row's lock also orders concurrent flushes of several processes.
                    if conn.dialect.name == "postgresql":
                        columns = [list(column) for column in zip(*rows, strict=True)]
                        cur.execute(_BUMP_AND_INSERT_PG, (len(batch), JOURNAL_ROW, len(batch), *columns))
                        last = int(cur.fetchone()[0])
                    else:  # SQLite: a local executemany of prepared inserts is cheaper than building arrays
                        cur.execute(sql.bump, (len(batch), JOURNAL_ROW))
                        last = int(cur.fetchone()[0])
                        first = last - len(batch) + 1
                        cur.executemany(sql.insert, [(first + i, *row) for i, row in enumerate(rows)])
                    cur.execute(sql.trim, (last - self.size,))
                finally:
                    cur.close()

    def close(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self.flush()

    # --- reading -----------------------------------------------------------------------------

    def _cleared_at(self) -> int:
        return int((self.shared.get(CLEARED_DOC) or {}).get("n", 0))

    def _tenant_cleared_at(self, tenant: str | None) -> int:
        if tenant is None:
            return 0
        return int((self.shared.get(f"{CLEARED_DOC}:{tenant}") or {}).get("n", 0))

    def entries(self, query: JournalQuery | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Matching entries, oldest first; with `limit`, the newest `limit` of them."""
        self.flush()
        self.shared.refresh()
        cleared = self._cleared_at()
        # A tenant's view also starts after its own last clear (its ids still count from the instance's).
        since_n = max(cleared, self._tenant_cleared_at(query.tenant if query is not None else None))
        sql = select(ControlJournal.n, ControlJournal.doc).where(ControlJournal.n > since_n)
        if query is not None:
            sql = query.narrow(sql)
        with self.shared.engine.connect() as conn:
            rows = conn.execute(sql.order_by(ControlJournal.n)).all()
        found = []
        for n, doc in rows:
            entry = json.loads(doc)
            entry["id"] = n - cleared
            if query is None or query.matches(entry):
                found.append(entry)
        if limit is not None:
            found = found[-limit:] if limit > 0 else []
        return found

    def count(self, query: JournalQuery | None = None) -> int:
        return len(self.entries(query))

    @property
    def total(self) -> int:
        """Requests journaled since the last clear or reset, beyond the cap too."""
        self.flush()
        self.shared.refresh()
        with self.shared.engine.connect() as conn:
            last = conn.scalar(select(ControlState.version).where(ControlState.name == JOURNAL_ROW)) or 0
        return max(0, int(last) - self._cleared_at())

    def tenant_mark(self, tenant: str) -> tuple[str, dict[str, int] | None]:
        """The document that hides a tenant's entries so far from its view, and its new value (None when
        nothing was journaled since its last mark)."""
        self.flush()
        name = f"{CLEARED_DOC}:{tenant}"
        with self.shared.engine.connect() as conn:
            last = int(conn.scalar(select(ControlState.version).where(ControlState.name == JOURNAL_ROW)) or 0)
        if last == self._tenant_cleared_at(tenant):
            return name, None
        return name, {"n": last}

    def clear(self, tenant: str | None = None) -> None:
        """Forget every entry; or, with `tenant`, hide that tenant's entries so far from its view."""
        self.flush()
        if tenant is not None:
            name, doc = self.tenant_mark(tenant)
            if doc is not None:
                self.shared.put(name, doc)
            return
        with self.shared.writer().begin() as conn:
            last = conn.scalar(select(ControlState.version).where(ControlState.name == JOURNAL_ROW)) or 0
            conn.execute(delete(ControlJournal))
        self.shared.put(CLEARED_DOC, {"n": int(last)})

    async def wait_for(self, count: int, query: JournalQuery, timeout: float) -> list[dict[str, Any]] | None:
        """The matching entries once there are at least `count`, or None after `timeout` seconds.

        Polls (in the thread pool) every few tens of milliseconds: the wait never blocks the event
        loop, so the requests it waits for — served by this process or another — are served meanwhile.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = await run_in_threadpool(self.entries, query)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(self.FLUSH_SECONDS)


def get_journal(ctx: Any) -> Journal:
    return ctx.services.get(Journal, lambda: Journal(ctx.shared, ctx.settings.journal_size))
