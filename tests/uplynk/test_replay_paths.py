"""Where the replay check runs (lynkflow/domain/uplynk_replay.py, app/uplynk/dispatch.py): on SQLite
on the event loop when it cannot wait, else in a thread (the operation's own hop when it has one);
the answer a client gets is the same either way. Also: an operation's Session is made only if used.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from lynkflow.db.engine import make_engine, sqlite_write_lock
from lynkflow.db.models import ControlReplay
from lynkflow.db.replay_file import replay_engine
from lynkflow.domain.uplynk_replay import PRUNE_EVERY, ReplayGuard

WINDOW = 300_000


def _sqlite_only(ctx: Any) -> None:
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("the event-loop path is SQLite's")


def _rows(ctx: Any) -> int:
    """Pairs in the replay memory (on SQLite its own file, lynkflow/db/replay_file.py)."""
    engine = replay_engine(ctx.engine)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(ControlReplay))
    finally:
        if engine is not ctx.engine:
            engine.dispose()


def test_postgres_always_takes_the_thread_path(ctx) -> None:
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    g = ReplayGuard(ctx.engine)
    assert g.seen_now("m", "s", 100_000, WINDOW) is None
    assert not g.seen_before("m", "s", 100_000, WINDOW)


def test_seen_now_remembers_like_seen_before(ctx) -> None:
    _sqlite_only(ctx)
    g = ReplayGuard(ctx.engine)
    assert g.seen_now("m", "s", 100_000, WINDOW) is False
    assert g.seen_now("m", "S ", 150_000, WINDOW) is True  # same pair: hex case, whitespace ignored
    assert g.seen_before("m", "s", 160_000, WINDOW)  # the thread path reads the same memory
    assert g.seen_now("m", "s", 500_000, WINDOW) is False  # the window ended: remembered anew
    # Its connection never checkpoints (a checkpoint on the event loop could stall it).
    assert g._own._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    g.close()


def test_a_pair_seen_by_one_process_is_refused_by_another(ctx) -> None:
    _sqlite_only(ctx)
    other = make_engine(str(ctx.engine.url))  # another process: its own engine on the same file
    try:
        mine, theirs = ReplayGuard(ctx.engine), ReplayGuard(other)
        assert mine.seen_now("m", "s", 100_000, WINDOW) is False
        assert theirs.seen_now("m", "s", 100_001, WINDOW) is True
        assert theirs.seen_before("n", "s", 100_002, WINDOW) is False
        assert mine.seen_now("n", "s", 100_003, WINDOW) is True
        mine.close()
        theirs.close()
    finally:
        other.dispose()


def test_a_writer_of_this_process_sends_it_to_the_thread(ctx) -> None:
    _sqlite_only(ctx)
    g = ReplayGuard(ctx.engine)
    lock = sqlite_write_lock(g.engine)  # the replay file's
    assert lock is not None
    taken = threading.Event()
    done = threading.Event()

    def writer() -> None:
        with lock.held():
            taken.set()
            done.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert taken.wait(10)
        assert g.seen_now("m", "s", 100_000, WINDOW) is None  # did not wait, did not write
        assert _rows(ctx) == 0
    finally:
        done.set()
        t.join(10)
    assert g.seen_now("m", "s", 100_000, WINDOW) is False
    g.close()


def test_another_process_holding_the_file_sends_it_to_the_thread_at_once(ctx) -> None:
    _sqlite_only(ctx)
    g = ReplayGuard(ctx.engine)
    assert g.seen_now("warm", "s", 100_000, WINDOW) is False  # its connection is open
    holder = sqlite3.connect(g.engine.url.database, isolation_level=None)  # the replay file
    try:
        holder.execute("BEGIN IMMEDIATE")  # SQLite's write lock, held by "another process"
        started = time.monotonic()
        assert g.seen_now("m", "s", 100_000, WINDOW) is None
        assert time.monotonic() - started < 1  # an answer at once, not SQLite's 30 s busy wait
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert g.seen_now("m", "s", 100_000, WINDOW) is False  # the connection is still good
    g.close()


def test_the_pruning_insert_takes_the_thread_path(ctx) -> None:
    _sqlite_only(ctx)
    g = ReplayGuard(ctx.engine)
    for i in range(PRUNE_EVERY - 1):
        assert g.seen_now(f"x{i}", "s", 1_000_000, 1) is False
    assert g.seen_now("last", "s", 2_000_000, 1) is None  # the pruning turn: left to seen_before
    assert not g.seen_before("last", "s", 2_000_000, 1)
    assert _rows(ctx) == 1  # every expired pair was pruned by that insert
    g.close()


def test_pairs_remembered_by_writes_are_pruned_too(ctx) -> None:
    """A client that only writes: its pairs, remembered in the writes' own transactions, are pruned as
    new ones arrive, as a reader's are."""
    g = ReplayGuard(ctx.engine)
    if not g.checks_in_write:
        pytest.skip("on SQLite a write's check is one of its own (seen_before), which prunes")
    for i in range(2 * PRUNE_EVERY):
        with ctx.session() as db:
            assert not g.seen_in(db, f"w{i}", "s", 1_000_000 + i * 1000, 1)
    assert _rows(ctx) < PRUNE_EVERY + 1
    g.close()


