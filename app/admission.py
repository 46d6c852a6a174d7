"""First come, first served: how many API requests one SQLite-backed process works on at once.

Without a bound, every request a server has read is in progress at once: at wrk -c64, 64 of them
take turns on the one event loop and in the thread pool, each step of each request queued behind
a step of every other. That shares the CPU out evenly, so the answer to a request that needs more
steps (a signed call: body, replay batch, thread hop, answer) waits through more rounds, and the
mixed load's p99 was about 4× its p50. Letting a few requests at a time past the gate, in arrival
order, makes each run almost straight through once admitted. bench/load.py, SQLite, 3 interleaved
rounds: 1 process p99 155-168 → 73-79 ms at 1,475-1,502 → 1,479-1,519 req/s; `serve --workers 2`
p99 110-129 → 79-85 ms at 2,363-2,407 → 2,412-2,426 req/s; CPU a request unchanged or lower.

On PostgreSQL there is no gate. A request there spends much of its time waiting on the network,
and the requests in flight together are what fill the replay memory's batches; a gate of 6 or 16
cost a fifth to a third of the throughput (1,210 → 836-980 req/s) for no better p99 (~100 ms).

A request holds its place only while the server works on it:
- its body is read before it queues (a client sending its body slowly holds nothing; a body that
  does not arrive in one part, an upload, is not queued at all), and
- it gives its place up when its answer starts (a client reading the answer slowly holds nothing).
Faults' and stubs' deliberate latency is spent before the gate (lynkflow/control/middleware.py).
"""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Requests worked on at once. A first measurement (bench/load.py, SQLite, 1 process, 2 rounds each, the
# gate then around the whole request): 4 gave p99 61-64 ms at 1,479-1,521 req/s, 12 gave 70-72 ms at
# 1,528-1,539. The larger one, because a slow request (a scan, a lock wait) holds one place and leaves
# the others to everything else.
SLOTS = 12


class Admission:
    """The gate of one process's event loop."""

    def __init__(self, slots: int = SLOTS) -> None:
        self._count = slots
        # One semaphore per event loop (FIFO: a newcomer queues behind every waiter). A served app has
        # one loop; an app in tests may be driven from several, one after another.
        self._by_loop: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = WeakKeyDictionary()

    async def run(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """`app(scope, receive, send)` once the request's body is in and its turn has come."""
        first = await receive()
        if first.get("more_body"):  # a body in several parts: read as it streams, not queued
            await app(scope, _replay(first, receive), send)
            return
        loop = asyncio.get_running_loop()
        slots = self._by_loop.get(loop)
        if slots is None:
            slots = self._by_loop[loop] = asyncio.Semaphore(self._count)
        await slots.acquire()
        held = True

        async def send_releasing(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                slots.release()
            await send(message)

        try:
            await app(scope, _replay(first, receive), send_releasing)
        finally:
            if held:
                slots.release()


def _replay(first: Message, receive: Receive) -> Receive:
    """`receive`, with the message already taken from it given back first."""
    pending: list[Message] = [first]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
