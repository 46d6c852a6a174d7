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
answer (which may or may not show it) is never served for a later token. Every commit anywhere empties
the memory (the journal's flush too, every ~20 ms under load): between two commits a process serves
each distinct list once from the database. On PostgreSQL the token is unknown and every list is read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response

from lynkflow.db.data_version import DataVersion
from lynkflow.vuflow.render import json_bytes_response

# Answers are pages of up to 100 assets (~50 kB) or 1,000 events: a few dozen bound the memory; more
# distinct lists between two commits are read as before.
MAX_ANSWERS = 32


class VisAnswers:
    """Encoded answers by request, all read under one data-version token."""

    def __init__(self, version: DataVersion) -> None:
        self._version = version
        self._token: Any = None
        self._answers: dict[tuple[Any, ...], bytes] = {}

    async def answer(self, request: Request, key: str, read: Callable[[], Awaitable[Response]]) -> Response:
        """The remembered answer to this request if nothing was committed since it was read; else
        `read()`'s, remembered when it is a 200."""
        token = self._version.now()
        if token is None:
            return await read()
        scope = request.scope
        ctx = request.app.state.ctx
        what = (scope["path"], scope["query_string"], key, ctx.base_for(request))
        if token != self._token:
            self._token, self._answers = token, {}
        body = self._answers.get(what)
        if body is not None:
            return json_bytes_response(body)
        response = await read()
        if response.status_code == 200 and token == self._token:
            if len(self._answers) >= MAX_ANSWERS:
                self._answers.clear()
            self._answers[what] = bytes(response.body)
        return response

    def clear(self) -> None:
        """Forget every answer (ctx.caches.reset)."""
        self._token, self._answers = None, {}


def vis_answers(ctx: Any) -> VisAnswers:
    """This process's answers, made on first use over its data-version reader."""
    version = ctx.services.get(DataVersion, lambda: DataVersion(ctx.engine))
    return ctx.caches.get(VisAnswers, lambda: VisAnswers(version))
