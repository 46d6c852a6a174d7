"""The keys that may sign for an owner, with a small per-process cache for the signature check.

Every signed request needs the owner's enabled keys. Reading them from the database (one query,
app/domain/uplynk_owners.py `signing_keys`) on each call would cost as much as the call itself, so
they are cached for `KEY_CACHE_SECONDS`; a signature that fails against the cached keys is re-
checked against fresh ones before it is refused, so a key added a moment ago works at once. A key
changed through api2 (owners/api-key/*), subowners/* or a reset publishes a new key generation in
the shared control-plane state (lynkflow/shared.py); every process drops its cache when it sees a
new generation, so a disabled or deleted key stops working at once in every process. (A change made
straight in the database is seen within the cache lifetime.)

A subowner signs for its parent account (`_owner` = the parent's user ID) with its own current key, so
that key is one more enabled key of the parent while the subowner holds the `api` permission. Its
entry in the list is named `subowner:<subowner id>`. subowners/* drops the parent's entry the same way.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from lynkflow.domain import uplynk_owners

KEY_CACHE_SECONDS = 1.0

# The shared document whose change tells every process to drop its cached keys.
KEYS_DOC = "uplynk_keys"


class KeyCache:
    """This process's cached keys per owner, dropped when the published key generation changes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[float, bool, list[tuple[str, str]]]] = {}
        self.seen: Any = None  # the KEYS_DOC value the entries were read under
        self.generation = 0  # bumped on every drop: a read that straddles one is not cached

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.generation += 1


def _cache(ctx: Any) -> KeyCache:
    cache = ctx.caches.get(KeyCache, KeyCache)
    published = ctx.shared.get(KEYS_DOC)
    if cache.seen != published:
        cache.clear()
        cache.seen = published
    return cache


def _load(ctx: Any, owner: str) -> tuple[bool, list[tuple[str, str]]]:
    with ctx.read_session() as db:
        return uplynk_owners.signing_keys(db, owner)


def lookup(ctx: Any, owner: str, *, fresh: bool = False) -> tuple[bool, list[tuple[str, str]]]:
    """(owner exists, [(key id, secret), ...] of enabled keys, its `api` subowners' keys last)."""
    cache = _cache(ctx)
    now = time.monotonic()
    if not fresh:
        hit = cache.entries.get(owner)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
    generation = cache.generation
    exists, keys = _load(ctx, owner)
    with cache.lock:
        if len(cache.entries) > 10_000:
            cache.entries.clear()
        # A key change committed while we were reading would be undone by caching what we read.
        if cache.generation == generation:
            cache.entries[owner] = (now + KEY_CACHE_SECONDS, exists, keys)
    return exists, keys


def owner_exists(ctx: Any, owner: str) -> bool:
    return lookup(ctx, owner)[0]


def enabled_keys(ctx: Any, owner: str, *, fresh: bool = False) -> list[tuple[str, str]]:
    return lookup(ctx, owner, fresh=fresh)[1]


def forget(ctx: Any) -> None:
    """Drop every process's cached keys (after a reset or a key change made through lynkflow).

    Call after the change is committed, so no reader re-caches the old keys.
    """
    ctx.shared.put(KEYS_DOC, {"generation": uuid.uuid4().hex})
    _cache(ctx)


def forget_owner(ctx: Any, owner: str) -> None:
    """Drop one owner's cached keys (every process drops its whole cache: keys change rarely)."""
    forget(ctx)
