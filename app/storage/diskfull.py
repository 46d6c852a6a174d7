"""A full disk, told apart from other failures and said in words.

The data dir (and, on SQLite, the database) can fill up. That is the machine's condition, not bad
input and not a lynkflow bug, and it is not transient in the way a retry a second later would fix.
Each API refuses writes with `NO_SPACE` in its own shape (api2 `{"error": 1}`, VIS 507, control
plane 507), a job that hits it fails for good with that reason, and nothing is sticky: once space
is freed, the next write works.
"""

from __future__ import annotations

import errno

NO_SPACE = ("no space left on the device that holds the lynkflow data dir (or its database); "
            "free some space and try again")

# How each layer words it: the OS (and ffmpeg, which prints strerror), SQLite, PostgreSQL.
_PHRASES = ("no space left on device", "database or disk is full", "disk quota exceeded")
_PG_DISK_FULL = "53100"


def is_disk_full(exc: BaseException) -> bool:
    """True when `exc`, or anything it wraps or was raised from, says the disk is full."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen or len(seen) > 20:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(current, "pgcode", None) == _PG_DISK_FULL or getattr(current, "sqlstate", None) == _PG_DISK_FULL:
            return True
        text = str(current).lower()
        if any(phrase in text for phrase in _PHRASES):
            return True
        # SQLAlchemy keeps the driver's exception in `.orig`.
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return False
