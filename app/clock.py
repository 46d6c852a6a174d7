"""The one clock of lynkflow.

Everything time-based (timestamps in answers, signature skew, autoexpire, lifecycle delays,
the change log) reads this clock, so a test or the control plane can freeze, set and advance
time for the whole service at once. Job leases deliberately use real monotonic time instead
(see app/jobs): a frozen test clock must never make a healthy worker look dead.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ClockState:
    now_ms: int
    frozen: bool
    offset_ms: int


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
    """Wall time plus an offset, optionally frozen at a fixed instant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset_ms = 0
        self._frozen_at_ms: int | None = None

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

    def set(self, at_ms: int) -> None:
        """Jump to an instant; keeps running (or stays frozen) from there."""
        with self._lock:
            at_ms = _checked(int(at_ms))
            if self._frozen_at_ms is not None:
                self._frozen_at_ms = at_ms
            else:
                self._offset_ms = at_ms - int(time.time() * 1000)

    def advance(self, ms: int) -> None:
        with self._lock:
            _checked(self.now_ms() + int(ms))
            if self._frozen_at_ms is not None:
                self._frozen_at_ms += int(ms)
            else:
                self._offset_ms += int(ms)

    def resume(self) -> None:
        """Run again from the current (possibly shifted) instant."""
        with self._lock:
            if self._frozen_at_ms is not None:
                self._offset_ms = self._frozen_at_ms - int(time.time() * 1000)
                self._frozen_at_ms = None

    def reset(self) -> None:
        with self._lock:
            self._offset_ms = 0
            self._frozen_at_ms = None


clock = Clock()
