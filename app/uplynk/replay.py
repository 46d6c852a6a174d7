"""Replay protection: every signed api2 request is remembered, by every process, for its skew window.

A (msg, sig) pair is one row of `control_replay` (a hash as the key, an expiry on the lynkflow
clock). Remembering is one atomic statement — insert, or take over a row whose window has ended —
so a pair served by any process is refused by every other one until the skew window ends (a replay
older than that is refused by the skew check anyway), and the memory survives a restart. Expired
rows are pruned now and then by the process that inserts.
"""

from __future__ import annotations

import hashlib
import itertools

from sqlalchemy import Engine, delete, text

from lynkflow.db.models import ControlReplay

# One insert in this many also prunes expired rows (cheap: the expiry is indexed).
PRUNE_EVERY = 500

_REMEMBER = text(
    "INSERT INTO control_replay (key, expires_ms) VALUES (:key, :expires) "
    "ON CONFLICT (key) DO UPDATE SET expires_ms = excluded.expires_ms "
    "WHERE control_replay.expires_ms < :now")


def replay_key(msg: str, sig: str) -> str:
    return hashlib.sha256(msg.encode() + b"\0" + sig.strip().lower().encode()).hexdigest()


class ReplayGuard:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        self._inserts = itertools.count(1)

    def seen_before(self, msg: str, sig: str, now_ms: int, window_ms: int) -> bool:
        """Remember the pair; True if it was already remembered and its window has not ended."""
        params = {"key": replay_key(msg, sig), "expires": now_ms + window_ms, "now": now_ms}
        with self.engine.begin() as conn:
            remembered = conn.execute(_REMEMBER, params).rowcount
            if next(self._inserts) % PRUNE_EVERY == 0:
                conn.execute(delete(ControlReplay).where(ControlReplay.expires_ms < now_ms))
        return remembered == 0

    def clear(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ControlReplay))
