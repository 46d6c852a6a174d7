"""API requests take turns on SQLite, a few at a time in arrival order (lynkflow/admission.py).

The gate must bound what a process works on at once, and must not let a client that is slow on its
own side (sending its body, reading its answer) keep everyone else waiting. On PostgreSQL there is
no gate: requests in flight together are what fill its batches.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from lynkflow.admission import SLOTS
from lynkflow.testing.signing import Signer
from tests.conftest import LiveServer
from tests.reliability.mixed_load import seed_assets

STATEMENT_SECONDS = 0.05  # every statement a server thread runs, slowed to make overlaps visible


class Overlap:
    """The most statements the app's server threads had in progress at once."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.test_thread = threading.get_ident()
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def __enter__(self) -> Overlap:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:
        if threading.get_ident() == self.test_thread:
            return
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(STATEMENT_SECONDS)

    def _after(self, *_args: Any) -> None:
        if threading.get_ident() != self.test_thread:
            with self.lock:
                self.now -= 1


def test_a_process_works_on_a_few_api_requests_at_once(client) -> None:
    ctx = client.app.state.ctx
    if ctx.engine.dialect.name != "sqlite":
        # asset/list's statements there run on raw cursors, which statement events do not see.
        pytest.skip("the gate is SQLite's; on PostgreSQL bench/load.py shows what a gate would cost")
    s = ctx.settings
    sign = Signer(s.uplynk_owner, s.uplynk_api_key, now=ctx.clock.now)
    seed_assets(ctx, s.uplynk_owner, 3)
    # Each a list of its own: the same list asked meanwhile would wait for one read (kept_answers.py).
    forms = [sign({"search": "news", "limit": n + 1}) for n in range(3 * SLOTS)]
    # The listeners go after the server has stopped: removing one while a thread runs them fails.
    with Overlap(ctx.engine) as overlap, LiveServer(client.app) as base_url, \
            ThreadPoolExecutor(len(forms)) as pool, httpx.Client(base_url=base_url, timeout=60) as http:
        answers = list(pool.map(lambda form: http.post("/api2/asset/list", data=form).json(), forms))
    assert [a["error"] for a in answers] == [0] * len(forms)
    assert 2 <= overlap.most <= SLOTS


def _scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in headers.items())],
            "client": ("127.0.0.1", 1), "server": ("testserver", 80)}


async def _answered(app: Any, scope: dict[str, Any]) -> int:
    """The status of a request with no body, sent and read at once."""
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return status[0]


def _while_stuck(client, stuck: Any) -> int:
    """The status of a VIS list asked while SLOTS + 2 requests are stuck in `stuck(app, scope)`."""
    app = client.app
    scope = _scope("GET", "/api/event/", {"API-KEY": client.app.state.ctx.settings.vuflow_api_key})

    async def run() -> int:
        stuck_ones = [asyncio.create_task(stuck(app, dict(scope))) for _ in range(SLOTS + 2)]
        await asyncio.sleep(0.3)  # every stuck request is as far as it gets
        try:
            return await _answered(app, dict(scope))
        finally:
            for task in stuck_ones:
                task.cancel()
            await asyncio.gather(*stuck_ones, return_exceptions=True)

    return client.portal.call(run)


@pytest.mark.parametrize("side", ["sends its body slowly", "reads its answer slowly"])
def test_a_client_slow_on_its_own_side_keeps_no_one_waiting(client, side: str) -> None:
    never = asyncio.Event()

    async def body_never_comes(app: Any, scope: dict[str, Any]) -> None:
        async def receive() -> dict[str, Any]:
            await never.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            pass

        scope["method"] = "POST"
        scope["headers"] = [*scope["headers"], (b"content-type", b"application/json"), (b"content-length", b"99")]
        await app(scope, receive, send)

    async def answer_never_read(app: Any, scope: dict[str, Any]) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                await never.wait()

        await app(scope, receive, send)

    stuck = body_never_comes if side == "sends its body slowly" else answer_never_read
    assert _while_stuck(client, stuck) == 200
