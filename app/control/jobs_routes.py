"""Control routes for jobs and their lifecycle policies (how long processing appears to take)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select

from lynkflow import limits
from lynkflow.control import docs_models as docs
from lynkflow.control.errors import ControlError, ControlRoute, request_json, request_object
from lynkflow.db.deps import ReadDb
from lynkflow.db.models import Job
from lynkflow.jobs import queue
from lynkflow.jobs.lifecycle import GROUPS, Lifecycle
from lynkflow.jobs.workers import finish_job, lifecycles
from lynkflow.tenancy import JOB_TENANT_KEY, is_tenant_id

router = APIRouter(route_class=ControlRoute)

# Job numbers as the jobs table holds them (a 32-bit serial); anything else is refused before a query.
JobId = Annotated[int, Path(ge=1, le=limits.MAX_JOB_ID, description="a job number")]

JOB_STATES = queue.STATES


def parse_policy(group: str, doc: Any) -> Lifecycle:
    if group not in GROUPS and group != "*":
        raise ControlError(400, f"unknown lifecycle group {group!r}; use one of {', '.join(GROUPS)} or *")
    if not isinstance(doc, dict):
        raise ControlError(400, f"lifecycle for {group} must be an object like {{\"mode\": \"delay\", \"seconds\": 5}}")
    unknown = sorted(set(doc) - {"mode", "seconds"})
    if unknown:
        raise ControlError(400, f"unknown lifecycle field(s) {', '.join(unknown)} for {group}; use mode and seconds")
    seconds = doc.get("seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ControlError(400, f"lifecycle seconds for {group} must be a number")
    try:
        policy = Lifecycle(mode=str(doc.get("mode", "real")), seconds=float(seconds))
    except ValueError as exc:
        raise ControlError(400, f"lifecycle for {group}: {exc}") from None
    if policy.mode == "delay" and policy.seconds == 0:
        raise ControlError(400, f"a delay lifecycle for {group} needs seconds > 0")
    return policy


def lifecycles_view(request: Request) -> dict[str, Any]:
    lc = lifecycles(request.app.state.ctx)
    # Each group's effective policy (its own, else "*", else real); "*" itself only when set.
    groups = [*GROUPS, "*"] if "*" in lc.all() else list(GROUPS)
    return {"lifecycles": {g: {"mode": lc.get(g).mode, "seconds": lc.get(g).seconds} for g in groups}}


@router.get("/lifecycles", **docs.LIFECYCLES_READ)
def read_lifecycles(request: Request) -> dict[str, Any]:
    return lifecycles_view(request)


@router.put("/lifecycles", **docs.LIFECYCLES_REPLACE)
async def replace_lifecycles(request: Request) -> dict[str, Any]:
    """Replace every policy: `{"gif": {"mode": "manual"}, "*": {"mode": "delay", "seconds": 3}}`.

    Groups not named go back to `real`.
    """
    doc = await request_json(request, "send a JSON object of group → {mode, seconds}")
    if not isinstance(doc, dict):
        raise ControlError(400, "send a JSON object of group → {mode, seconds}")
    policies = {group: parse_policy(group, value) for group, value in doc.items()}  # all checked before any change
    await run_in_threadpool(lifecycles(request.app.state.ctx).replace, policies)
    return lifecycles_view(request)


@router.put("/lifecycles/{group}", **docs.LIFECYCLE_SET)
async def set_lifecycle(group: str, request: Request) -> dict[str, Any]:
    doc = await request_json(request, "send {\"mode\": \"real\"|\"delay\"|\"manual\", \"seconds\": N}")
    await run_in_threadpool(lifecycles(request.app.state.ctx).set, group, parse_policy(group, doc))
    return lifecycles_view(request)


@router.get("/jobs", **docs.JOBS_LIST)
def list_jobs(db: ReadDb, state: str | None = None, kind: str | None = None, tenant: str | None = None,
              limit: int = Query(100, ge=1, le=1000),
              offset: int = Query(0, ge=0, le=limits.INT64_MAX)) -> dict[str, Any]:
    if state is not None and state not in JOB_STATES:
        raise ControlError(400, f"state must be one of {', '.join(JOB_STATES)}")
    if tenant is not None and not is_tenant_id(tenant):
        raise ControlError(400, "tenant must be a tenant id (from POST /_lynkflow/tenants)")
    query = select(Job)
    if tenant is not None:  # the jobs its requests and ingests enqueued: their payload names it
        query = query.where(Job.payload[JOB_TENANT_KEY].as_string() == tenant)
    if state:
        query = query.where(Job.state == state)
    if kind:
        query = query.where(Job.kind == kind)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    jobs = db.scalars(query.order_by(Job.id.desc()).limit(limit).offset(offset)).all()
    return {"jobs": [queue.job_to_dict(j) for j in jobs], "total": total, "limit": limit, "offset": offset}


def _job(request: Request, job_id: int) -> dict[str, Any]:
    job = queue.get_job(request.app.state.ctx, job_id)
    if job is None:
        raise ControlError(404, f"job {job_id} not found")
    return queue.job_to_dict(job)


@router.get("/jobs/{job_id}", **docs.JOB_GET)
def get_job(db: ReadDb, job_id: JobId) -> dict[str, Any]:
    job = db.get(Job, job_id)
    if job is None:
        raise ControlError(404, f"job {job_id} not found")
    return queue.job_to_dict(job)


async def _release(request: Request, job_id: int, ok: bool, error: str | None) -> dict[str, Any]:
    try:
        await run_in_threadpool(finish_job, request.app.state.ctx, job_id, ok=ok, error=error)
    except queue.JobError as exc:
        status = 404 if "not found" in str(exc) else 409
        raise ControlError(status, str(exc)) from None
    return _job(request, job_id)


@router.post("/jobs/{job_id}/complete", **docs.JOB_COMPLETE)
async def complete_job(request: Request, job_id: JobId) -> dict[str, Any]:
    """Make a held job's outcome visible now (its `manual` or `delay` lifecycle ends)."""
    return await _release(request, job_id, True, None)


@router.post("/jobs/{job_id}/fail", **docs.JOB_FAIL)
async def fail_job(request: Request, job_id: JobId) -> dict[str, Any]:
    """End a held job as failed: its asset/event shows the failure with `error` as the reason."""
    usage = "send {\"error\": \"<reason>\"} or no body"
    doc = await request_object(request, usage, allow_empty=True)
    if not isinstance(doc.get("error", ""), str):
        raise ControlError(400, usage)
    error = doc.get("error") or "failed through the lynkflow control plane"
    return await _release(request, job_id, False, error)


@router.post("/jobs/{job_id}/cancel", **docs.JOB_CANCEL)
def cancel_job(request: Request, job_id: JobId) -> dict[str, Any]:
    """Cancel a queued or held job at once; a running one is asked to stop (its ffmpeg is killed)."""
    ctx = request.app.state.ctx
    before = _job(request, job_id)["state"]
    try:
        job = queue.request_cancel(ctx, job_id)
    except queue.JobError as exc:
        raise ControlError(404, str(exc)) from None
    if before in (queue.QUEUED, queue.HELD) and job.state == queue.CANCELLED:
        from lynkflow.jobs import registry

        registry.load_handlers()
        handler = registry.get(job.kind)
        if handler is not None and handler.fail is not None:
            # A cancelled job's asset/event must not stay "processing" forever.
            handler.fail(ctx, job.id, dict(job.payload), "cancelled")
    return _job(request, job_id)
