"""Control routes for tenants: create, list, read, reset, delete; and a tenant's own clock,
lifecycles and journal view (`/_lynkflow/tenants/{id}/...`).

A tenant's fault rules are ordinary rules with a `tenant` field (POST /_lynkflow/faults); its
journal entries carry `tenant` and the journal routes filter on it. Everything a tenant owns in the
control plane is named after its id, so deleting the tenant removes it all.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from lynkflow.clock import TENANT_CLOCK_PREFIX, Clock, ClockRangeError
from lynkflow.context import AppContext
from lynkflow.control import docs_models as docs
from lynkflow.control.clock_routes import Advance, At, parse_instant
from lynkflow.control.errors import ControlError, ControlRoute, request_json
from lynkflow.control.faults import get_faults
from lynkflow.control.jobs_routes import parse_policy  # the same checks as the instance's
from lynkflow.control.journal import get_journal
from lynkflow.control.stubs import get_stubs
from lynkflow.domain import tenants
from lynkflow.jobs.lifecycle import DOC as LIFECYCLES_DOC
from lynkflow.jobs.lifecycle import GROUPS, Lifecycles
from lynkflow.textcheck import text_problem

router = APIRouter(route_class=ControlRoute)


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def _urls(request: Request, ctx: AppContext) -> dict[str, str]:
    base = ctx.base_for(request)
    return {"base": base, "api2": f"{base}/api2", "vis": f"{base}/api", "control": f"{base}/_lynkflow"}


def _existing(ctx: AppContext, tenant_id: str) -> dict[str, Any]:
    try:
        return tenants.get_tenant(ctx, tenant_id)
    except tenants.TenantNotFound as exc:
        raise ControlError(404, str(exc)) from None


@router.post("/tenants", **docs.TENANT_CREATE)
async def create(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    body = await request.body()
    doc = await request_json(request, 'send {} or {"name": "..."}') if body.strip() else {}
    if not isinstance(doc, dict) or set(doc) - {"name"}:
        raise ControlError(400, 'send {} or {"name": "..."}')
    name = doc.get("name") or ""
    if not isinstance(name, str) or len(name) > tenants.MAX_NAME_CHARS:
        raise ControlError(400, f"name must be text of at most {tenants.MAX_NAME_CHARS} characters")
    problem = text_problem(name)
    if problem:  # text no column can hold (PostgreSQL refuses NUL)
        raise ControlError(400, f"name {problem}")
    made = await run_in_threadpool(tenants.create_tenant, ctx, name)
    return {**made, "urls": _urls(request, ctx)}


@router.get("/tenants", **docs.TENANT_LIST)
def list_(request: Request) -> dict[str, Any]:
    return {"tenants": tenants.list_tenants(_ctx(request))}


@router.get("/tenants/{tenant_id}", **docs.TENANT_READ)
def read(request: Request, tenant_id: str) -> dict[str, Any]:
    ctx = _ctx(request)
    return {**_existing(ctx, tenant_id), "urls": _urls(request, ctx)}


def _forget_controls(ctx: AppContext, tenant_id: str, *, deleted: bool = False) -> None:
    """The tenant's clock, lifecycles and fault rules go and its journal view starts afresh: one
    shared-state write at most (none when the tenant had none of them)."""
    get_faults(ctx).clear(tenant_id)
    get_stubs(ctx).clear(tenant_id)
    names = [TENANT_CLOCK_PREFIX + tenant_id, f"{LIFECYCLES_DOC}:{tenant_id}"]
    mark, doc = get_journal(ctx).tenant_mark(tenant_id)
    if deleted:
        names.append(mark)
    ctx.shared.drop(names, put=None if deleted or doc is None else {mark: doc})


@router.post("/tenants/{tenant_id}/reset", **docs.TENANT_RESET)
def reset(request: Request, tenant_id: str) -> dict[str, Any]:
    ctx = _ctx(request)
    try:
        removed = tenants.reset_tenant(ctx, tenant_id)
    except tenants.TenantNotFound as exc:
        raise ControlError(404, str(exc)) from None
    _forget_controls(ctx, tenant_id)
    return {"reset": tenant_id, "removed": removed}


@router.delete("/tenants/{tenant_id}", **docs.TENANT_DELETE)
def delete(request: Request, tenant_id: str) -> dict[str, Any]:
    from lynkflow.uplynk import signing_keys

    ctx = _ctx(request)
    try:
        removed = tenants.delete_tenant(ctx, tenant_id)
    except tenants.TenantNotFound as exc:
        raise ControlError(404, str(exc)) from None
    _forget_controls(ctx, tenant_id, deleted=True)
    signing_keys.forget(ctx)  # its API key stops working in every process at once
    return {"deleted": tenant_id, "removed": removed}


# --- a tenant's clock ------------------------------------------------------------------------------


def _clock(request: Request, tenant_id: str) -> Clock:
    ctx = _ctx(request)
    _existing(ctx, tenant_id)
    ctx.shared.refresh()
    return ctx.clock.tenant(tenant_id)


def _clock_state(clock: Clock) -> dict[str, Any]:
    from datetime import UTC, datetime

    state = clock.state()
    iso = datetime.fromtimestamp(state.now_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return {"nowMs": state.now_ms, "now": iso.replace("+00:00", "Z"), "frozen": state.frozen,
            "offsetMs": state.offset_ms if not state.frozen else None}


def _change(clock: Clock, change: Any) -> dict[str, Any]:
    try:
        change()
    except ClockRangeError as exc:
        raise ControlError(400, str(exc)) from None
    return _clock_state(clock)


@router.get("/tenants/{tenant_id}/clock", **docs.TENANT_CLOCK_READ)
def clock_read(request: Request, tenant_id: str) -> dict[str, Any]:
    return _clock_state(_clock(request, tenant_id))


@router.post("/tenants/{tenant_id}/clock/freeze", **docs.TENANT_CLOCK_FREEZE)
def clock_freeze(request: Request, tenant_id: str, body: At | None = None) -> dict[str, Any]:
    at = None if body is None or body.at is None else parse_instant(body.at)
    clock = _clock(request, tenant_id)
    return _change(clock, lambda: clock.freeze(at))


@router.post("/tenants/{tenant_id}/clock/set", **docs.TENANT_CLOCK_SET)
def clock_set(request: Request, tenant_id: str, body: At) -> dict[str, Any]:
    if body.at is None:
        raise ControlError(400, "send {\"at\": <epoch ms or ISO-8601>}")
    at = parse_instant(body.at)
    clock = _clock(request, tenant_id)
    return _change(clock, lambda: clock.set(at))


@router.post("/tenants/{tenant_id}/clock/advance", **docs.TENANT_CLOCK_ADVANCE)
def clock_advance(request: Request, tenant_id: str, body: Advance) -> dict[str, Any]:
    if not math.isfinite(body.seconds * 1000):
        raise ControlError(400, "seconds must be a finite number")
    clock = _clock(request, tenant_id)
    return _change(clock, lambda: clock.advance(int(round(body.seconds * 1000)) + body.ms))


@router.post("/tenants/{tenant_id}/clock/resume", **docs.TENANT_CLOCK_RESUME)
def clock_resume(request: Request, tenant_id: str) -> dict[str, Any]:
    clock = _clock(request, tenant_id)
    return _change(clock, clock.resume)


# --- a tenant's lifecycles -------------------------------------------------------------------------


def _lifecycles(request: Request, tenant_id: str) -> Lifecycles:
    ctx = _ctx(request)
    _existing(ctx, tenant_id)
    ctx.shared.refresh()
    return Lifecycles(ctx.shared, tenant=tenant_id)


def _view(lifecycles: Lifecycles) -> dict[str, Any]:
    # The same view as GET /_lynkflow/lifecycles: each group's effective policy.
    groups = [*GROUPS, "*"] if "*" in lifecycles.all() else list(GROUPS)
    return {"lifecycles": {g: {"mode": lifecycles.get(g).mode, "seconds": lifecycles.get(g).seconds}
                           for g in groups}}


@router.get("/tenants/{tenant_id}/lifecycles", **docs.TENANT_LIFECYCLES_READ)
def lifecycles_read(request: Request, tenant_id: str) -> dict[str, Any]:
    return _view(_lifecycles(request, tenant_id))


@router.put("/tenants/{tenant_id}/lifecycles", **docs.TENANT_LIFECYCLES_REPLACE)
async def lifecycles_replace(request: Request, tenant_id: str) -> dict[str, Any]:
    doc = await request_json(request, "send a JSON object of group → {mode, seconds}")
    if not isinstance(doc, dict):
        raise ControlError(400, "send a JSON object of group → {mode, seconds}")
    policies = {group: parse_policy(group, value) for group, value in doc.items()}
    lifecycles = _lifecycles(request, tenant_id)
    await run_in_threadpool(lifecycles.replace, policies)
    return _view(lifecycles)


@router.put("/tenants/{tenant_id}/lifecycles/{group}", **docs.TENANT_LIFECYCLE_SET)
async def lifecycle_set(request: Request, tenant_id: str, group: str) -> dict[str, Any]:
    doc = await request_json(request, 'send {"mode": "real|delay|manual", "seconds": N}')
    policy = parse_policy(group, doc)
    lifecycles = _lifecycles(request, tenant_id)
    await run_in_threadpool(lifecycles.set, group, policy)
    return _view(lifecycles)


@router.delete("/tenants/{tenant_id}/journal", **docs.TENANT_JOURNAL_CLEAR)
def journal_clear(request: Request, tenant_id: str) -> dict[str, Any]:
    ctx = _ctx(request)
    _existing(ctx, tenant_id)
    get_journal(ctx).clear(tenant_id)
    return {"count": 0}
