"""How idle workers wait: no locks while the queue is empty, and (PostgreSQL) woken by NOTIFY when
another process enqueues, instead of at their next poll."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event

from lynkflow.context import build_context
from lynkflow.db.models import Job
from lynkflow.jobs import queue
from lynkflow.jobs.workers import WorkerPool
from tests.conftest import BACKEND


def test_an_idle_worker_takes_no_write_lock(ctx) -> None:
    writes: list[str] = []

    def on_begin(conn) -> None:  # noqa: ANN001
        writes.append(conn.get_execution_options().get("sqlite_begin", "") or "pg")

    def on_for_update(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if "FOR UPDATE" in statement or statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            writes.append(statement)

    event.listen(ctx.engine, "begin", on_begin)
    event.listen(ctx.engine, "before_cursor_execute", on_for_update)
    pool = WorkerPool(ctx, count=2, poll_seconds=0.1)
    pool.start()
    try:
        time.sleep(1.5)  # ~15 polls per worker and a housekeeping pass
    finally:
        pool.stop()
        event.remove(ctx.engine, "begin", on_begin)
        event.remove(ctx.engine, "before_cursor_execute", on_for_update)
    assert [w for w in writes if w in ("IMMEDIATE", "EXCLUSIVE") or "FOR UPDATE" in w or "UPDATE" in w] == []


@pytest.mark.skipif(BACKEND != "postgres", reason="LISTEN/NOTIFY is PostgreSQL's; SQLite workers poll")
def test_notify_wakes_a_worker_of_another_process_at_once(ctx, settings) -> None:
    pool = WorkerPool(ctx, count=1)  # polls every 2 s on PostgreSQL: only a NOTIFY can be faster
    pool.start()
    other = build_context(settings)  # another "process": its enqueue cannot wake the pool in memory
    try:
        time.sleep(0.5)  # the listener is up and the worker idle
        latencies = []
        for _ in range(5):
            with other.session() as db:
                job_id = queue.enqueue(db, other, "test.unknown-kind", {}).id
            deadline = time.monotonic() + 5
            while True:
                with other.read_session() as db:
                    job = db.get(Job, job_id)
                    if job.started is not None:
                        latencies.append(job.started - job.created)
                        break
                assert time.monotonic() < deadline
                time.sleep(0.005)
            time.sleep(0.3)
    finally:
        pool.stop()
        other.engine.dispose()
    assert sorted(latencies)[2] < 500, latencies  # the median, far below the 2 s poll
