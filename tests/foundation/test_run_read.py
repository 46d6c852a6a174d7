"""deps.run_read: a read session in one thread hop (threadhop.in_thread), holding the request's route
permit until the session is closed — even when the request is cancelled while its hop runs."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from starlette.requests import Request

from lynkflow.db.deps import run_read


def test_a_cancelled_read_keeps_its_permit_until_its_hop_ends(ctx) -> None:
    app = SimpleNamespace(state=SimpleNamespace(ctx=ctx))
    started, release = threading.Event(), threading.Event()

    def work(db) -> int:
        value = db.execute(text("SELECT 1")).scalar_one()
        started.set()
        release.wait(10)
        return value

    async def main() -> None:
        assert await run_read(Request({"type": "http", "app": app, "headers": []}), lambda db: 7) == 7
        permits = app.state.db_route_permits
        free = permits._value
        task = asyncio.create_task(run_read(Request({"type": "http", "app": app, "headers": []}), work))
        assert await asyncio.to_thread(started.wait, 10)
        assert permits._value == free - 1
        task.cancel()
        await asyncio.sleep(0.05)  # the cancellation is delivered; the hop runs on
        assert not task.done()  # a cancelled hop is waited for, as anyio's was
        assert permits._value == free - 1  # the hop still holds its session
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert permits._value == free

    asyncio.run(main())
