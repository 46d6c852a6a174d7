"""The durable queue: priority order, exactly-once claims under concurrency, retries, lease
recovery after a dead worker, cancel, and lifecycle holds."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from lynkflow.context import build_context
from lynkflow.db.models import Job, KeyValue
from lynkflow.jobs import queue, registry
from lynkflow.jobs.lifecycle import Lifecycle
from lynkflow.jobs.workers import WorkerPool, finish_job, lifecycles
from tests.conftest import wait_for

_calls: dict[str, list[Any]] = {"finish": [], "fail": []}


def _record_run(ctx, job: registry.JobRun) -> dict[str, Any]:
    # Each execution leaves its own row, so a double run would show up as two rows.
    with ctx.session() as db:
        db.add(KeyValue(key=f"ran:{job.id}:{uuid.uuid4().hex}", value=str(job.payload.get("n"))))
    if job.payload.get("sleep"):
        time.sleep(job.payload["sleep"])
    if job.payload.get("fail_until", 0) >= job.attempt:
        raise RuntimeError(f"transient failure on attempt {job.attempt}")
    if job.payload.get("bad"):
        from lynkflow.media.errors import BadMedia

        raise BadMedia("not a media file")
    return {"n": job.payload.get("n"), "attempt": job.attempt}


registry.register(registry.Handler(
    "test.record", _record_run,
    finish=lambda ctx, jid, payload, result: _calls["finish"].append(jid),
    fail=lambda ctx, jid, payload, reason: _calls["fail"].append((jid, reason)),
    lifecycle_group="test",
))


def _runs(ctx) -> dict[int, int]:
    with ctx.session() as db:
        keys = db.scalars(select(KeyValue.key).where(KeyValue.key.like("ran:%"))).all()
    counts: dict[int, int] = {}
    for k in keys:
        jid = int(k.split(":")[1])
        counts[jid] = counts.get(jid, 0) + 1
    return counts


def _enqueue(ctx, n: int, **payload: Any) -> list[int]:
    ids = []
    with ctx.session() as db:
        for i in range(n):
            ids.append(queue.enqueue(db, ctx, "test.record", {"n": i, **payload},
                                     priority=payload.pop("priority", 5)).id)
    return ids


def _state(ctx, job_id: int) -> Job:
    j = queue.get_job(ctx, job_id)
    assert j is not None
    return j


def test_priority_then_fifo(ctx) -> None:
    order = []
    with ctx.session() as db:
        for prio in (5, 10, 1, 5, 1, 3):
            order.append((prio, queue.enqueue(db, ctx, "test.record", {}, priority=prio).id))
    claimed = []
    while (job := queue.claim(ctx, "w", 30)) is not None:
        claimed.append(job.id)
    assert claimed == [jid for _, jid in sorted(order)]


@pytest.mark.parametrize("priority", [0, 11, -1])
def test_priority_bounds(ctx, priority: int) -> None:
    with ctx.session() as db, pytest.raises(queue.JobError, match="between 1"):
        queue.enqueue(db, ctx, "test.record", {}, priority=priority)


def test_two_pools_run_each_of_100_jobs_exactly_once(ctx, settings) -> None:
    """Two pools with their own engines (like two processes) share the database."""
    ids = _enqueue(ctx, 100)
    other = build_context(settings)
    pools = [WorkerPool(ctx, count=2, poll_seconds=0.05), WorkerPool(other, count=2, poll_seconds=0.05)]
    for p in pools:
        p.start()
    try:
        wait_for(lambda: all(_state(ctx, i).state == "done" for i in ids[-5:]) and
                 len(_runs(ctx)) == 100 and all(_state(ctx, i).state == "done" for i in ids), timeout=60)
    finally:
        for p in pools:
            p.stop()
        other.engine.dispose()
    runs = _runs(ctx)
    assert sorted(runs) == sorted(ids)
    assert set(runs.values()) == {1}


def test_transient_failure_is_retried(ctx) -> None:
    [jid] = _enqueue(ctx, 1, fail_until=1)
    pool = WorkerPool(ctx, count=1, poll_seconds=0.05)
    pool.start()
    try:
        job = wait_for(lambda: (j := _state(ctx, jid)).state in ("done", "failed") and j, timeout=20)
    finally:
        pool.stop()
    assert job.state == "done"
    assert job.attempts == 2
    assert "attempt 1" in (job.last_error or "")


def test_bad_input_fails_at_once_and_calls_fail(ctx) -> None:
    _calls["fail"].clear()
    [jid] = _enqueue(ctx, 1, bad=True)
    pool = WorkerPool(ctx, count=1, poll_seconds=0.05)
    pool.start()
    try:
        job = wait_for(lambda: (j := _state(ctx, jid)).state == "failed" and j, timeout=20)
    finally:
        pool.stop()
    assert job.attempts == 1
    assert job.last_error == "not a media file"
    assert _calls["fail"] == [(jid, "not a media file")]


def test_dead_worker_job_is_recovered_after_lease_expiry(ctx) -> None:
    [jid] = _enqueue(ctx, 1)
    dead = queue.claim(ctx, "dead-worker", lease_seconds=1.0)  # claimed, then never heard from again
    assert dead is not None and dead.id == jid
    pool = WorkerPool(ctx, count=1, lease_seconds=1.0, poll_seconds=0.1)
    pool.start()
    try:
        assert queue.claim(ctx, "someone", 1.0) is None  # lease still valid: nobody else gets it
        job = wait_for(lambda: (j := _state(ctx, jid)).state == "done" and j, timeout=20)
    finally:
        pool.stop()
    assert job.attempts == 2
    assert _runs(ctx) == {jid: 1}  # the dead worker never ran it; the live one did, once


def test_killed_worker_process_job_completes_after_lease_expiry(ctx, settings) -> None:
    """A real worker process is killed mid-job; a second worker finishes the job later."""
    import os
    import signal
    import subprocess
    import sys

    [jid] = _enqueue(ctx, 1, sleep=30)
    env = {**os.environ, "LYNKFLOW_DATA_DIR": str(settings.resolved_data_dir),
           "LYNKFLOW_DATABASE_URL": settings.resolved_database_url, "LYNKFLOW_JOB_LEASE": "1.5"}
    code = ("import tests.foundation.test_jobs, sys; from lynkflow.cli import main; sys.exit(main(['worker']))")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _state(ctx, jid).state == "running", timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with ctx.session() as db:  # the retry should not sleep 30 s
        db.get(Job, jid).payload = {"n": 0}
    pool = WorkerPool(ctx, count=1, lease_seconds=1.5, poll_seconds=0.1)
    pool.start()
    try:
        job = wait_for(lambda: (j := _state(ctx, jid)).state == "done" and j, timeout=30)
    finally:
        pool.stop()
    assert job.attempts == 2


def _ffmpeg_run(ctx, job: registry.JobRun) -> dict[str, Any]:
    from lynkflow.media.ffmpeg import run_ffmpeg

    out = ctx.storage.tmp / f"{job.payload['marker']}.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "600", "-c:v", "libx264",
                "-preset", "ultrafast", str(out)], duration=600, cancel=job.cancel,
               on_progress=job.report_progress)
    return {}


registry.register(registry.Handler("test.ffmpeg", _ffmpeg_run, lifecycle_group="test"))


def _ffmpeg_alive(marker: str) -> bool:
    from pathlib import Path

    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    return True
            except OSError:
                continue
    return False


@pytest.mark.slow
def test_cancel_stops_the_ffmpeg_process(ctx) -> None:
    marker = f"cancel-{uuid.uuid4().hex}"
    with ctx.session() as db:
        jid = queue.enqueue(db, ctx, "test.ffmpeg", {"marker": marker}).id
    pool = WorkerPool(ctx, count=1, lease_seconds=2.0, poll_seconds=0.05)
    pool.start()
    try:
        wait_for(lambda: _ffmpeg_alive(marker) and _state(ctx, jid).progress > 0, timeout=30)
        queue.request_cancel(ctx, jid)
        job = wait_for(lambda: (j := _state(ctx, jid)).state == "cancelled" and j, timeout=10)
        assert not _ffmpeg_alive(marker)
    finally:
        pool.stop()
    assert job.finished is not None


def test_cancel_queued_job(ctx) -> None:
    [jid] = _enqueue(ctx, 1)
    assert queue.request_cancel(ctx, jid).state == "cancelled"
    assert queue.claim(ctx, "w", 30) is None


def test_manual_lifecycle_holds_until_released(ctx) -> None:
    _calls["finish"].clear()
    lifecycles(ctx).set("test", Lifecycle("manual"))
    [jid] = _enqueue(ctx, 1)
    pool = WorkerPool(ctx, count=1, poll_seconds=0.05)
    pool.start()
    try:
        job = wait_for(lambda: (j := _state(ctx, jid)).state == "held" and j, timeout=20)
        assert job.result == {"n": 0, "attempt": 1}  # the work is done...
        assert _calls["finish"] == []  # ...but not visible yet
        finish_job(ctx, jid)
        assert _state(ctx, jid).state == "done"
        assert _calls["finish"] == [jid]
        with pytest.raises(queue.JobError, match="not held"):
            finish_job(ctx, jid)
    finally:
        pool.stop()


def test_jobs_table_count_is_bounded(ctx) -> None:
    with ctx.session() as db:
        assert db.scalar(select(func.count()).select_from(Job)) == 0
