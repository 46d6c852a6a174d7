"""Shared version reads on PostgreSQL (`SharedState.refresh_async`): requests that arrive together
share one read, and no request is answered from a read that began before it arrived.

Two contexts on one database stand for two processes. The first read is held open after it has
read the version, so a change can be committed while it is in flight.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from lynkflow.context import build_context
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="SQLite reads the version inline")


def test_a_request_arriving_during_a_read_gets_the_next_one_and_sees_the_change(ctx, settings) -> None:
    other = build_context(settings)  # another process on the same database
    shared = ctx.shared
    reads: list[int] = []
    first_read_done, release = threading.Event(), threading.Event()
    real_read = shared._read_version

    def slow_first_read() -> int:
        version = real_read()
        reads.append(version)
        if len(reads) == 1:
            first_read_done.set()
            assert release.wait(10)
        return version

    shared._read_version = slow_first_read  # type: ignore[method-assign]

    async def scenario() -> None:
        a = asyncio.ensure_future(shared.refresh_async())
        while not first_read_done.is_set():
            await asyncio.sleep(0.005)
        # Committed after the first read saw the version, before b and c arrive.
        await asyncio.to_thread(other.shared.put, "probe", {"n": 1})
        b = asyncio.ensure_future(shared.refresh_async())
        c = asyncio.ensure_future(shared.refresh_async())
        await asyncio.sleep(0.05)
        assert not b.done() and not c.done()  # they wait for a read that starts after they came
        release.set()
        await asyncio.gather(a, b, c)

    try:
        asyncio.run(scenario())
    finally:
        other.shared.close()
        other.engine.dispose()
    assert len(reads) == 2  # a's read, then one read shared by b and c
    assert reads[1] > reads[0]
    assert shared.get("probe") == {"n": 1}
