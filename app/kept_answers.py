"""API answers remembered per process while nothing they are made of has changed.

A VIS list, or an api2 asset/list, is a function of the request (the caller, the parameters that
change the answer, the URL base its URLs start with) and of the rows of a few tables alone: no clock,
no tenant state, no randomness in it (faults, stubs and the journal act around the route, in the
control middleware, and still do; api2's signature and replay checks run before an answer is looked
up). Every commit that changes one of those tables, from any connection or process, increments that
answer's data version (`db/data_version.py`: triggers, `_vis` and `_uplynk`); the control middleware
reads both at the start of each API request, with the shared state's version, in the same statement
(`SharedState.data_versions`). So while it is unchanged, the same request gets the same bytes without
a thread hop, a statement or a rendering: a dict lookup on the event loop, bounded whatever the
filter (a cold page still runs in the thread pool: a filter can scan the table). Commits to other
tables (the journal's flush every ~20 ms, api2's replay records, the other face's writes) leave the
kept answers standing.

The version is read *before* the page is read, and an answer is kept only under that version and only
while it is still the current one: a commit that lands between the two changes the version, so the
answer (which may or may not show it) is never served for a later version. A request that finds the
same answer being read under its own version waits for that read instead of making its own: nothing it
is made of was committed between the two, so that answer is its answer too. With no version (the
counter row missing) every answer is read.

What an api2 asset/list answer depends on beyond its rows, checked (uplynk/assets.py, uplynk/render.py):
the owner (tenancy: an owner's own and shared assets), every parameter (keyed on all of them, the
signed envelope's `_` members aside) and the public base URL of its player and storage URLs. Nothing
in it reads the clock (autoexpire is a worker's soft delete: a row change), and its URLs carry no
token or signature. Playback tokens are asked for separately, never rendered in a list.

Measured (issue #14, bench/load.py, wrk -c64, server CPU a request, before → after, interleaved): VIS
lists alone 0.8 → 0.13 ms when kept under PRAGMA data_version; under the VIS version, SQLite 0.15 →
0.12 ms and PostgreSQL (which kept nothing) 0.6 → 0.15 ms; the mix with signed api2 calls, whose
replay records commit about every millisecond, 0.87–1.08 → 0.75–0.96 ms (SQLite), 1.10–1.16 →
0.86–0.93 ms (PostgreSQL). api2 asset/list (`query=news limit=20`) alone, before → after, 2 rounds:
SQLite 353–578 → 2,007–2,443 req/s, 1.20–1.50 → 0.37–0.42 ms; PostgreSQL 528–561 → 2,015–2,385 req/s,
1.05–1.24 → 0.27–0.36 ms. In the mix its 5 % of asset/update move `_uplynk` every ~15 ms, and still
about 9 lists in 10 are kept ones (pg_stat_statements: 446 page reads for ~4,000 lists).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from fastapi import Response

from lynkflow.shared import SharedState

# Answers are pages of up to 100 assets (~50 kB) or 1,000 events: a few dozen per version bound the
# memory; more distinct answers between two changes are read as before.
MAX_ANSWERS = 32


def json_bytes_response(body: bytes) -> Response:
    """The answer whose JSON is already encoded to bytes: the headers a JSONResponse of it has."""
    return Response(body, media_type="application/json")


class _Kept:
    """The encoded answers read under one version of one counter; a read in flight is shared."""

    __slots__ = ("token", "answers")

    def __init__(self) -> None:
        self.token: Any = None
        # An answer, or the read of it in flight under `token` (its body; None: no shared answer).
        self.answers: dict[Hashable, bytes | asyncio.Future[bytes | None]] = {}


class KeptAnswers:
    """Encoded 200 answers by request, per data version (`shared.DATA_ROWS`), each under its value."""

    def __init__(self, shared: SharedState) -> None:
        self._shared = shared
        self._kept: dict[str, _Kept] = {}

    async def answer(self, row: str, what: Hashable, read: Callable[[], Awaitable[Response]]) -> Response:
        """The answer to `what` read since the last change of the `row` counter (kept, or being read for
        another request); else `read()`'s, kept when it is a 200. `what` holds everything the answer
        depends on beyond the counter's tables."""
        token = self._shared.data_versions.get(row)  # read by the control middleware at this request's start
        if token is None:
            return await read()
        kept = self._kept.get(row)
        if kept is None:
            kept = self._kept[row] = _Kept()
        if token != kept.token:
            kept.token, kept.answers = token, {}
        found = kept.answers.get(what)
        if isinstance(found, bytes):
            return json_bytes_response(found)
        loop = asyncio.get_running_loop()
        if found is not None and found.get_loop() is loop:
            # Nothing changed between that read's version and this request's: its answer is this one's.
            body = await asyncio.shield(found)
            return json_bytes_response(body) if body is not None else await read()
        return await self._read(kept, what, token, loop, read)

    @staticmethod
    async def _read(kept: _Kept, what: Hashable, token: Any, loop: asyncio.AbstractEventLoop,
                    read: Callable[[], Awaitable[Response]]) -> Response:
        """`read()`, shared with the requests that ask the same meanwhile, and kept while `token` is current."""
        pending: asyncio.Future[bytes | None] = loop.create_future()
        kept.answers[what] = pending
        body = None
        try:
            response = await read()
            if response.status_code == 200:
                body = bytes(response.body)
            return response
        finally:
            pending.set_result(body)  # the others read for themselves when this one failed or was cancelled
            if kept.token == token and kept.answers.get(what) is pending:
                if body is None:
                    del kept.answers[what]
                else:
                    if len(kept.answers) >= MAX_ANSWERS:
                        kept.answers.clear()
                    kept.answers[what] = body

    def clear(self) -> None:
        """Forget every answer (ctx.caches.reset)."""
        self._kept = {}


def kept_answers(ctx: Any) -> KeptAnswers:
    """This process's answers, made on first use."""
    return ctx.caches.get(KeptAnswers, lambda: KeptAnswers(ctx.shared))
