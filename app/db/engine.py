"""Engine and session handling for SQLite (embedded default) and PostgreSQL (psycopg 3).

SQLite runs in WAL mode with foreign keys on and a busy timeout, so API threads and worker
threads in one process can share the file. PostgreSQL needs nothing special here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            max_overflow=20,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so that
        # claim-style read-then-write transactions lock up front (BEGIN IMMEDIATE where asked).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it would add a round trip to every request; a connection that the server
    # dropped is invalidated on its first error and the pool replaces it. The pool keeps as many
    # connections as the SQLite one: an overflow connection is closed when it is returned, so under
    # load a small pool opened a new connection (several round trips) for many requests.
    return create_engine(url, pool_size=20, max_overflow=20)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn) -> None:  # noqa: ANN001 - SQLAlchemy Connection
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


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