def test_seen_all_answers_each_pair_as_if_alone_in_one_transaction(ctx) -> None:
    """SQLite: one transaction; PostgreSQL: one statement."""
    g = ReplayGuard(ctx.engine)
    assert not g.seen_before("old", "s", 100_000, WINDOW)
    pairs = [("b", "s", 100_000, WINDOW), ("old", "s", 100_000, WINDOW), ("a", "s", 100_000, WINDOW),
             ("b", "S ", 100_000, WINDOW)]  # the first pair again (hex case, whitespace): a replay
    assert g.seen_all(pairs) == [False, True, False, True]
    assert _rows(ctx) == 3
    assert g.seen_all([("a", "s", 100_001, WINDOW), ("c", "s", 100_001, WINDOW)]) == [True, False]
    # Windows ended are taken over, each by its own now; a pair twice: the second is a replay.
    later = 100_000 + WINDOW
    assert g.seen_all([("a", "s", later + 1, WINDOW), ("c", "s", later, 2), ("a", "s", later + 1, WINDOW),
                       ("d", "s", later, 2)]) == [False, True, True, False]
    g.close()


def test_checks_that_arrive_while_a_batch_runs_share_the_next_one(ctx, monkeypatch) -> None:
    """One thread hop and one transaction for all of them, each caller its own answer."""
    import asyncio

    _sqlite_only(ctx)
    g = ReplayGuard(ctx.engine)
    assert not g.seen_before("seen", "s", 100_000, WINDOW)
    batches: list[list[str]] = []
    release = threading.Event()
    seen_all = ReplayGuard.seen_all

    def recorded(self: ReplayGuard, pairs: list[Any]) -> list[bool]:
        batches.append([p[0] for p in pairs])
        if len(batches) == 1:
            release.wait(10)  # the first batch runs until the others have arrived
        return seen_all(self, pairs)

    monkeypatch.setattr(ReplayGuard, "seen_all", recorded)

    async def scenario() -> list[bool]:
        first = asyncio.ensure_future(g.seen_soon("first", "s", 100_000, WINDOW))
        while not batches:
            await asyncio.sleep(0.001)
        rest = [asyncio.ensure_future(g.seen_soon(m, "s", 100_000, WINDOW)) for m in ("x", "seen", "y", "x")]
        await asyncio.sleep(0.01)
        release.set()
        return await asyncio.wait_for(asyncio.gather(first, *rest), 10)

    assert asyncio.run(scenario()) == [False, False, True, False, True]
    assert batches == [["first"], ["x", "seen", "y", "x"]]
    g.close()


