"""Replay protection: every signed api2 request is remembered, by every process, for its skew window.

A (msg, sig) pair is one row of `control_replay` (a hash as the key, an expiry on the lynkflow
clock). Remembering is one atomic statement — insert, or take over a row whose window has ended —
so a pair served by any process is refused by every other one until the skew window ends (a replay
older than that is refused by the skew check anyway), and the memory survives a restart of
lynkflow. Expired rows are pruned now and then by the process that inserts.

Where it runs: on PostgreSQL the check is a network round trip, so it runs in a thread. On SQLite it
is a local insert of ~20 µs, cheaper than the thread hop itself (the hop was ~a quarter of a signed
asset/get's CPU), so `seen_now` runs it on the event loop — but only when it cannot wait: this
process's `WriteLock` must be free (taken without waiting) and the statement runs on a connection of
its own with SQLite's busy timeout at 0, so another process holding the file's write lock is an
immediate "locked" answer, not a wait. Then, or when the guard's connection is in use by another
event loop, the caller falls back to `seen_before` in a thread, which waits as before. That
connection never checkpoints the WAL (`wal_autocheckpoint=0`: a checkpoint writes the database file
and could stall the loop for milliseconds); the pruning insert, one in PRUNE_EVERY, always takes the
thread path on a pooled connection, whose commit checkpoints when the WAL has grown, so the WAL stays
bounded even when replay rows are the only writes.

Under load the lock is often busy (a journal flush, another check in a thread), and a thread that
holds it also waits for the GIL, so the fallbacks came in runs: ~40 % of signed asset/gets at
wrk -c64 each took a thread hop of their own. A caller on the event loop (`seen_soon`, for an
operation that runs there) therefore joins a batch: the checks that arrive while one batch is being
made are made together next, in one thread hop and one transaction (one lock hold, one commit),
each answered as if made alone (a pair twice in a batch: the second is a replay). On PostgreSQL a
batch is one multi-row insert, one round trip for the lot (bench/load.py, PostgreSQL, 1 process:
557-631 → 658-741 req/s, 1.05-1.13 → 0.97-1.03 ms CPU/req); a check each, in a hop each, had the
server run them side by side but paid a hop and a round trip per signed request.

On PostgreSQL the statement commits asynchronously (`synchronous_commit` off for its own implicit
transaction only): with it on, every signed request waited for a WAL flush — an fsync, ~5 ms on
this disk — which made signed reads mostly wait. What that gives up is argued in
docs/architecture.md ("Durability of the replay memory and the journal").

On SQLite the memory is a database file of its own (lynkflow/db/replay_file.py), so its commits
leave the main file's page caches and write lock alone (bench/load.py, SQLite, 1 process: 0.95-1.02 →
0.76-0.95 ms CPU/req). A signed write therefore cannot check its pair inside its own transaction there
(`checks_in_write`): its check is a statement of its own, made before the write, so of two writes with
one pair only the one whose insert came first runs; its pair stays remembered if the write then fails,
as it is on PostgreSQL after a rollback.
"""

from __future__ import annotations

import hashlib
import itertools
import sqlite3
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from lynkflow.coalesce import Coalescer
from lynkflow.db.engine import NO_FLUSH_WAIT, OwnConnection, autocommit_cursor, sqlite_write_lock, write_lock
from lynkflow.db.replay_file import replay_engine

if TYPE_CHECKING:
    from lynkflow.context import AppContext

# One replay check: msg, sig, the lynkflow clock's now (ms) and the window (ms).
Pair = tuple[str, str, int, int]

# One insert in this many also prunes expired rows (cheap: the expiry is indexed).
PRUNE_EVERY = 500

# `excluded` names the row that was to be inserted (same word on SQLite and PostgreSQL).
_TAKE_OVER = ("ON CONFLICT (key) DO UPDATE SET expires_ms = excluded.expires_ms "
              "WHERE control_replay.expires_ms < {p}")
