"""Route sessions: the `ReadDb` and `WriteDb` FastAPI dependencies, and the one rule they carry.

The rule: the request handler (or the job) owns the unit of work; domain functions take `db` first
and never commit. A route declares what it needs:

- `ReadDb`: a read-only session (SQLite's deferred BEGIN: no write lock). Every GET uses it.
- `WriteDb`: a session that may write (SQLite's BEGIN IMMEDIATE, see db/engine.py). It is
  committed when the handler returns and rolled back when it raises.

Both are yield dependencies with `scope="function"`: their cleanup runs when the path operation
returns, before the response is sent, so a client that reads right after a write sees it. A face's
route class (VisRoute, ControlRoute) turns exceptions into its own error shape *inside* the handler,
so the dependency would see a normal exit; such classes call `settle(request, ok)` first: the
commit (or the rollback of a failed request) happens inside the face's error handling, and a commit
that fails (a full disk) is answered in the face's shape too. Within one request, dependencies are
cached: the VIS key check and a GET handler share one read session.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from lynkflow.threadhop import in_thread

if TYPE_CHECKING:
    from lynkflow.context import AppContext

T = TypeVar("T")

# The ASGI scope key holding this request's write sessions that are not yet settled.
_PENDING = "lynkflow.write_sessions"
# The ASGI scope key counting this request's open sessions (the request holds a permit while > 0).
_OPEN = "lynkflow.open_sessions"


def _context(request: Request) -> AppContext:
    return request.app.state.ctx


# Why permits. A route's session keeps its pooled connection between thread-pool hops (the key check,
# the handler, the commit each run in a thread). If every pooled connection were held by requests
# waiting for a thread while every thread waited for a connection (a plain `with ctx.session()` in an
# api2 operation or a job), nothing would move until the pool's timeout: seen as a stall of the
# whole server under 64 concurrent clients on PostgreSQL. So requests that use these dependencies
# hold one permit each from their first session to the close of their last, and there are fewer
# permits than pooled connections: the rest always serve work that takes and returns a connection
# within one hop, and that work never waits on the event loop.


def _permits(request: Request) -> asyncio.Semaphore:
    state = request.app.state
    sem = getattr(state, "db_route_permits", None)
    if sem is None:
        pool = _context(request).engine.pool
        capacity = pool.size() + max(getattr(pool, "_max_overflow", 0), 0)
        sem = state.db_route_permits = asyncio.Semaphore(max(1, capacity * 2 // 3))
    return sem


async def _open(request: Request) -> None:
    if request.scope.get(_OPEN, 0) == 0:
        await _permits(request).acquire()
    request.scope[_OPEN] = request.scope.get(_OPEN, 0) + 1


def _opened_closed(request: Request) -> None:
    request.scope[_OPEN] -= 1
    if request.scope[_OPEN] == 0:
        _permits(request).release()


# The dependencies are async on purpose: making a session does no I/O, and a sync dependency would cost
# two trips through the threadpool per request. Only work that talks to the database goes there.


async def _read_db(request: Request) -> AsyncIterator[Session]:
    await _open(request)
    db = _context(request).read_sessions()
    try:
        yield db
    finally:
        try:
            await _close(db)
        finally:
            _opened_closed(request)


async def run_read(request: Request, work: Callable[[Session], T]) -> T:
    """`work(db)` with a read session, in ONE thread hop that also ends the session: what a `ReadDb`
    route does, for the hot VIS GETs that skip FastAPI's dependency solving (vuflow/errors.py, VisRoute).

    The same permit rule as `ReadDb`, and the permit is returned only after the session is closed
    (`in_thread` waits for the hop even when the request is cancelled).
    """
    await _open(request)
    try:
        db = _context(request).read_sessions()

        def hop() -> T:
            try:
                return work(db)
            finally:
                db.close()

        return await in_thread(hop)
    finally:
        _opened_closed(request)


async def _write_db(request: Request) -> AsyncIterator[Session]:
    await _open(request)
    db = _context(request).sessions()
    request.scope.setdefault(_PENDING, []).append(db)
    try:
        yield db
        if db in request.scope.get(_PENDING, ()):
            await run_in_threadpool(_finish, db, True)
    except BaseException:
        if db.in_transaction():
            await _off_the_loop_unless_sqlite(db, _finish, db, False)
        raise
    finally:
        try:
            await _close(db)
        finally:
            _opened_closed(request)


async def _close(db: Session) -> None:
    if db.in_transaction():
        await _off_the_loop_unless_sqlite(db, db.close)
    else:
        db.close()


async def _off_the_loop_unless_sqlite(db: Session, fn: Callable[..., None], *args: object) -> None:
    """For a rollback (or a close, which rolls back): on PostgreSQL a network round trip, so it runs in
    the threadpool; SQLite ends a transaction without a commit in-process, in less time than the trip
    to a thread costs."""
    if db.get_bind().dialect.name == "sqlite":
        fn(*args)
    else:
        await run_in_threadpool(fn, *args)


def _finish(db: Session, ok: bool) -> None:
    if ok:
        db.commit()
    else:
        db.rollback()


def _settle_now(sessions: list[Session], ok: bool) -> None:
    for db in sessions:
        _finish(db, ok)


async def settle(request: Request, ok: bool) -> None:
    """Commit (ok) or roll back this request's write sessions now, inside the caller's error handling.

    A commit that raises leaves the session to the dependency's cleanup, which rolls it back.
    """
    pending: list[Session] = request.scope.pop(_PENDING, [])
    if pending:
        # A commit may checkpoint SQLite's WAL (an fsync): never on the event loop.
        await run_in_threadpool(_settle_now, pending, ok)


ReadDb = Annotated[Session, Depends(_read_db, scope="function")]
WriteDb = Annotated[Session, Depends(_write_db, scope="function")]
