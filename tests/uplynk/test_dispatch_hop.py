"""The api2 thread hop (app/threadhop.py `in_thread`): the caller's context variables go with
the call, and a cancelled caller still waits for a call that has started, as anyio's hop did."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from lynkflow.threadhop import in_thread

_where: contextvars.ContextVar[str] = contextvars.ContextVar("where", default="unset")


def test_the_call_runs_in_another_thread_with_the_callers_context() -> None:
    async def main() -> tuple[str, int]:
        _where.set("tenant-a")
        return await in_thread(lambda: (_where.get(), threading.get_ident()))

    where, thread = asyncio.run(main())
    assert where == "tenant-a" and thread != threading.get_ident()


def test_a_cancelled_caller_waits_for_the_started_call() -> None:
    ended: list[float] = []

    def slow() -> None:
        time.sleep(0.3)
        ended.append(time.monotonic())

    async def main() -> float:
        task = asyncio.create_task(in_thread(slow))
        await asyncio.sleep(0.05)  # started
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic()

    cancelled_at = asyncio.run(main())
    assert ended and ended[0] <= cancelled_at  # the cancellation went on only after the call ended
