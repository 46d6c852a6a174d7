"""Engine and session handling for SQLite (embedded default) and PostgreSQL (psycopg 3).

SQLite runs in WAL mode with foreign keys on and a busy timeout, so API threads and worker
threads in one process can share the file. PostgreSQL needs nothing special here.

SQLite has one write lock per database file. When two connections of one process collide on it,
the loser sleeps in SQLite's busy handler (1 ms, 2 ms, … up to 100 ms a nap) and retries, so under
load writers of one process (the replay guard, the journal flusher, write sessions) waste most of
their time asleep. So writers in one process queue on a `WriteLock` first, a thread lock that hands
over the moment the previous transaction ends; other processes still meet SQLite's busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from lynkflow.threadhop import THREADS

BUSY_TIMEOUT_SECONDS = 30


class WriteLock:
    """The in-process queue in front of SQLite's write lock (one per database file).

    Not owned by a thread: a write transaction may begin in one thread-pool thread and commit in
    another, so the connection that took it gives it back (`_SqliteConnection`). A thread that
    already holds it and begins a second write on another connection does not wait for itself: that
    one is left to SQLite, as before. A wait is bounded by the busy timeout; after it the writer goes
    on to SQLite's own busy handling (and its timeout error), so a stuck holder cannot hang anyone
    longer than SQLite would have.
    """

    def __init__(self, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None  # the thread that took it (for the nested-use check only)
        self.timeout = timeout

    def acquire(self) -> bool:
        """Wait for the lock; False (not taken) on nested use by its holder's thread or after the timeout."""
        if self._holder == threading.get_ident():
            return False
        if not self._lock.acquire(timeout=self.timeout):
            return False
        self._holder = threading.get_ident()
        return True

    def try_acquire(self) -> bool:
        """Take the lock only if it is free right now (never waits, never nests)."""
        if self._holder == threading.get_ident() or not self._lock.acquire(blocking=False):
            return False
        self._holder = threading.get_ident()
        return True

    def release(self) -> None:
        self._holder = None
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    @contextmanager
    def held(self) -> Iterator[None]:
        taken = self.acquire()
        try:
            yield
        finally:
            if taken:
                self.release()


_write_locks: dict[URL, WriteLock] = {}
_write_locks_guard = threading.Lock()


def _write_lock_for(url: URL) -> WriteLock:
    """One lock per database file, shared by every engine of this process on it."""
    with _write_locks_guard:
        return _write_locks.setdefault(url, WriteLock())


class _SqliteConnection(sqlite3.Connection):
    """A pysqlite connection that gives the process's `WriteLock` back when its transaction ends:
    after COMMIT or ROLLBACK has run (SQLAlchemy's commit/rollback events fire before), or on close."""

    write_lock: WriteLock | None = None
    holds_write_lock = False

    def take_write_lock(self) -> None:
        if self.write_lock is not None and not self.holds_write_lock:
            self.holds_write_lock = self.write_lock.acquire()

    def give_back_write_lock(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            assert self.write_lock is not None
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_back_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_back_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_back_write_lock()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS,
                          "factory": _SqliteConnection},
            pool_size=20,
            max_overflow=20,
        )
        lock = _write_lock_for(engine.url)

        def on_connect(dbapi_conn: _SqliteConnection, _record: Any) -> None:
            dbapi_conn.write_lock = lock
            _sqlite_pragmas(dbapi_conn, _record)

        event.listen(engine, "connect", on_connect)
        # pysqlite's own transaction handling defers BEGIN; take control so that
        # claim-style read-then-write transactions lock up front (BEGIN IMMEDIATE where asked).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it would add a round trip to every request; a connection that the server
    # dropped is invalidated on its first error and the pool replaces it. An overflow connection is
    # closed when it is returned, so the pool keeps one connection for each thread of the hot paths'
    # pool (`threadhop.THREADS`), each of which may hold one: with 20 kept, 64 clients of asset/update
    # opened ~37 new connections a second (11 % of the calls; a server process forked for each).
    return create_engine(url, pool_size=THREADS, max_overflow=20)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cur.close()


def _sqlite_begin(conn) -> None:  # noqa: ANN001 - SQLAlchemy Connection
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode == "DEFERRED":
        conn.exec_driver_sql("BEGIN DEFERRED")
        return
    driver = conn.connection.driver_connection
    driver.take_write_lock()  # a write transaction: queue behind this process's other writers first
    try:
        conn.exec_driver_sql(f"BEGIN {mode}")
    except BaseException:
        driver.give_back_write_lock()
        raise


def write_lock(engine: Engine) -> AbstractContextManager[None]:
    """A context manager around one autocommit write: on SQLite it queues behind this process's
    other writers (see WriteLock); on PostgreSQL it does nothing."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _write_lock_for(engine.url).held()


def sqlite_write_lock(engine: Engine) -> WriteLock | None:
    """The process's `WriteLock` for this engine's SQLite file; None on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return None
    return _write_lock_for(engine.url)


