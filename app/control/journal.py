"""The request journal: a size-capped, in-memory record of recent API requests.

One entry per Uplynk or VIS request (the control plane is not journaled): when, which API, method,
path, status, how long it took, the decoded api2 `msg` parameters or the VIS JSON body, the fault
applied and the signature verdict. The middleware appends; tests query, count, clear and wait.
Entries live per process (a `collections.deque` with `maxlen`), so the cap holds however many
requests arrive and appending stays O(1).
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

APIS = ("uplynk", "vuflow")
MAX_WAIT_SECONDS = 300.0  # the longest POST /_lynkflow/journal/wait may hold a request


@dataclass(frozen=True)
class JournalQuery:
    """Filters shared by list, count and wait. `route` is an exact path or a glob (`*`, `?`)."""

    api: str | None = None
    route: str | None = None
    method: str | None = None
    status: str | None = None  # "404", or a class like "4xx"
    since: int | None = None  # lynkflow-clock ms, inclusive
    until: int | None = None  # lynkflow-clock ms, inclusive

    def __post_init__(self) -> None:
        if self.api is not None and self.api not in APIS:
            raise ValueError(f"api must be one of {', '.join(APIS)}, got {self.api!r}")
        if self.status is not None:
            s = self.status.lower()
            if not (s.isdigit() and len(s) == 3) and not (len(s) == 3 and s[0].isdigit() and s[1:] == "xx"):
                raise ValueError(f"status must be a code like 404 or a class like 4xx, got {self.status!r}")

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.api is not None and entry["api"] != self.api:
            return False
        if self.method is not None and entry["method"] != self.method.upper():
            return False
        if self.route is not None and not route_matches(self.route, entry["route"]):
            return False
        if self.status is not None:
            s = self.status.lower()
            code = str(entry["status"])
            if (s.endswith("xx") and code[0] != s[0]) or (not s.endswith("xx") and code != s):
                return False
        if self.since is not None and entry["time"] < self.since:
            return False
        return not (self.until is not None and entry["time"] > self.until)


def route_matches(pattern: str, path: str) -> bool:
    """Exact path or glob; a VIS pattern without the /api prefix also matches the /api path."""
    candidates = [path]
    if path.startswith("/api/"):
        candidates.append(path[4:])
    if any(c in pattern for c in "*?["):
        return any(fnmatch.fnmatchcase(p, pattern) for p in candidates)
    return pattern in candidates


class Journal:
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.total = 0  # requests seen since start or the last clear (beyond the cap, too)

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            entry["id"] = next(self._ids)
            self._entries.append(entry)
            self.total += 1

    def entries(self, query: JournalQuery | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Matching entries, oldest first; with `limit`, the newest `limit` of them."""
        with self._lock:
            snapshot = list(self._entries)
        found = [e for e in snapshot if query is None or query.matches(e)]
        if limit is not None:
            found = found[-limit:] if limit > 0 else []
        return found

    def count(self, query: JournalQuery | None = None) -> int:
        if query is None:
            with self._lock:
                return len(self._entries)
        return len(self.entries(query))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.total = 0

    async def wait_for(self, count: int, query: JournalQuery, timeout: float) -> list[dict[str, Any]] | None:
        """The matching entries once there are at least `count`, or None after `timeout` seconds.

        Polls every few milliseconds with asyncio.sleep: the wait never blocks the event loop, so
        the requests it waits for are served meanwhile.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.entries(query)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.005)


def get_journal(services: dict[str, Any], size: int) -> Journal:
    journal = services.get("journal")
    if journal is None:
        journal = services.setdefault("journal", Journal(size))
    return journal
