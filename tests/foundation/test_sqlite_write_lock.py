"""SQLite writers of one process queue on the process's write lock (lynkflow/db/engine.py `WriteLock`)
instead of colliding on SQLite's own lock and sleeping in its busy handler.

The proof is deterministic: with SQLite's busy timeout set to 0, a collision between two writers of
this process is not a nap but an immediate "database is locked" error, so a run with no error is a
run in which no writer ever met another on SQLite's lock.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import event, text

from lynkflow.db.engine import autocommit_cursor, make_engine, make_sessionmaker, session_scope, write_lock

THREADS = 6
ROUNDS = 25


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")

    @event.listens_for(eng, "connect")
    def no_busy_wait(dbapi_conn, _record) -> None:  # noqa: ANN001 - runs after lynkflow's own pragmas
        dbapi_conn.execute("PRAGMA busy_timeout=0")

    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER, who TEXT)"))
    yield eng
    eng.dispose()


def test_writers_of_one_process_never_meet_on_sqlites_lock(engine) -> None:
    sessions = make_sessionmaker(engine)  # write sessions: BEGIN IMMEDIATE
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def writer(k: int) -> None:
        try:
            start.wait()
            for i in range(ROUNDS):
                if i % 3 == 0:  # an autocommit write, as the replay guard makes
                    with write_lock(engine), autocommit_cursor(engine) as cur:
                        cur.execute("INSERT INTO t VALUES (?, 'auto')", (i,))
                elif i % 3 == 1:  # a write session, as an api2 write operation holds
                    with session_scope(sessions) as db:
                        db.execute(text("INSERT INTO t VALUES (:n, 'session')"), {"n": i})
                        time.sleep(0.001)  # work inside the transaction: others arrive meanwhile
                else:  # a Core write transaction, as the journal flusher opens
                    with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
                        conn.execute(text("INSERT INTO t VALUES (:n, 'core')"), {"n": i})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, f"{len(errors)} writers met on SQLite's lock, e.g. {errors[0]!r}"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == THREADS * ROUNDS


def test_the_lock_is_given_back_by_whichever_thread_ends_the_transaction(engine) -> None:
    """A request's write session may begin in one thread-pool thread and commit in another."""
    sessions = make_sessionmaker(engine)
    db = sessions()
    began = threading.Thread(target=lambda: db.execute(text("INSERT INTO t VALUES (1, 'a')")))
    began.start()
    began.join()
    lock = db.connection().connection.driver_connection.write_lock
    assert lock.locked()  # held between the two threads
    ended = threading.Thread(target=db.commit)
    ended.start()
    ended.join()
    assert not lock.locked()
    db.close()
    with write_lock(engine), autocommit_cursor(engine) as cur:  # free again: this write goes straight in
        cur.execute("INSERT INTO t VALUES (2, 'b')")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 2


def test_a_rolled_back_write_gives_the_lock_back(engine) -> None:
    sessions = make_sessionmaker(engine)
    with pytest.raises(RuntimeError), session_scope(sessions) as db:
        db.execute(text("INSERT INTO t VALUES (1, 'x')"))
        lock = db.connection().connection.driver_connection.write_lock
        assert lock.locked()
        raise RuntimeError("the operation failed")
    assert not lock.locked()
    with session_scope(sessions) as db:
        db.execute(text("INSERT INTO t VALUES (2, 'y')"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT who FROM t")).scalars().all() == ["y"]
