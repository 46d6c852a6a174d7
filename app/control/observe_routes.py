"""Control routes for seeing and steering requests: fault rules, the request journal, and the
Uplynk signature explainer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from lynkflow.control import docs_models as docs
from lynkflow.control.errors import ControlError, ControlRoute, request_json
from lynkflow.control.faults import get_faults
from lynkflow.control.journal import MAX_WAIT_SECONDS, Journal, JournalQuery, get_journal
from lynkflow.control.rulesets import add_from_request

router = APIRouter(route_class=ControlRoute)

def _journal(request: Request) -> Journal:
    ctx = request.app.state.ctx
    return get_journal(ctx)


def _query(api: str | None, route: str | None, method: str | None, status: str | None, since: Any,
           until: Any, internal_error: bool | None = None, tenant: Any = None) -> JournalQuery:
    try:
        return JournalQuery(api=api, route=route, method=method, status=None if status is None else str(status),
                            since=None if since is None else int(since), until=None if until is None else int(until),
                            internal_error=internal_error, tenant=None if tenant is None else str(tenant))
    except (ValueError, TypeError) as exc:
        raise ControlError(400, str(exc)) from None


# --- faults --------------------------------------------------------------------------------------


@router.get("/faults", **docs.FAULTS_LIST)
def list_faults(request: Request) -> dict[str, Any]:
    return {"faults": get_faults(request.app.state.ctx).list()}


@router.post("/faults", **docs.FAULT_ADD)
async def add_fault(request: Request) -> dict[str, Any]:
    return await add_from_request(get_faults(request.app.state.ctx), request, 'send a fault rule as a JSON object, '
                                  'e.g. {"api": "uplynk", "route": "/api2/asset/get", "action": "error"}')


@router.delete("/faults/{rule_id}", **docs.FAULT_DELETE)
def delete_fault(request: Request, rule_id: str) -> dict[str, Any]:
    if not get_faults(request.app.state.ctx).delete(rule_id):
        raise ControlError(404, f"no fault rule {rule_id!r}")
    return {"deleted": rule_id}


@router.delete("/faults", **docs.FAULTS_CLEAR)
def clear_faults(request: Request) -> dict[str, Any]:
    get_faults(request.app.state.ctx).clear()
    return {"faults": []}


# --- journal -------------------------------------------------------------------------------------


@router.get("/journal", **docs.JOURNAL_READ)
def read_journal(request: Request, api: str | None = None, route: str | None = None, method: str | None = None,
                 status: str | None = None, since: int | None = None, until: int | None = None,
                 limit: int = Query(100, ge=0, le=1_000_000),
                 internal_error: bool | None = Query(None, alias="internalError"),
                 tenant: str | None = None) -> dict[str, Any]:
    """Matching entries, oldest first (the newest `limit` of them)."""
    journal = _journal(request)
    query = _query(api, route, method, status, since, until, internal_error, tenant)
    return {"entries": journal.entries(query, limit), "size": journal.size, "total": journal.total}


@router.get("/journal/count", **docs.JOURNAL_COUNT)
def count_journal(request: Request, api: str | None = None, route: str | None = None, method: str | None = None,
                  status: str | None = None, since: int | None = None, until: int | None = None,
                  internal_error: bool | None = Query(None, alias="internalError"),
                  tenant: str | None = None) -> dict[str, Any]:
    return {"count": _journal(request).count(_query(api, route, method, status, since, until, internal_error,
                                                    tenant))}


@router.delete("/journal", **docs.JOURNAL_CLEAR)
def clear_journal(request: Request) -> dict[str, Any]:
    _journal(request).clear()
    return {"count": 0}


@router.post("/journal/wait", **docs.JOURNAL_WAIT)
async def wait_journal(request: Request) -> Any:
    """Wait until `count` matching requests are journaled: `{"count": 2, "route": "/api2/asset/get",
    "timeout": 10}` → 200 with them, or 408 with how many there were."""
    doc = await request_json(request, "send {\"count\": N, \"timeout\": seconds, ...filters}")
    if not isinstance(doc, dict):
        raise ControlError(400, "send {\"count\": N, \"timeout\": seconds, ...filters}")
    count, timeout = doc.get("count", 1), doc.get("timeout", 10)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ControlError(400, "count must be a positive integer")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 <= timeout <= MAX_WAIT_SECONDS:
        raise ControlError(400, f"timeout must be seconds between 0 and {MAX_WAIT_SECONDS:g}")
    unknown = sorted(set(doc) - {"count", "timeout", "api", "route", "method", "status", "since", "until", "tenant"})
    if unknown:
        raise ControlError(400, f"unknown field(s) {', '.join(unknown)}")
    query = _query(doc.get("api"), doc.get("route"), doc.get("method"), doc.get("status"), doc.get("since"),
                   doc.get("until"), tenant=doc.get("tenant"))
    journal = _journal(request)
    found = await journal.wait_for(count, query, float(timeout))
    if found is None:
        have = journal.count(query)
        raise ControlError(408, f"only {have} matching request(s) after {timeout} s, wanted {count}",
                           count=have)
    return {"count": len(found), "entries": found}


# --- Uplynk signature explain -----------------------------------------------------------------------


@router.post("/uplynk/explain", **docs.EXPLAIN)
async def explain(request: Request) -> dict[str, Any]:
    """Given `msg` and `sig` (JSON or form body): the decoded JSON, the signature expected for each
    of the owner's keys, and every reason lynkflow would refuse the request."""
    ctype = request.headers.get("content-type", "")
    if "json" in ctype:
        doc = await request_json(request, "send {\"msg\": \"...\", \"sig\": \"...\"}")
        if not isinstance(doc, dict):
            raise ControlError(400, "send {\"msg\": \"...\", \"sig\": \"...\"}")
    else:
        doc = dict(await request.form())
    msg, sig = doc.get("msg"), doc.get("sig")
    if not isinstance(msg, str) or not isinstance(sig, str):
        raise ControlError(400, "send both msg and sig as strings, exactly as the client sent them")
    from lynkflow.uplynk.signature import explain as explain_signature

    return await run_in_threadpool(explain_signature, request.app.state.ctx, msg, sig)
