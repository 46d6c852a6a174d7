"""Coalescing: callers on the event loop that ask for the same blocking work while it runs share the next run.

Two hot paths need the same shape. The shared-state version read (PostgreSQL: a network round trip per
request) and the replay guard's check (SQLite: a write that queues for the file's lock) each cost
about as much for many callers as for one. So a caller joins the *next* batch: the batch running when
it arrived may have started before it came (a version read that could miss a change committed just
before the caller), so it is never joined; the next one starts, in one thread hop, the moment the
running one ends, and carries every caller that arrived meanwhile. Under load that is one run at a
time per event loop instead of one per caller.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from lynkflow.threadhop import in_thread

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class _Batch(Generic[Item, Answer]):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.items: list[Item] = []
        self.done: asyncio.Future[list[Answer]] = loop.create_future()


class _LoopState(Generic[Item, Answer]):
    """One event loop's batch waiting to start, and whether one runs (touched on that loop only)."""

    def __init__(self) -> None:
        self.waiting: _Batch[Item, Answer] | None = None
        self.running = False


class Coalescer(Generic[Item, Answer]):
    """`await submit(item)` runs `work(items)` in a thread, for the items of all callers that joined the
    same batch; `work` answers each item, in order. One batch runs at a time per event loop (in-process
    test clients may serve one app from several loops). A failure of `work` is every joined caller's."""

    def __init__(self, work: Callable[[list[Item]], list[Answer]]) -> None:
        self._work = work
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState[Item, Answer]] = (
            weakref.WeakKeyDictionary())
        self._loops_lock = threading.Lock()

    async def submit(self, item: Item) -> Answer:
        loop = asyncio.get_running_loop()
        with self._loops_lock:
            state = self._loops.get(loop)
            if state is None:
                state = self._loops[loop] = _LoopState()
        batch = state.waiting
        if batch is None:
            batch = state.waiting = _Batch(loop)
        index = len(batch.items)
        batch.items.append(item)
        if not state.running:
            self._start(loop, state)
        # A caller that goes away does not cancel the batch: the others' answers come from it too.
        return (await asyncio.shield(batch.done))[index]

    def _start(self, loop: asyncio.AbstractEventLoop, state: _LoopState[Item, Answer]) -> None:
        batch, state.waiting = state.waiting, None
        assert batch is not None
        state.running = True
        task = loop.create_task(in_thread(self._work, batch.items))
        task.add_done_callback(lambda t: self._finished(t, loop, state, batch))

    def _finished(self, task: asyncio.Task[list[Answer]], loop: asyncio.AbstractEventLoop,
                  state: _LoopState[Item, Answer], batch: _Batch[Item, Answer]) -> None:
        state.running = False
        if task.cancelled():
            batch.done.cancel()
        elif task.exception() is not None:
            batch.done.set_exception(task.exception())  # type: ignore[arg-type]
        else:
            batch.done.set_result(task.result())
        if state.waiting is not None:  # callers that came while this batch ran: the next batch is theirs
            self._start(loop, state)
