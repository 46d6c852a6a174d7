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
from typing import Any, Self

from lynkflow.domain import uplynk_owners

KEY_CACHE_SECONDS = 1.0

# The shared document whose change tells every process to drop its cached keys.
KEYS_DOC = "uplynk_keys"


class KeyCache:
    """This process's cached key lookups, dropped when the published key generation changes.

    One mechanism for api2 signing keys (per owner) and VIS API keys (vuflow/auth.py, a subclass so
    each has its own instance in `ctx.caches`): entries live `KEY_CACHE_SECONDS`, a new generation
    drops them all, and a read that straddles a drop is not cached.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[float, Any]] = {}  # key -> (expiry on the monotonic clock, value)
        self.seen: Any = None  # the KEYS_DOC value the entries were read under
        self.generation = 0  # bumped on every drop: a read that straddles one is not cached

    @classmethod
    def of(cls, ctx: Any) -> Self:
        """This process's cache, emptied first if any process published a new key generation."""
        cache = ctx.caches.get(cls, cls)
        published = ctx.shared.get(KEYS_DOC)  # refreshed at the start of every API request
        if cache.seen != published:
            cache.clear()
            cache.seen = published
        return cache

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.generation += 1

    def fresh(self, key: str) -> Any | None:
        """The cached value of `key` while it lives; None on a miss (values are never None)."""
        hit = self.entries.get(key)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def remember(self, key: str, value: Any, generation: int) -> None:
        """Cache `value`, read while the cache was at `generation`, unless a drop came meanwhile
        (a change committed during the read would be undone by caching what was read)."""
        with self.lock:
            if len(self.entries) > self.MAX_ENTRIES:
                self.entries.clear()
            if self.generation == generation:
                self.entries[key] = (time.monotonic() + KEY_CACHE_SECONDS, value)


def _load(ctx: Any, owner: str) -> tuple[bool, list[tuple[str, str]]]:
    with ctx.read_session() as db:
        return uplynk_owners.signing_keys(db, owner)


def lookup(ctx: Any, owner: str, *, fresh: bool = False) -> tuple[bool, list[tuple[str, str]]]:
    """(owner exists, [(key id, secret), ...] of enabled keys, its `api` subowners' keys last)."""
    cache = KeyCache.of(ctx)
    if not fresh:
        hit = cache.fresh(owner)
        if hit is not None:
            return hit
    generation = cache.generation
    found = _load(ctx, owner)
    cache.remember(owner, found, generation)
    return found


def owner_exists(ctx: Any, owner: str) -> bool:
    return lookup(ctx, owner)[0]


def enabled_keys(ctx: Any, owner: str, *, fresh: bool = False) -> list[tuple[str, str]]:
    return lookup(ctx, owner, fresh=fresh)[1]


def forget(ctx: Any) -> None:
    """Drop every process's cached keys (after a reset or a key change made through lynkflow).

    Call after the change is committed, so no reader re-caches the old keys.
    """
    ctx.shared.put(KEYS_DOC, {"generation": uuid.uuid4().hex})
    KeyCache.of(ctx)


def forget_owner(ctx: Any, owner: str) -> None:
    """Drop one owner's cached keys (every process drops its whole cache: keys change rarely)."""
    forget(ctx)
