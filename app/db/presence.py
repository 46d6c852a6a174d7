"""Which lynkflow processes use a database right now: each keeps a lease row fresh in it.

A running `lynkflow serve` (and `lynkflow worker`) writes one `lynkflow_kv` row, key
`presence:<random id>`, value `{"role", "pid", "host", "address", "expires"}`, and rewrites it every
REFRESH_SECONDS with `expires` = now + LEASE_SECONDS; it deletes the row when it stops. A row whose
lease has expired belongs to a process that died without cleaning up and is ignored.

Why a row in the database: it works the same for SQLite and PostgreSQL, and for processes on
other hosts sharing one PostgreSQL (a file lock or a PID file would not). Like job leases, it
trusts the hosts' clocks to agree within a few seconds. Resets and snapshot imports keep these rows
(see `lynkflow.db.wipe`) and exports leave them out: they describe processes, not data.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, insert, select, update

from lynkflow.db.models import KeyValue
from lynkflow.logging import get_logger

log = get_logger("presence")

PREFIX = "presence:"
REFRESH_SECONDS = 2.0
LEASE_SECONDS = 10.0


@dataclass(frozen=True)
class LiveProcess:
    role: str
    pid: int
    host: str
    address: str

    def describe(self) -> str:
        where = f" on {self.address}" if self.address else ""
        return f"lynkflow {self.role}{where} (pid {self.pid} on {self.host})"


class Presence:
    """The lease row of this process; `start()` writes it and keeps it fresh until `stop()`."""

    def __init__(self, engine: Engine, role: str, address: str = "") -> None:
        self.engine = engine
        self.key = PREFIX + uuid.uuid4().hex
        self.info = {"role": role, "pid": os.getpid(), "host": socket.gethostname(), "address": address}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._write()  # visible before the process reports itself ready
        self._thread = threading.Thread(target=self._refresh, name="lynkflow-presence", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=REFRESH_SECONDS * 2)
        try:
            with self._transaction() as conn:
                conn.execute(delete(KeyValue).where(KeyValue.key == self.key))
        except Exception:  # noqa: BLE001 - the lease expires by itself
            log.warning("could not remove the presence row; it expires in %s s", LEASE_SECONDS)

    def _refresh(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            try:
                self._write()
            except Exception:  # noqa: BLE001 - a database hiccup must not stop the server
                log.warning("could not refresh the presence row", exc_info=True)

    def _write(self) -> None:
        value = json.dumps({**self.info, "expires": time.time() + LEASE_SECONDS})
        with self._transaction() as conn:
            # Update, else insert: the key is this process's own, so no one else races for it.
            done = conn.execute(update(KeyValue).where(KeyValue.key == self.key).values(value=value))
            if done.rowcount == 0:
                conn.execute(insert(KeyValue).values(key=self.key, value=value))

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")  # SQLite: the write lock up front
            with conn.begin():
                yield conn


def live_processes(engine: Engine) -> list[LiveProcess]:
    """The processes whose lease on this database has not expired."""
    now = time.time()
    with engine.connect() as conn:
        rows = conn.execute(select(KeyValue.value).where(KeyValue.key.startswith(PREFIX))).scalars().all()
    found = []
    for raw in rows:
        try:
            doc = json.loads(raw)
            if float(doc["expires"]) > now:
                found.append(LiveProcess(role=str(doc.get("role", "?")), pid=int(doc.get("pid", 0)),
                                         host=str(doc.get("host", "?")), address=str(doc.get("address", ""))))
        except (ValueError, KeyError, TypeError):
            continue  # not one of ours: ignore rather than block a reset forever
    return found
