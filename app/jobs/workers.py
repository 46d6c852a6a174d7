"""Workers: threads that claim jobs, run their handlers with a heartbeat, and do housekeeping.

`lynkflow serve` runs `LYNKFLOW_INPROC_WORKERS` of them in-process; `lynkflow worker` runs a
pool on its own. Housekeeping (releasing lifecycle-held jobs, periodic tasks such as autoexpire)
runs in one extra thread per pool; on a shared database every pool may run it, so periodic
tasks must be idempotent.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import traceback
from typing import Any

from lynkflow.context import AppContext
from lynkflow.db.models import Job
from lynkflow.jobs import queue, registry
from lynkflow.jobs.lifecycle import Lifecycles
from lynkflow.logging import get_logger
from lynkflow.storage.diskfull import NO_SPACE, is_disk_full
from lynkflow.storage.workfiles import sweep_orphans
from lynkflow.tenancy import JOB_TENANT_KEY, current_tenant

log = get_logger("jobs")

DISK_FULL_BACKOFF_SECONDS = 2.0


def lifecycles(ctx: AppContext) -> Lifecycles:
    return Lifecycles(ctx.shared)


def finish_job(ctx: AppContext, job_id: int, *, ok: bool = True, error: str | None = None) -> Job:
    """Make a HELD job's outcome visible now (control plane `complete` / `fail`, or a delay ran out)."""
    with ctx.session() as db:
        job = queue.release_held(db, ctx, job_id, ok=ok, error=error)
        handler = registry.get(job.kind)
        payload, result = dict(job.payload), dict(job.result or {})
    tenant = payload.get(JOB_TENANT_KEY)
    token = current_tenant.set(tenant if isinstance(tenant, str) else None)
    try:
        _finish(ctx, handler, job_id, payload, result, ok, error)
    finally:
        current_tenant.reset(token)
    return job


def _finish(ctx: AppContext, handler: registry.Handler | None, job_id: int, payload: dict[str, Any],
            result: dict[str, Any], ok: bool, error: str | None) -> None:
    if handler is not None:
        if ok and handler.finish is not None:
            handler.finish(ctx, job_id, payload, result)
        elif not ok and handler.fail is not None:
            handler.fail(ctx, job_id, payload, error or "failed through the control plane")