def make_sessionmaker(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions for units of work.

    On SQLite a read transaction cannot be upgraded to a write once another connection has
    committed (WAL answers SQLITE_BUSY at once, without waiting), so write sessions take the
    write lock up front with BEGIN IMMEDIATE. Read-only sessions keep the cheap deferred BEGIN.
    """
    if engine.dialect.name == "sqlite" and not read_only:
        engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# PostgreSQL: a CTE (`WITH {NO_FLUSH_WAIT} ...`, then `FROM relaxed` where the statement must run it
# first) that lets the statement's transaction commit without waiting for its WAL flush. For
# bookkeeping written very often that may lose its last few milliseconds if PostgreSQL itself crashes
# (the replay memory, the journal; docs/architecture.md, "Durability of the replay memory and the
# journal"). `set_config(..., true)` is SET LOCAL: the setting ends with the transaction, and inside
# the statement it costs no round trip of its own. SQLite needs nothing: in WAL mode with
# synchronous=NORMAL a commit does not wait for an fsync anyway.
NO_FLUSH_WAIT = "relaxed AS (SELECT set_config('synchronous_commit', 'off', true))"


@contextmanager
def autocommit_cursor(engine: Engine) -> Iterator[Any]:
    """A DB-API cursor on a pooled connection in autocommit mode, for one hot statement.

    Each statement commits by itself: no BEGIN, no ROLLBACK when the connection goes back to the
    pool, no Connection-layer events — one round trip instead of three on PostgreSQL. SQLite
    connections are in autocommit already (`_sqlite_pragmas`); a PostgreSQL one is switched for the
    duration (the flag is client-side only) and switched back before it returns to the pool.
    """
    raw = engine.raw_connection()
    driver = raw.driver_connection
    switch = engine.dialect.name == "postgresql" and not driver.autocommit
    try:
        if switch:
            driver.autocommit = True
        cur = raw.cursor()
        try:
            yield cur
        finally:
            cur.close()
    finally:
        if switch:
            driver.autocommit = False
        raw.close()


def autocommit_connection(engine: Engine) -> Any:
    """A DB-API connection taken out of the pool for good, in autocommit mode (see `autocommit_cursor`),
    for a component that runs one cheap statement very often on a connection of its own."""
    raw = engine.raw_connection()
    driver = raw.driver_connection
    raw.detach()  # it no longer counts against (or returns to) the pool
    if engine.dialect.name == "postgresql":
        driver.autocommit = True
    else:
        driver.isolation_level = None  # pysqlite autocommit (set at connect too; made explicit)
    return driver


class OwnConnection:
    """A component's own DB-API connection in autocommit, for one hot statement run very often.

    Like `autocommit_cursor`, minus the pool's checkout and check-in (with SQLite's reset-on-return
    ROLLBACK), ~7 % of a signed asset/get. One user at a time: a second thread (or event loop) that
    finds it in use takes a pooled connection instead of waiting (`cursor`), or is told so
    (`cursor_if_free` gives None). `pragmas` run on each new connection (the replay guard's makes it
    never wait and never checkpoint). A statement that fails drops the connection (a server restart
    kills it; the next use opens a fresh one) unless SQLite only said the file was busy.
    """

    def __init__(self, engine: Engine, *pragmas: str) -> None:
        self.engine = engine
        self.pragmas = pragmas
        self._lock = threading.Lock()
        self._conn: Any = None

    def cursor(self) -> AbstractContextManager[Any]:
        """This connection's cursor, or a pooled connection's while another user has it."""
        return _Borrowed(self, fallback=True)

    def cursor_if_free(self) -> AbstractContextManager[Any | None]:
        """This connection's cursor, or None while another user has it."""
        return _Borrowed(self, fallback=False)

    def _connection(self) -> Any:
        """The connection (the caller holds `_lock`), opened on first use."""
        conn = self._conn
        if conn is None:
            conn = self._conn = autocommit_connection(self.engine)
            for pragma in self.pragmas:
                conn.execute(pragma)
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop()


class _Borrowed:
    """`OwnConnection.cursor` / `cursor_if_free`: a class rather than a generator context manager, as
    these run two or three times per signed api2 call."""

    __slots__ = ("_own", "_fallback", "_cur", "_pooled")

    def __init__(self, own: OwnConnection, *, fallback: bool) -> None:
        self._own = own
        self._fallback = fallback
        self._cur: Any = None
        self._pooled: AbstractContextManager[Any] | None = None

    def __enter__(self) -> Any:
        own = self._own
        if own._lock.acquire(blocking=False):
            try:
                self._cur = own._connection().cursor()
            except BaseException:
                own._lock.release()
                raise
            return self._cur
        if not self._fallback:
            return None
        self._pooled = autocommit_cursor(own.engine)
        return self._pooled.__enter__()

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if self._pooled is not None:
            self._pooled.__exit__(kind, exc, tb)
            return
        cur = self._cur
        if cur is None:  # the connection was in use: nothing borrowed
            return
        own = self._own
        try:
            cur.close()
            if exc is not None and not _only_busy(exc):
                own._drop()
        finally:
            own._lock.release()


def _only_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked / busy": another writer, nothing wrong with the connection."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))
