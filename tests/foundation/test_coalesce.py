"""`coalesce.Coalescer`: callers that arrive while a batch runs share the next one; each gets its own
answer; one caller going away leaves the others' answers alone; a failure is every joined caller's."""

from __future__ import annotations

import asyncio
import threading

import pytest

from lynkflow.coalesce import Coalescer


class _Work:
    """Doubles each item; records each batch; the first batch waits until `release` is set."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            self.release.wait(5)
        if self.fail:
            raise RuntimeError("boom")
        return [2 * i for i in items]


async def _until(condition) -> None:  # noqa: ANN001 - a no-argument predicate
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


def test_callers_arriving_during_a_batch_share_the_next_and_each_gets_its_answer() -> None:
    work = _Work()
    coalescer: Coalescer[int, int] = Coalescer(work)

    async def scenario() -> list[int]:
        first = asyncio.ensure_future(coalescer.submit(1))
        await _until(lambda: work.batches)
        later = [asyncio.ensure_future(coalescer.submit(i)) for i in (2, 3, 4)]
        await asyncio.sleep(0)
        work.release.set()
        return await asyncio.gather(first, *later)

    assert asyncio.run(scenario()) == [2, 4, 6, 8]
    assert work.batches == [[1], [2, 3, 4]]


def test_a_caller_that_goes_away_leaves_the_batch_to_the_others() -> None:
    work = _Work()
    coalescer: Coalescer[int, int] = Coalescer(work)

    async def scenario() -> tuple[list[int], bool]:
        first = asyncio.ensure_future(coalescer.submit(1))
        await _until(lambda: work.batches)
        gone, stays = asyncio.ensure_future(coalescer.submit(2)), asyncio.ensure_future(coalescer.submit(3))
        await asyncio.sleep(0)
        first.cancel()  # the running batch's only caller
        gone.cancel()  # a caller of the waiting batch
        await asyncio.sleep(0)
        work.release.set()
        answer = await asyncio.wait_for(stays, 5)
        return [answer], first.cancelled() and gone.cancelled()

    assert asyncio.run(scenario()) == ([6], True)
    assert work.batches == [[1], [2, 3]]  # both batches ran, whoever went away


def test_a_failure_of_the_work_is_every_joined_callers() -> None:
    work = _Work(fail=True)
    work.release.set()
    coalescer: Coalescer[int, int] = Coalescer(work)

    async def scenario() -> list[BaseException | int]:
        return await asyncio.gather(*(coalescer.submit(i) for i in (1, 2, 3)), return_exceptions=True)

    answers = asyncio.run(scenario())
    assert len(answers) == 3 and all(isinstance(a, RuntimeError) for a in answers), answers
    with pytest.raises(RuntimeError):
        asyncio.run(coalescer.submit(4))