_REMEMBER = "INSERT INTO control_replay (key, expires_ms) VALUES ({p}, {p}) " + _TAKE_OVER
# PostgreSQL: the same statement, with `synchronous_commit` off for its implicit transaction
# (an autocommit statement is a transaction of its own, so the setting ends with it and never
# reaches other work on the pooled connection).
_REMEMBER_RELAXED = (f"WITH {NO_FLUSH_WAIT} "
                     "INSERT INTO control_replay (key, expires_ms) SELECT {p}, {p} FROM relaxed "
                     + _TAKE_OVER)
_PRUNE = "DELETE FROM control_replay WHERE expires_ms < {p}"
# PostgreSQL: a batch of pairs of one window in one statement (arrays of keys and expiries, then the
# window), answering with the keys it inserted or took over; relaxed like `_REMEMBER_RELAXED`.
_REMEMBER_MANY = (f"WITH {NO_FLUSH_WAIT} "
                  "INSERT INTO control_replay (key, expires_ms) "
                  "SELECT k, e FROM relaxed, unnest(%s::varchar[], %s::bigint[]) AS t(k, e) ORDER BY k "
                  "ON CONFLICT (key) DO UPDATE SET expires_ms = excluded.expires_ms "
                  "WHERE control_replay.expires_ms < excluded.expires_ms - %s RETURNING key")


def replay_guard(ctx: AppContext) -> ReplayGuard:
    """The process's guard (one per context)."""
    return ctx.services.get(ReplayGuard, lambda: ReplayGuard(ctx.engine))


def replay_key(msg: str, sig: str) -> str:
    return hashlib.sha256(msg.encode() + b"\0" + sig.strip().lower().encode()).hexdigest()


