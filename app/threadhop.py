"""The one thread hop of the hot request paths (api2 operations, VIS reads).

`loop.run_in_executor` on a pool of lynkflow's own costs ~26 µs of CPU a hop where anyio's
`run_in_threadpool` (capacity limiter, cancel-scope checkpoints, task-state bookkeeping) costs ~40 µs:
~10 % of a VIS list and of an api2 read under load. Other, rarer paths keep Starlette's
`run_in_threadpool`.

The pool is as large as anyio's default limit (40), which these calls used to share with FastAPI's
sync routes. Its size needs no tuning against the connection pool: a hop takes and returns its
connection within itself, and the VIS read permits (`db.deps`) bound the sessions. It is made per
process on first use (`serve --workers` starts processes of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any, TypeVar

T = TypeVar("T")

THREADS = 40
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(THREADS, thread_name_prefix="lynkflow-hop"))
    return _pool[1]


async def in_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the pool, seeing the caller's context variables (the tenant) as anyio's hop did.

    Cancelled while it runs, it still waits for the call to end (a commit, after-commit actions, a
    session's close), again as anyio's hop does, before the cancellation goes on; the call's own
    failure is then retrieved, never left "never retrieved".
    """
    future = asyncio.get_running_loop().run_in_executor(_executor(), copy_context().run, fn, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await future
        raise
