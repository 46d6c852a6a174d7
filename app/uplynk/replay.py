"""Replay protection: an in-memory, bounded, time-windowed set of (msg, sig) pairs already served.

Per process: with several `lynkflow serve` processes behind one address, a replay sent to a
different process is not caught. A pair is remembered for the timestamp skew window (a replay
older than that is refused by the skew check anyway); the set holds at most `MAX_ENTRIES` pairs,
dropping the oldest first.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

MAX_ENTRIES = 200_000


class ReplayGuard:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    def seen_before(self, msg: str, sig: str, now_s: float, window_s: float) -> bool:
        """Record the pair; True if it was already recorded within the window."""
        key = hashlib.sha256(msg.encode() + b"\0" + sig.strip().lower().encode()).digest()
        with self._lock:
            # Expire from the old end; entries are in insertion (= time) order.
            while self._seen:
                oldest_key, at = next(iter(self._seen.items()))
                if at >= now_s - window_s and len(self._seen) < self._max:
                    break
                del self._seen[oldest_key]
            at = self._seen.get(key)
            if at is not None and at >= now_s - window_s:
                return True
            self._seen[key] = now_s
            return False

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
