"""One way to keep a per-process cache of shared rows: reloaded when SharedState says they changed.

Fault rules, stubs and the tenant directory are rows every process shares; each process keeps what
it last read in memory and reads again only after a refresh of the shared version saw a change (any
write to those rows bumps it), so a request that finds the cache fresh does no database work at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from lynkflow.shared import SharedState

T = TypeVar("T")


class SharedCache(Generic[T]):
    """`load()`'s last answer, loaded again on the first `get()` after the shared version moved."""

    def __init__(self, shared: SharedState, load: Callable[[], T], empty: T) -> None:
        self._load = load
        self._value = empty
        self._stale = True
        shared.on_change(self._mark_stale)

    def _mark_stale(self, _docs: dict[str, Any]) -> None:
        self._stale = True

    def get(self) -> T:
        if self._stale:
            # Cleared before the read: a change committed while it runs marks the cache stale again.
            self._stale = False
            try:
                self._value = self._load()
            except BaseException:
                self._stale = True  # a failed read (database gone) is tried again next time
                raise
        return self._value
