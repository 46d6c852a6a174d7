"""A token that changes whenever the database's data may have changed, from any connection or process.

For answers remembered per process (vuflow/answers.py): an answer read after the token was taken is
still the database's answer while the token is unchanged. On SQLite the token is `PRAGMA
data_version` on a connection of this object's own, which never writes: SQLite changes the number
whenever *another* connection commits (this process's pool, the journal flusher, a worker, another
`lynkflow serve` on the same file), which is every commit there is. Reading it starts and ends a read
transaction in memory (WAL readers take no lock), so it runs on the event loop, never waiting
(`busy_timeout=0`). The number is per connection: the token holds the connection too, so a connection
opened afresh (after a failure) never matches a token of the old one.

PostgreSQL has no such number short of a round trip per request (or triggers on every table): there
`now()` gives None, "unknown", and callers read afresh.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Engine

from lynkflow.db.engine import OwnConnection


class DataVersion:
    """`now()`: a token equal to an earlier one only if nothing was committed in between; or None."""

    def __init__(self, engine: Engine) -> None:
        sqlite = engine.dialect.name == "sqlite"
        self._own = OwnConnection(engine, "PRAGMA busy_timeout=0") if sqlite else None

    def now(self) -> tuple[Any, int] | None:
        """The token; None when it cannot be known cheaply (PostgreSQL, the connection busy or failing)."""
        if self._own is None:
            return None
        try:
            with self._own.cursor_if_free() as cur:
                if cur is None:  # another thread is reading it: not worth waiting for
                    return None
                cur.execute("PRAGMA data_version")
                return cur.connection, cur.fetchone()[0]
        except sqlite3.Error:  # the connection is dropped (OwnConnection); the next call opens another
            return None

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
