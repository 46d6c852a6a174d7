"""The VIS API key: `API-KEY` or `X-Auth-Key` header, checked against `vis_api_keys`.

Each key sees only its own vuflows, events and assets (the `api_key` columns).

Every VIS request checks its key, and a database read for it cost as much as a small request
itself, so a process remembers the keys it found for `KEY_CACHE_SECONDS` — under the same
guarantees as the api2 signing keys (app/uplynk/signing_keys.py): whatever removes VIS keys through
lynkflow (a reset, deleting a tenant) publishes a new key generation, every process drops its cache
on the next request once it sees it, and a key removed straight in the database stops working
within the cache lifetime. An unknown key is never cached: a key added a moment ago works at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from lynkflow.db.models import VisApiKey
from lynkflow.uplynk.signing_keys import KeyCache
from lynkflow.vuflow.errors import VisError

HEADERS = ("API-KEY", "X-Auth-Key")


class VisKeyCache(KeyCache):
    """The api2 key cache's mechanism for VIS keys: `key -> True` for a key found in `vis_api_keys`."""


def _load(ctx: Any, key: str, cache: VisKeyCache) -> bool:
    """Whether `key` exists, read from the database; a found key is remembered.

    A session of its own that takes and returns its connection within this one thread-pool hop
    (the rule of db/deps.py's permits), so a request never holds two connections.
    """
    generation = cache.generation
    with ctx.read_session() as db:
        known = db.get(VisApiKey, key) is not None
    if known:
        cache.remember(key, True, generation)
    return known


async def api_key(request: Request) -> str:
    """FastAPI dependency: the caller's key, or a 401 in the VIS shape.

    Async on purpose: a cached key costs no thread-pool hop; only a key this process has not seen
    within the cache lifetime is read from the database, in the thread pool.
    """
    key = next((request.headers[h].strip() for h in HEADERS if request.headers.get(h, "").strip()), None)
    if key is None:
        raise VisError(401, "Unauthorised: send your API key in the API-KEY (or X-Auth-Key) header",
                       "MissingApiKey")
    ctx = request.app.state.ctx
    cache = VisKeyCache.of(ctx)
    if cache.fresh(key) is None and not await run_in_threadpool(_load, ctx, key, cache):
        raise VisError(401, "Unauthorised: the API key is not valid", "InvalidApiKey")
    return key