class WorkerPool:
    def __init__(self, ctx: AppContext, count: int, lease_seconds: float | None = None,
                 poll_seconds: float | None = None) -> None:
        self.ctx = ctx
        self.count = count
        self.lease_seconds = ctx.settings.job_lease if lease_seconds is None else lease_seconds
        # On PostgreSQL NOTIFY wakes idle workers, so polling is only a slow fallback.
        if poll_seconds is None:
            poll_seconds = 2.0 if ctx.engine.dialect.name == "postgresql" else 0.5
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._prefix = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Completed housekeeping passes: lets a test wait for "a pass ran" instead of sleeping.
        self.housekeeping_passes = 0
        ctx.wake_workers = self.wake

    def start(self) -> None:
        # Work files of a process of this host that died (kill -9, power cut) are removed once at
        # start, in the background: a large data dir must not delay serving.
        threading.Thread(target=self._sweep, name="lynkflow-sweep", daemon=True).start()
        if self.count <= 0:
            return
        registry.load_handlers()
        for i in range(self.count):
            t = threading.Thread(target=self._loop, args=(f"{self._prefix}:{i}",), name=f"lynkflow-worker-{i}",
                                 daemon=True)
            t.start()
            self._threads.append(t)
        hk = threading.Thread(target=self._housekeeping, name="lynkflow-housekeeping", daemon=True)
        hk.start()
        self._threads.append(hk)
        if self.ctx.engine.dialect.name == "postgresql":
            listener = threading.Thread(target=self._listen, name="lynkflow-listen", daemon=True)
            listener.start()
            self._threads.append(listener)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.wake()
        for t in self._threads:
            t.join(timeout)
        self._threads.clear()

    def alive(self) -> int:
        return sum(1 for t in self._threads if t.is_alive() and t.name.startswith("lynkflow-worker"))

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def run_until_stopped(self) -> None:
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        finally:
            self.stop()

    # --- the loops ---------------------------------------------------------------------------

    def _loop(self, worker_id: str) -> None:
        disk_full = False
        while not self._stop.is_set():
            try:
                job = queue.claim(self.ctx, worker_id, self.lease_seconds)
                if disk_full:
                    log.info("claims work again: the disk has space")
                disk_full = False
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not kill the worker
                job = None
                if is_disk_full(exc):
                    # A claim is a write. Say it once, then wait for space at a calmer pace; the
                    # first claim that works resumes normal service.
                    if not disk_full:
                        log.warning("cannot claim jobs: " + NO_SPACE)
                    disk_full = True
                    self._stop.wait(DISK_FULL_BACKOFF_SECONDS)
                    continue
                log.exception("claim failed")
            if job is None:
                with self._wake:
                    self._wake.wait(self.poll_seconds)
                continue
            try:
                self.ctx.shared.refresh()  # the job's timestamps come from the shared clock
            except Exception:  # noqa: BLE001 - a stale clock is better than a lost job
                log.exception("shared state refresh failed")
            try:
                # The job works for the tenant that enqueued it: its clock and lifecycles apply.
                tenant = (job.payload or {}).get(JOB_TENANT_KEY)
                token = current_tenant.set(tenant if isinstance(tenant, str) else None)
                try:
                    self._run(job, worker_id)
                finally:
                    current_tenant.reset(token)
            except Exception:  # noqa: BLE001 - recording the outcome failed; the lease expires and
                # the job is claimed again, and the worker lives on for the next one.
                log.exception("recording a job's outcome failed", extra={"fields": {"job": job.id}})

    def _run(self, job: Job, worker_id: str) -> None:
        handler = registry.get(job.kind)
        if handler is None:
            queue.mark_failed(self.ctx, job.id, worker_id, f"no handler for job kind {job.kind!r}", retry=False)
            return
        cancel = threading.Event()
        progress: dict[str, float | None] = {"value": None}
        lost = threading.Event()
        done = threading.Event()

        def beat() -> None:
            interval = max(0.2, min(2.0, self.lease_seconds / 4))
            while not done.wait(interval):
                try:
                    ours, cancelled = queue.heartbeat(self.ctx, job.id, worker_id, self.lease_seconds,
                                                      progress["value"])
                except Exception:  # noqa: BLE001
                    continue
                if not ours:
                    lost.set()
                if cancelled:
                    cancel.set()

        if job.attempts > 1:
            # An earlier attempt may have died with its work files in place (its lease ran out).
            self._sweep()
        hb = threading.Thread(target=beat, name=f"lynkflow-heartbeat-{job.id}", daemon=True)
        hb.start()
        run = registry.JobRun(id=job.id, kind=job.kind, payload=dict(job.payload), attempt=job.attempts,
                              cancel=cancel, report_progress=lambda p: progress.__setitem__("value", p))
        try:
            result = handler.run(self.ctx, run)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the job
            done.set()
            hb.join()
            self._after_failure(job, handler, worker_id, exc, cancel.is_set())
            return
        done.set()
        hb.join()
        if lost.is_set():
            log.warning("lost lease; dropping result", extra={"fields": {"job": job.id}})
            return
        self._after_success(job, handler, worker_id, result)

    def _after_success(self, job: Job, handler: registry.Handler, worker_id: str, result: dict[str, Any]) -> None:
        self.ctx.shared.refresh()  # a policy (or the clock) set through any process since the job began
        policy = lifecycles(self.ctx).get(handler.lifecycle_group or job.kind)
        if policy.mode == "real":
            # Make the outcome visible before the job reads as done, so a client polling the job
            # never sees "done" while the asset still says processing.
            if handler.finish is not None:
                handler.finish(self.ctx, job.id, dict(job.payload), result)
            queue.mark_worked(self.ctx, job.id, worker_id, result, None, hold=False)
            return
        release = None
        if policy.mode == "delay":
            release = self.ctx.clock.now_ms() + int(policy.seconds * 1000)
        queue.mark_worked(self.ctx, job.id, worker_id, result, release, hold=True)

    def _after_failure(self, job: Job, handler: registry.Handler, worker_id: str, exc: Exception,
                       cancelled: bool) -> None:
        from lynkflow.media.errors import BadMedia, MediaCancelled

        # As on success, the visible outcome (asset or event in its error state) is written before
        # the job itself reads as ended, so a client that sees the job end sees the outcome too.
        if cancelled or isinstance(exc, MediaCancelled):
            if handler.fail is not None:
                handler.fail(self.ctx, job.id, dict(job.payload), "cancelled")
            queue.mark_cancelled(self.ctx, job.id, worker_id)
            return
        message = str(exc) or exc.__class__.__name__
        # Bad input will not get better on a retry, nor will a full disk a second later; anything
        # else might (a busy database, a killed process).
        disk_full = is_disk_full(exc)
        if disk_full:
            message = f"{NO_SPACE} ({message})"
        retry = not isinstance(exc, (BadMedia, ValueError)) and not disk_full
        if retry:
            log.warning("job attempt failed", extra={"fields": {"job": job.id, "error": message,
                                                                "trace": traceback.format_exc(limit=5)}})
        final = not retry or job.attempts >= job.max_attempts
        if final and handler.fail is not None:
            handler.fail(self.ctx, job.id, dict(job.payload), message)
        queue.mark_failed(self.ctx, job.id, worker_id, message, retry=retry)

    def _listen(self) -> None:
        """PostgreSQL: wake the idle workers when any process enqueues a job (LISTEN/NOTIFY).

        The workers still poll, slowly, as a fallback: a notification sent while this connection
        was being re-opened is caught by the next poll.
        """
        while not self._stop.is_set():
            try:
                raw = self.ctx.engine.raw_connection()
                conn = raw.driver_connection
                raw.detach()  # a long-lived connection of its own, outside the pool
                conn.autocommit = True
                with contextlib.closing(conn):
                    conn.execute(f"LISTEN {queue.JOBS_CHANNEL}")
                    self.wake()  # anything queued before we listened
                    while not self._stop.is_set():
                        for _note in conn.notifies(timeout=1.0, stop_after=1):
                            self.wake()
            except Exception:  # noqa: BLE001 - a database restart: listen again shortly
                log.exception("job notification listener failed; retrying")
                self._stop.wait(1.0)

    def _sweep(self) -> None:
        try:
            sweep_orphans(self.ctx.storage.root)
        except Exception:  # noqa: BLE001 - housekeeping; the next start or retry sweeps again
            log.exception("sweeping orphaned work files failed")

    def _housekeeping(self) -> None:
        while not self._stop.wait(self.ctx.settings.housekeeping_interval):
            try:
                self.ctx.shared.refresh()  # the shared clock decides what is due
                for job_id in queue.due_held_job_ids(self.ctx):
                    with contextlib.suppress(queue.JobError):  # released by someone else meanwhile
                        finish_job(self.ctx, job_id)
                for task in registry.periodic_tasks():
                    task(self.ctx)
            except Exception:  # noqa: BLE001
                log.exception("housekeeping failed")
            self.housekeeping_passes += 1