def test_two_event_loops_batch_apart(ctx, monkeypatch) -> None:
    """One app served from two event loops at once (in-process test clients): neither loses the other's checks."""
    import asyncio

    _sqlite_only(ctx)
    g = ReplayGuard(ctx.engine)
    first_batches = threading.Barrier(2, timeout=10)
    calls: list[str] = []
    seen_all = ReplayGuard.seen_all

    def recorded(self: ReplayGuard, pairs: list[Any]) -> list[bool]:
        calls.append(pairs[0][0])
        if len(calls) <= 2:
            first_batches.wait()  # each loop's first batch runs until the other loop has one running too
        return seen_all(self, pairs)

    monkeypatch.setattr(ReplayGuard, "seen_all", recorded)
    results: dict[str, Any] = {}

    def serve(name: str, delay: float) -> None:
        async def scenario() -> list[bool]:
            await asyncio.sleep(delay)
            first = asyncio.ensure_future(g.seen_soon(f"{name}1", "s", 100_000, WINDOW))
            await asyncio.sleep(0.05)  # the second waits for the next batch of its loop
            second = asyncio.ensure_future(g.seen_soon(f"{name}2", "s", 100_000, WINDOW))
            return await asyncio.wait_for(asyncio.gather(first, second), 10)

        try:
            results[name] = asyncio.run(scenario())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    threads = [threading.Thread(target=serve, args=("a", 0.0)), threading.Thread(target=serve, args=("b", 0.2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {"a": [False, False], "b": [False, False]}
    g.close()


def test_a_failed_batch_fails_every_check_in_it(ctx, monkeypatch) -> None:
    import asyncio

    _sqlite_only(ctx)
    g = ReplayGuard(ctx.engine)

    def broken(self: ReplayGuard, pairs: list[Any]) -> list[bool]:
        raise RuntimeError("database gone")

    monkeypatch.setattr(ReplayGuard, "seen_all", broken)

    async def scenario() -> list[Any]:
        checks = asyncio.gather(*(g.seen_soon(m, "s", 100_000, WINDOW) for m in "ab"), return_exceptions=True)
        return await asyncio.wait_for(checks, 10)

    assert [str(e) for e in asyncio.run(scenario())] == ["database gone", "database gone"]
    g.close()


def test_postgres_checks_from_the_event_loop_share_one_statement(ctx, monkeypatch) -> None:
    """PostgreSQL: the checks that arrive while one is made go in one multi-row insert (one round trip)."""
    import asyncio

    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    g = ReplayGuard(ctx.engine)
    batches: list[int] = []
    seen_all = ReplayGuard.seen_all

    def recorded(self: ReplayGuard, pairs: list[Any]) -> list[bool]:
        batches.append(len(pairs))
        return seen_all(self, pairs)

    monkeypatch.setattr(ReplayGuard, "seen_all", recorded)

    async def scenario() -> list[bool]:
        checks = asyncio.gather(*(g.seen_soon(m, "s", 100_000, WINDOW) for m in ("a", "b", "a", "c")))
        return await asyncio.wait_for(checks, 10)

    assert asyncio.run(scenario()) == [False, False, True, False]
    assert batches == [1, 3]  # the first alone (it starts at once), the rest together
    assert _rows(ctx) == 3


# --- over HTTP ------------------------------------------------------------------------------------


def _journal(client) -> list[dict[str, Any]]:
    return client.get("/_lynkflow/journal", params={"api": "uplynk"}).json()["entries"]


@pytest.mark.parametrize("op", ["asset/get", "asset/list", "asset/update"])
@pytest.mark.parametrize("path", ["event loop", "thread"])
def test_a_replay_is_refused_and_journaled_on_either_path(api, client, asset_factory, monkeypatch, op: str,
                                                          path: str) -> None:
    loop_threads: set[int] = set()
    check_threads: set[int] = set()
    if path == "thread":  # as on PostgreSQL, or with the SQLite write lock busy
        seen_before = ReplayGuard.seen_before

        def seen_now(*_: Any) -> None:
            loop_threads.add(threading.get_ident())  # authenticate runs on the event loop
            return None

        def recorded(*args: Any) -> bool:
            check_threads.add(threading.get_ident())
            return seen_before(*args)

        monkeypatch.setattr(ReplayGuard, "seen_now", seen_now)
        monkeypatch.setattr(ReplayGuard, "seen_before", recorded)
    aid = asset_factory(desc="original")
    params = {"id": aid} if op != "asset/list" else {"search": "x"}
    if op == "asset/update":
        params["desc"] = "first"
    pair = api.pair(params)
    assert client.post(f"/api2/{op}", data=pair).json()["error"] == 0
    if op == "asset/update":
        assert api.ok("asset/update", id=aid, desc="later")["asset"]["desc"] == "later"
    out = client.post(f"/api2/{op}", data=pair).json()
    assert out == {"error": 1, "msg": out["msg"]} and out["msg"].startswith("replayed request")
    assert api.ok("asset/get", id=aid)["asset"]["desc"] == ("later" if op == "asset/update" else "original")
    refused = [e for e in _journal(client) if e.get("signature") == "replayed"]
    assert len(refused) == 1 and refused[0]["route"] == f"/api2/{op}" and refused[0]["msg"] == out["msg"]
    assert not loop_threads & check_threads  # a check that may wait never runs on the event loop
    assert bool(check_threads) == (path == "thread")
    journaled = refused[0]["params"]  # the decoded msg, envelope included
    assert {k: v for k, v in journaled.items() if not k.startswith("_")} == params and "_timestamp" in journaled


def test_an_operation_makes_its_session_only_if_it_uses_it(api, client, asset_factory, monkeypatch) -> None:
    ctx = client.app.state.ctx
    aid = asset_factory()
    api.ok("asset/get", id=aid)  # the signing key cache, loaded on first use (in a session of its own)
    made: list[int] = []
    factory = ctx.read_sessions

    def counting() -> Any:
        made.append(1)
        return factory()

    monkeypatch.setattr(ctx, "read_sessions", counting)
    api.ok("asset/get", id=aid)
    assert made == []  # by ID: prebuilt statements, no Session
    api.ok("asset/get", ids=[aid])
    assert made == [1]


def test_hot_reads_take_a_pooled_connection_when_their_own_is_busy(ctx) -> None:
    from lynkflow.db.engine import OwnConnection

    own = OwnConnection(ctx.engine)
    with own.cursor() as first:
        first.execute("SELECT 1")
        started = time.monotonic()
        with own.cursor() as second:  # in use (another thread, another loop): the pool, no wait
            assert time.monotonic() - started < 0.2
            assert second is not first
            second.execute("SELECT 2")
            assert second.fetchall() == [(2,)]
        conn = own._conn
    with own.cursor() as again:
        assert own._conn is conn  # its own connection, kept
        again.execute("SELECT 3")
    with pytest.raises(Exception), own.cursor() as broken:  # noqa: B017, PT011 - any driver error
        broken.execute("SELECT * FROM no_such_table")
    assert own._conn is None  # dropped: a fresh one next time
    with own.cursor() as fresh:
        fresh.execute("SELECT 4")
        assert fresh.fetchall() == [(4,)]
    own.close()


def test_own_connection_is_kept_when_sqlite_is_only_busy(ctx) -> None:
    """Another process holding the file's write lock says nothing about the connection: it is kept
    (the replay guard would otherwise reconnect on every busy moment), and `cursor_if_free` says None
    while another user has it."""
    _sqlite_only(ctx)
    from lynkflow.db.engine import OwnConnection

    own = OwnConnection(ctx.engine, "PRAGMA busy_timeout=0")
    with own.cursor_if_free() as cur:
        cur.execute("SELECT 1")
        with own.cursor_if_free() as second:
            assert second is None
    conn = own._conn
    holder = make_engine(str(ctx.engine.url)).raw_connection()
    try:
        holder.driver_connection.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"), own.cursor_if_free() as cur:
            cur.execute("INSERT INTO control_replay (key, expires_ms) VALUES ('k', 1)")
        assert own._conn is conn
    finally:
        holder.driver_connection.execute("ROLLBACK")
        holder.close()
    own.close()


def _spy_on_checks_of_their_own(monkeypatch) -> list[str]:  # noqa: ANN001
    """Records every replay check made apart from a write's transaction (on the loop, in a thread)."""
    made: list[str] = []
    seen_now, seen_before = ReplayGuard.seen_now, ReplayGuard.seen_before

    def now(self: ReplayGuard, *args: Any) -> bool | None:
        made.append("seen_now")
        return seen_now(self, *args)

    def before(self: ReplayGuard, *args: Any) -> bool:
        made.append("seen_before")
        return seen_before(self, *args)

    monkeypatch.setattr(ReplayGuard, "seen_now", now)
    monkeypatch.setattr(ReplayGuard, "seen_before", before)
    return made


def test_a_signed_write_remembers_its_pair_in_its_own_transaction(api, client, asset_factory, monkeypatch) -> None:
    """PostgreSQL: one commit per signed write: the replay row is written by the update's own
    transaction, and a replay of it is refused there, before the operation runs."""
    if client.app.state.ctx.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the replay memory is a file of its own")
    aid = asset_factory(desc="original")
    made = _spy_on_checks_of_their_own(monkeypatch)
    replays_before = _rows(client.app.state.ctx)
    pair = api.pair({"id": aid, "desc": "first"})
    assert client.post("/api2/asset/update", data=pair).json()["asset"]["desc"] == "first"
    assert _rows(client.app.state.ctx) == replays_before + 1
    out = client.post("/api2/asset/update", data=pair).json()
    assert out["error"] == 1 and out["msg"].startswith("replayed request")
    assert made == []
    assert [e["signature"] for e in _journal(client) if e["route"] == "/api2/asset/update"] == ["valid", "replayed"]


@pytest.mark.parametrize("params", [{"id": "no-such-asset", "desc": "x"}, {"desc": "no id given"},
                                    {"id": "no-such-asset", "autoexpire": "not a number"}])
def test_a_failed_signed_write_is_remembered_too(api, client, params: dict[str, Any]) -> None:
    """The write's transaction rolls back, the pair stays remembered: its replay is refused as one."""
    pair = api.pair(params)
    first = client.post("/api2/asset/update", data=pair).json()
    assert first["error"] == 1 and not first["msg"].startswith("replayed request")
    out = client.post("/api2/asset/update", data=pair).json()
    assert out["error"] == 1 and out["msg"].startswith("replayed request")


def test_a_write_that_copies_first_starts_with_no_transaction(api, client, monkeypatch) -> None:
    """cloudslicer/jobs/create copies its source before its first statement, holding no lock: its replay
    check is one of its own, made before the operation, which starts with no Session (no transaction)."""
    from lynkflow.uplynk import cloudslicer_jobs
    from lynkflow.uplynk.errors import Api2Error

    sessions_at_start: list[object] = []

    def create_job(db: Any, *_: Any, **__: Any) -> str:
        sessions_at_start.append(db.session)  # the dispatcher's LazySession: None until first used
        raise Api2Error("stopped before the copy")

    monkeypatch.setattr(cloudslicer_jobs.jobs, "create_job", create_job)
    pair = api.pair({"source": {"url": "clip.mp4"}})
    assert client.post("/api2/cloudslicer/jobs/create", data=pair).json()["msg"] == "stopped before the copy"
    assert client.post("/api2/cloudslicer/jobs/create", data=pair).json()["msg"].startswith("replayed request")
    assert sessions_at_start == [None]


def test_sqlite_keeps_the_replay_memory_in_a_file_of_its_own(api, client, asset_factory) -> None:
    """A commit to the main file makes every other connection drop its page cache: on SQLite the pairs of
    signed reads and writes go to `<main file>-replay`, none to the main file, and replays of both are
    still refused (lynkflow/db/replay_file.py)."""
    ctx = client.app.state.ctx
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps them in its own table")
    aid = asset_factory(desc="original")
    calls = [("/api2/asset/get", api.pair({"id": aid})), ("/api2/asset/update", api.pair({"id": aid, "desc": "new"}))]
    for url, pair in calls:
        assert client.post(url, data=pair).json()["error"] == 0
    for url, pair in calls:
        assert client.post(url, data=pair).json()["msg"].startswith("replayed request")
    with ctx.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ControlReplay)) == 0
    assert _rows(ctx) == 2
    assert Path(f"{ctx.engine.url.database}-replay").is_file()


def test_a_reset_forgets_every_pair(api, client, asset_factory) -> None:
    """After a reset of everything a pair served before is served again (the replay memory is wiped with
    the data, wherever it lives)."""
    pair = api.pair({"limit": 1})
    assert client.post("/api2/asset/list", data=pair).json()["error"] == 0
    assert client.post("/api2/asset/list", data=pair).json()["msg"].startswith("replayed request")
    assert client.post("/_lynkflow/reset").json() == {"reset": "everything"}
    assert client.post("/api2/asset/list", data=pair).json()["error"] == 0
    assert _rows(client.app.state.ctx) == 1
