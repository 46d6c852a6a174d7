"""VIS list answers remembered per process while nothing they are made of has changed.

A VIS list is a function of the request (path, query string, key, the URL base its asset URLs start
with) and of the rows of a few tables alone: no clock, no tenant state, no randomness in it (faults,
stubs and the journal act around the route, in the control middleware, and still do). Every commit
that changes one of those tables, from any connection or process, increments the VIS version
(`db/vis_version.py`: triggers); the control middleware reads it at the start of each API request,
with the shared state's version, in the same statement (`SharedState.vis_version`). So while it is
unchanged, the same request gets the same bytes without a thread hop, a statement or a rendering:
a dict lookup on the event loop, bounded whatever the filter (a cold page still runs in the thread
pool: a filter can scan the table). Commits to other tables (the journal's flush every ~20 ms, api2's
replay records and writes) leave the kept answers standing.

The version is read *before* the page is read, and an answer is kept only under that version and only
while it is still the current one: a commit that lands between the two changes the version, so the
answer (which may or may not show it) is never served for a later version. A request that finds the
same list being read under its own version waits for that read instead of making its own: nothing it
is made of was committed between the two, so that answer is its answer too. With no version (the
`_vis` row missing) every list is read.

Measured (issue #14, bench/load.py, wrk -c64, server CPU a request, before → after, interleaved): VIS
lists alone 0.8 → 0.13 ms when kept under PRAGMA data_version; under the VIS version, SQLite 0.15 →
0.12 ms and PostgreSQL (which kept nothing) 0.6 → 0.15 ms; the mix with signed api2 calls, whose
replay records commit about every millisecond, 0.87–1.08 → 0.75–0.96 ms (SQLite), 1.10–1.16 →
0.86–0.93 ms (PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response

from lynkflow.shared import SharedState
from lynkflow.vuflow.render import json_bytes_response

# Answers are pages of up to 100 assets (~50 kB) or 1,000 events: a few dozen bound the memory; more
# distinct lists between two VIS changes are read as before.
MAX_ANSWERS = 32


class VisAnswers:
    """Encoded answers by request, all read under one VIS version; a read in flight is shared."""

    def __init__(self, shared: SharedState) -> None:
        self._shared = shared
        self._token: Any = None
        # An answer, or the read of it in flight under the current token (its body; None: no shared answer).
        self._answers: dict[tuple[Any, ...], bytes | asyncio.Future[bytes | None]] = {}

    async def answer(self, request: Request, key: str, read: Callable[[], Awaitable[Response]]) -> Response:
        """The answer to this request read since the last VIS change (kept, or being read for another
        request); else `read()`'s, kept when it is a 200."""
        token = self._shared.vis_version  # read by the control middleware at this request's start
        if token is None:
            return await read()
        scope = request.scope
        what = (scope["path"], scope["query_string"], key, request.app.state.ctx.base_for(request))
        if token != self._token:
            self._token, self._answers = token, {}
        found = self._answers.get(what)
        if isinstance(found, bytes):
            return json_bytes_response(found)
        loop = asyncio.get_running_loop()
        if found is not None and found.get_loop() is loop:
            # Nothing changed between that read's version and this request's: its answer is this one's.
            body = await asyncio.shield(found)
            return json_bytes_response(body) if body is not None else await read()
        return await self._read(what, token, loop, read)

    async def _read(self, what: tuple[Any, ...], token: Any, loop: asyncio.AbstractEventLoop,
                    read: Callable[[], Awaitable[Response]]) -> Response:
        """`read()`, shared with the requests that ask the same meanwhile, and kept while `token` is current."""
        pending: asyncio.Future[bytes | None] = loop.create_future()
        self._answers[what] = pending
        body = None
        try:
            response = await read()
            if response.status_code == 200:
                body = bytes(response.body)
            return response
        finally:
            pending.set_result(body)  # the others read for themselves when this one failed or was cancelled
            if self._token == token and self._answers.get(what) is pending:
                if body is None:
                    del self._answers[what]
                else:
                    if len(self._answers) >= MAX_ANSWERS:
                        self._answers.clear()
                    self._answers[what] = body

    def clear(self) -> None:
        """Forget every answer (ctx.caches.reset)."""
        self._token, self._answers = None, {}


def vis_answers(ctx: Any) -> VisAnswers:
    """This process's answers, made on first use."""
    return ctx.caches.get(VisAnswers, lambda: VisAnswers(ctx.shared))