class ReplayGuard:
    """Each check is one autocommit statement (`autocommit_cursor`): no ORM, no explicit
    transaction, so it costs one round trip (it runs on every signed request)."""

    def __init__(self, engine: Engine) -> None:
        """`engine`: the main database's; the memory may live elsewhere (`replay_engine`)."""
        self.engine = replay_engine(engine)
        # A write can check its pair as a statement of its own transaction only if the memory is in
        # the write's database.
        self.checks_in_write = self.engine is engine
        self._postgres = engine.dialect.name == "postgresql"
        p = "%s" if self._postgres else "?"
        self._remember = (_REMEMBER_RELAXED if self._postgres else _REMEMBER).format(p=p)
        # In a write's own transaction the commit is the write's: it keeps the server's durability.
        self._remember_in_write = _REMEMBER.format(p=p)
        self._prune = _PRUNE.format(p=p)
        self._inserts = itertools.count(1)
        self._prune_pending = False  # seen_now left the pruning insert to seen_before
        # seen_now's own connection (SQLite), one event loop at a time: a second one falls back.
        self._write_lock = sqlite_write_lock(self.engine)
        self._own = OwnConnection(self.engine, "PRAGMA busy_timeout=0",  # never wait on the event loop
                                  "PRAGMA wal_autocheckpoint=0")  # checkpoints happen on pooled connections
        # seen_soon's batches (SQLite); `seen_all` looked up per batch, as any method call would be.
        self._batches: Coalescer[Pair, bool] = Coalescer(lambda pairs: self.seen_all(pairs))

    def seen_before(self, msg: str, sig: str, now_ms: int, window_ms: int) -> bool:
        """Remember the pair; True if it was already remembered and its window has not ended.
        May wait (for the write lock, for the network): call it in a thread."""
        params = (replay_key(msg, sig), now_ms + window_ms, now_ms)
        prune = self._prune_due()
        # The write lock before the connection: a writer waiting its turn holds no pooled connection.
        with write_lock(self.engine), autocommit_cursor(self.engine) as cur:
            cur.execute(self._remember, params)
            remembered = cur.rowcount
            if prune:
                cur.execute(self._prune, (now_ms,))
        return remembered == 0

    def seen_in(self, db: Session, msg: str, sig: str, now_ms: int, window_ms: int) -> bool:
        """`seen_before` as a statement of the caller's write transaction on `db`: the pair is remembered
        only if that transaction commits. On SQLite the statement begins it (BEGIN IMMEDIATE: the write
        lock, taken once for the check and the write). Its insert counts towards pruning like any other:
        a client that only writes leaves no expired pairs behind either. Only where `checks_in_write`."""
        assert self.checks_in_write, "the replay memory is not in the write's database"
        prune = self._prune_due()
        cur = db.connection().connection.cursor()
        try:
            cur.execute(self._remember_in_write, (replay_key(msg, sig), now_ms + window_ms, now_ms))
            remembered = cur.rowcount
            if prune:
                cur.execute(self._prune, (now_ms,))
            return remembered == 0
        finally:
            cur.close()

    def seen_now(self, msg: str, sig: str, now_ms: int, window_ms: int) -> bool | None:
        """`seen_before` without any wait, for the event loop (SQLite only, see the module docstring);
        None when it would have to wait or it is the pruning insert's turn: then call `seen_before`."""
        lock = self._write_lock
        if lock is None:
            return None
        if self._prune_pending or next(self._inserts) % PRUNE_EVERY == 0:
            self._prune_pending = True  # for the thread path's insert, just after this
            return None
        if not lock.try_acquire():
            return None
        try:
            with self._own.cursor_if_free() as cur:
                if cur is None:
                    return None
                cur.execute(self._remember, (replay_key(msg, sig), now_ms + window_ms, now_ms))
                return cur.rowcount == 0
        except sqlite3.OperationalError:
            return None  # busy: the thread path waits; anything else, it reports itself
        finally:
            lock.release()

    def seen_all(self, pairs: list[Pair]) -> list[bool]:
        """`seen_before` for each pair, in order: `seen_soon`'s batch, on SQLite in one write
        transaction (one write-lock hold, one commit), on PostgreSQL in one statement (`_seen_all_at_once`).
        May wait: call it in a thread."""
        if len(pairs) == 1:
            return [self.seen_before(*pairs[0])]  # one autocommit statement: no BEGIN/COMMIT
        prune = self._prune_due()
        if self._postgres:
            return self._seen_all_at_once(pairs, prune)
        seen = []
        with write_lock(self.engine), autocommit_cursor(self.engine) as cur:
            cur.execute("BEGIN IMMEDIATE")
            try:
                for msg, sig, now_ms, window_ms in pairs:
                    cur.execute(self._remember, (replay_key(msg, sig), now_ms + window_ms, now_ms))
                    seen.append(cur.rowcount == 0)
                if prune:
                    cur.execute(self._prune, (pairs[0][2],))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return seen

    def _seen_all_at_once(self, pairs: list[Pair], prune: bool) -> list[bool]:
        """PostgreSQL: the batch as one multi-row insert (one round trip), each pair answered as if alone.
        A pair twice in the batch is inserted once, its later copies are replays. The take-over test
        needs each pair's now: it is its new expiry minus its window, so one statement per window (the
        guard's callers share one). Keys go in sorted: two processes' batches lock rows in one order,
        never each waiting for the other."""
        keys = [replay_key(msg, sig) for msg, sig, _, _ in pairs]
        first: dict[str, int] = {}
        for i, key in enumerate(keys):
            first.setdefault(key, i)
        by_window: dict[int, list[int]] = {}
        for i in first.values():
            by_window.setdefault(pairs[i][3], []).append(i)
        remembered: set[str] = set()
        with autocommit_cursor(self.engine) as cur:
            for window_ms, rows in by_window.items():
                cur.execute(_REMEMBER_MANY, ([keys[i] for i in rows], [pairs[i][2] + window_ms for i in rows],
                                                  window_ms))
                remembered.update(key for (key,) in cur.fetchall())
            if prune:
                cur.execute(self._prune, (pairs[0][2],))
        return [i != first[key] or key not in remembered for i, key in enumerate(keys)]

    async def seen_soon(self, msg: str, sig: str, now_ms: int, window_ms: int) -> bool:
        """`seen_before` for a caller on the event loop: it joins the next batch (module docstring,
        `coalesce.Coalescer`), made in a thread once the batch before it is done."""
        return await self._batches.submit((msg, sig, now_ms, window_ms))

    def _prune_due(self) -> bool:
        due = self._prune_pending or next(self._inserts) % PRUNE_EVERY == 0
        self._prune_pending = False
        return due

    def close(self) -> None:
        """Close the event loop's connection, and the replay file's engine if it has one (at shutdown)."""
        self._own.close()
        if not self.checks_in_write:
            self.engine.dispose()
