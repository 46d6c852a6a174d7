"""The jobs table as a queue.

Order: priority 1 (highest) .. 10, then FIFO by id. A claim takes a lease (real monotonic-free
wall seconds, not the lynkflow clock, so a frozen test clock never expires a healthy worker);
workers renew it by heartbeat, and a job whose lease ran out (its worker died) is claimable
again. On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so any number of worker processes
can share the database. On SQLite the claim runs in a `BEGIN IMMEDIATE` transaction, which takes
the database write lock before reading, so two claimers can never pick the same row. Either way a
lock-free read first checks that there is something to claim, so idle workers take no locks.
On PostgreSQL an enqueue also sends NOTIFY, so an idle worker anywhere starts the job at once
instead of at its next poll.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, or_, select, text, update
from sqlalchemy.orm import Session

from lynkflow.context import AppContext
from lynkflow.db.models import Job
from lynkflow.tenancy import JOB_TENANT_KEY, current_tenant, tenant_scope

QUEUED, RUNNING, HELD, DONE, FAILED, CANCELLED = "queued", "running", "held", "done", "failed", "cancelled"
STATES = (QUEUED, RUNNING, HELD, DONE, FAILED, CANCELLED)
FINAL_STATES = (DONE, FAILED, CANCELLED)
# PostgreSQL LISTEN/NOTIFY channel on which enqueue wakes idle workers (lynkflow/jobs/workers.py).
JOBS_CHANNEL = "lynkflow_jobs"


class JobError(ValueError):
    """A queue operation that cannot be done (unknown job, wrong state), with the reason."""


def enqueue(
    db: Session, ctx: AppContext, kind: str, payload: dict[str, Any], *, priority: int = 5, max_attempts: int = 3
) -> Job:
    """Add a job in the caller's transaction; workers see it once the caller commits."""
    if not 1 <= priority <= 10:
        raise JobError("priority must be between 1 (highest) and 10 (lowest)")
    tenant = current_tenant.get()
    if tenant is not None and JOB_TENANT_KEY not in payload:
        # The worker runs the job in this tenant's context (its clock, its lifecycles).
        payload = {**payload, JOB_TENANT_KEY: tenant}
    job = Job(kind=kind, payload=payload, priority=priority, max_attempts=max_attempts,
              state=QUEUED, created=ctx.clock.now_ms(), progress=0.0, attempts=0, run_after=0.0)
    db.add(job)
    db.flush()
    if db.bind.dialect.name == "postgresql":
        # Delivered at commit to every listening worker, in any process on any host.
        db.execute(text(f"NOTIFY {JOBS_CHANNEL}"))
    wake = ctx.wake_workers
    if wake is not None:
        event.listen(db, "after_commit", lambda _s: wake(), once=True)
    return job


def _claimable(now: float) -> Any:
    return or_(
        (Job.state == QUEUED) & (Job.run_after <= now),
        (Job.state == RUNNING) & (Job.lease_expires < now),
    )


def anything_claimable(ctx: AppContext, now: float | None = None) -> bool:
    """A lock-free look before a claim: an idle worker must not take SQLite's write lock (nor a
    PostgreSQL row lock) just to find the queue empty."""
    with ctx.engine.connect() as conn:
        return conn.scalar(select(Job.id).where(_claimable(time.time() if now is None else now)).limit(1)) is not None


def claim(ctx: AppContext, worker_id: str, lease_seconds: float) -> Job | None:
    now = time.time()
    if not anything_claimable(ctx, now):
        return None
    query = select(Job).where(_claimable(now)).order_by(Job.priority, Job.id).limit(1)
    if ctx.settings.is_sqlite:
        conn_opts = {"sqlite_begin": "IMMEDIATE"}
    else:
        conn_opts = {}
        query = query.with_for_update(skip_locked=True)
    with ctx.engine.connect().execution_options(**conn_opts) as conn, Session(bind=conn) as db, conn.begin():
        job = db.scalar(query)
        if job is None:
            return None
        if job.cancel_requested:
            job.state = CANCELLED
            job.finished = ctx.clock.now_ms()
            job.lease_owner = None
            db.flush()
            return None
        job.state = RUNNING
        job.attempts += 1
        job.lease_owner = worker_id
        job.lease_expires = now + lease_seconds
        job.started = ctx.clock.now_ms()
        db.flush()
        db.expunge(job)
        return job


def heartbeat(ctx: AppContext, job_id: int, worker_id: str, lease_seconds: float,
              progress: float | None = None) -> tuple[bool, bool]:
    """Renew the lease. Returns (still ours, cancel requested)."""
    values: dict[str, Any] = {"lease_expires": time.time() + lease_seconds}
    if progress is not None:
        values["progress"] = round(max(0.0, min(100.0, progress)), 1)
    with ctx.session() as db:
        res = db.execute(
            update(Job).where(Job.id == job_id, Job.lease_owner == worker_id, Job.state == RUNNING).values(**values)
        )
        if res.rowcount == 0:
            return False, True
        cancel = db.scalar(select(Job.cancel_requested).where(Job.id == job_id))
        return True, bool(cancel)


