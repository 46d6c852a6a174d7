"""VIS list answers remembered per process while the database is unchanged (SQLite).

A VIS list is a function of the request (path, query string, key, the URL base its asset URLs start
with) and of the database's rows alone: no clock, no tenant state, no randomness in it (faults, stubs
and the journal act around the route, in the control middleware, and still do). So while no commit at
all has happened since an answer was read (`db.data_version`: any connection, any process), the same
request gets the same bytes without a thread hop, a statement or a rendering. A page read and then
served again costs one in-memory pragma and a dict lookup on the event loop, bounded whatever the
filter (a cold page still runs in the thread pool: a filter can scan the table).

The token is taken *before* the page is read, and an answer is kept only under that token and only
while it is still the current one: a commit that lands between the two changes the token, so the
answer (which may or may not show it) is never served for a later token. A request that finds the
same list being read under its own token waits for that read instead of making its own: nothing was
committed between the two tokens, so that answer is its answer too. Under load this sharing is most of
the gain, since a commit lands about as often as a read takes (the journal's flush, every ~20 ms, is
one; every commit anywhere empties the memory). Measured (issue #14): VIS lists alone 0.8 → 0.13 ms
CPU a request; in a mix with signed api2 calls, whose replay records commit about every millisecond,
no gain (a version only VIS writes change would be the next step). On PostgreSQL the token is unknown
and every list is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response

from lynkflow.db.data_version import DataVersion
from lynkflow.vuflow.render import json_bytes_response

# Answers are pages of up to 100 assets (~50 kB) or 1,000 events: a few dozen bound the memory; more
# distinct lists between two commits are read as before.
MAX_ANSWERS = 32


class VisAnswers:
    """Encoded answers by request, all read under one data-version token; a read in flight is shared."""

    def __init__(self, version: DataVersion) -> None:
        self._version = version
        self._token: Any = None
        # An answer, or the read of it in flight under the current token (its body; None: no shared answer).
        self._answers: dict[tuple[Any, ...], bytes | asyncio.Future[bytes | None]] = {}

    async def answer(self, request: Request, key: str, read: Callable[[], Awaitable[Response]]) -> Response:
        """The answer to this request read since the last commit (kept, or being read for another
        request); else `read()`'s, kept when it is a 200."""
        token = self._version.now()
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
            # Nothing was committed between that read's token and this request's: its answer is this one's.
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
    """This process's answers, made on first use over its data-version reader."""
    version = ctx.services.get(DataVersion, lambda: DataVersion(ctx.engine))
    return ctx.caches.get(VisAnswers, lambda: VisAnswers(version))
