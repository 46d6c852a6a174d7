"""Where the replay memory (`control_replay`, lynkflow/domain/uplynk_replay.py) lives.

On SQLite, in a database file of its own beside the main one, `<main file>-replay`: a commit to a
SQLite file makes every other connection to it drop its page cache, and replay commits (one per
batch of signed requests, ~1,000 pairs/s under the mixed load) made the main file's reads start cold
(asset/list's page statement: 270-297 µs warm, 532-703 µs after a commit). Every process on the data
dir opens the same file, so the memory stays shared and survives restarts; the name makes a snapshot
leave it out with the main file's -wal and -shm. Elsewhere (PostgreSQL, an in-memory SQLite) it is
the main database's table.
"""

from __future__ import annotations

from sqlalchemy import Engine

from lynkflow.db.engine import autocommit_cursor, make_engine

# The replay file's schema, made by whichever process opens it first (IF NOT EXISTS: two may race).
_SCHEMA = ("CREATE TABLE IF NOT EXISTS control_replay (key VARCHAR(64) NOT NULL PRIMARY KEY, "
           "expires_ms BIGINT NOT NULL)",
           "CREATE INDEX IF NOT EXISTS ix_control_replay_expires_ms ON control_replay (expires_ms)")


def replay_engine(engine: Engine) -> Engine:
    """The engine holding the replay memory of `engine`'s database: a new one on the replay file
    (the caller disposes of it), or `engine` itself."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return engine
    own = make_engine(f"sqlite:///{path}-replay")
    with autocommit_cursor(own) as cur:
        for statement in _SCHEMA:
            cur.execute(statement)
    return own