def _owned(db: Session, job_id: int, worker_id: str) -> Job | None:
    job = db.get(Job, job_id, with_for_update=db.bind.dialect.name != "sqlite")
    if job is None or job.lease_owner != worker_id or job.state != RUNNING:
        return None
    return job


def mark_worked(ctx: AppContext, job_id: int, worker_id: str, result: dict[str, Any],
                hold_until_ms: int | None, hold: bool) -> bool:
    """Work done: either DONE now, or HELD until release (lifecycle). False if we lost the job."""
    with ctx.session() as db:
        job = _owned(db, job_id, worker_id)
        if job is None:
            return False
        job.result = result
        job.progress = 100.0
        job.lease_owner = None
        job.lease_expires = None
        if hold:
            job.state = HELD
            job.release_at_ms = hold_until_ms
        else:
            job.state = DONE
            job.finished = ctx.clock.now_ms()
        return True


def mark_failed(ctx: AppContext, job_id: int, worker_id: str, error: str, *, retry: bool,
                backoff_seconds: float = 1.0) -> str | None:
    """Record a failed attempt. Returns the new state, or None if the job is no longer ours."""
    with ctx.session() as db:
        job = _owned(db, job_id, worker_id)
        if job is None:
            return None
        job.last_error = error
        job.lease_owner = None
        job.lease_expires = None
        if retry and job.attempts < job.max_attempts:
            job.state = QUEUED
            job.run_after = time.time() + backoff_seconds * job.attempts
        else:
            job.state = FAILED
            job.finished = ctx.clock.now_ms()
        return job.state


def mark_cancelled(ctx: AppContext, job_id: int, worker_id: str | None = None) -> None:
    with ctx.session() as db:
        job = db.get(Job, job_id)
        if job is None or (worker_id is not None and job.lease_owner != worker_id):
            return
        job.state = CANCELLED
        job.lease_owner = None
        job.lease_expires = None
        job.finished = ctx.clock.now_ms()


def request_cancel(ctx: AppContext, job_id: int) -> Job:
    """Cancel a queued or held job at once; ask a running one to stop (its worker kills ffmpeg)."""
    with ctx.session() as db:
        job = db.get(Job, job_id)
        if job is None:
            raise JobError(f"job {job_id} not found")
        if job.state in (QUEUED, HELD):
            job.state = CANCELLED
            job.finished = ctx.clock.now_ms()
        elif job.state == RUNNING:
            job.cancel_requested = True
        return job


def release_held(db: Session, ctx: AppContext, job_id: int, *, ok: bool = True, error: str | None = None) -> Job:
    """End a HELD job: DONE (after its handler's finish) or FAILED (after its handler's fail)."""
    job = db.get(Job, job_id)
    if job is None:
        raise JobError(f"job {job_id} not found")
    if job.state != HELD:
        raise JobError(f"job {job_id} is {job.state}, not held; only held jobs can be completed or failed")
    job.state = DONE if ok else FAILED
    if error:
        job.last_error = error
    tenant = (job.payload or {}).get(JOB_TENANT_KEY)
    job.finished = _now_ms_for(ctx, tenant if isinstance(tenant, str) else None)  # as its other times were
    job.release_at_ms = None
    return job


def due_held_job_ids(ctx: AppContext) -> list[int]:
    """Held jobs whose `delay` ran out, each by the clock its release time was set on: its tenant's
    (the payload names the tenant the worker ran it for) or, without one, the instance's."""
    held = select(Job.id).where(Job.state == HELD, Job.release_at_ms.is_not(None))
    with ctx.read_session() as db:
        if not ctx.clock.has_tenants():  # the common case: one clock for every job, one query
            return list(db.scalars(held.where(Job.release_at_ms <= ctx.clock.now_ms())))
        rows = db.execute(held.add_columns(Job.release_at_ms, Job.payload[JOB_TENANT_KEY].as_string())).all()
    return [job_id for job_id, release_ms, tenant in rows if release_ms <= _now_ms_for(ctx, tenant)]


def _now_ms_for(ctx: AppContext, tenant: str | None) -> int:
    with tenant_scope(tenant):
        return ctx.clock.now_ms()


def get_job(ctx: AppContext, job_id: int) -> Job | None:
    """One job as it is now (polled by tests and the CLI: a read, no write lock)."""
    with ctx.read_session() as db:
        return db.get(Job, job_id)


def job_to_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "kind": job.kind, "state": job.state, "priority": job.priority,
        "progress": job.progress, "attempts": job.attempts, "maxAttempts": job.max_attempts,
        "lastError": job.last_error, "payload": job.payload, "result": job.result,
        "cancelRequested": job.cancel_requested, "leaseOwner": job.lease_owner,
        "created": job.created, "started": job.started, "finished": job.finished,
        "releaseAt": job.release_at_ms,
    }
