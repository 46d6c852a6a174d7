"""The one clock of lynkflow.

Everything time-based (timestamps in answers, signature skew, autoexpire, lifecycle delays,
the change log) reads this clock, so a test or the control plane can freeze, set and advance
time for the whole service at once. Its state (an offset from wall time, or a frozen instant) is
shared through the database (`to_doc`/`apply`), so every process and worker shows the same time.
Job leases deliberately use real monotonic time instead
(see app/jobs): a frozen test clock must never make a healthy worker look dead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ClockState:
    now_ms: int
    frozen: bool
    offset_ms: int


# The name of the clock's document in the shared control-plane state.
CLOCK_DOC = "clock"

# Instants the clock may show: what every consumer (ms columns, ISO dates) can represent.
MIN_MS = 0
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


class ClockRangeError(ValueError):
    """A freeze, set or advance that would move the clock outside 1970..9999."""


def _checked(ms: int) -> int:
    if not MIN_MS <= ms <= MAX_MS:
        raise ClockRangeError(f"the clock must stay between {MIN_MS} (1970-01-01) and {MAX_MS} "
                              f"(9999-12-31) epoch ms; that would make it {ms}")
    return ms


class Clock:
    """Wall time plus an offset, optionally frozen at a fixed instant.

    Every change is handed to `publish` (set by the context: it stores the state for the other
    processes); `apply` takes a state another process stored and publishes nothing.
    """

    def __init__(self, publish: Callable[[dict[str, int | None]], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._offset_ms = 0
        self._frozen_at_ms: int | None = None
        self.publish = publish

    def now_ms(self) -> int:
        frozen = self._frozen_at_ms
        if frozen is not None:
            return frozen
        return int(time.time() * 1000) + self._offset_ms

    def now(self) -> float:
        """Seconds since the epoch as a float."""
        return self.now_ms() / 1000.0

    def state(self) -> ClockState:
        with self._lock:
            return ClockState(self.now_ms(), self._frozen_at_ms is not None, self._offset_ms)

    def freeze(self, at_ms: int | None = None) -> None:
        with self._lock:
            self._frozen_at_ms = self.now_ms() if at_ms is None else _checked(int(at_ms))
        self._published()

    def set(self, at_ms: int) -> None:
        """Jump to an instant; keeps running (or stays frozen) from there."""
        with self._lock:
            at_ms = _checked(int(at_ms))
            if self._frozen_at_ms is not None:
                self._frozen_at_ms = at_ms
            else:
                self._offset_ms = at_ms - int(time.time() * 1000)
        self._published()

    def advance(self, ms: int) -> None:
        with self._lock:
            _checked(self.now_ms() + int(ms))
            if self._frozen_at_ms is not None:
                self._frozen_at_ms += int(ms)
            else:
                self._offset_ms += int(ms)
        self._published()

    def resume(self) -> None:
        """Run again from the current (possibly shifted) instant."""
        with self._lock:
            if self._frozen_at_ms is not None:
                self._offset_ms = self._frozen_at_ms - int(time.time() * 1000)
                self._frozen_at_ms = None
        self._published()

    def reset(self) -> None:
        with self._lock:
            self._offset_ms = 0
            self._frozen_at_ms = None
        self._published()

    # --- shared between processes (see lynkflow/shared.py) ----------------------------------------

    def _published(self) -> None:
        if self.publish is not None:
            self.publish(self.to_doc())

    def to_doc(self) -> dict[str, int | None]:
        with self._lock:
            return {"offsetMs": self._offset_ms, "frozenAtMs": self._frozen_at_ms}

    def apply(self, doc: dict[str, int | None] | None) -> None:
        """Take the state another process stored (none stored: real time)."""
        doc = doc or {}
        with self._lock:
            self._offset_ms = int(doc.get("offsetMs") or 0)
            frozen = doc.get("frozenAtMs")
            self._frozen_at_ms = None if frozen is None else int(frozen)
