"""The dashboard: `/` (overview) and `/dashboard/...` pages, fragments and the jobs JSON it polls.

Pages are rendered on the server from paged queries (app/web/queries.py). The few interactive
parts — upload-and-ingest, GIF/clip/image requests and live job progress — are small fetch()
calls from app/web/static/dashboard.js to the real endpoints: `POST /_lynkflow/ingest`, the VIS
`POST /api/asset/{gif,video,image}/` with the event's `API-KEY`, and `GET /dashboard/jobs.json`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from lynkflow import limits
from lynkflow.context import AppContext
from lynkflow.control.journal import JournalQuery, get_journal
from lynkflow.db.deps import ReadDb
from lynkflow.db.models import UplynkOwner, VisEvent, VisVuflow
from lynkflow.domain.vis_events import EVENT_STATES, HAS_RECORDING_STATES, MP4_STATES
from lynkflow.routeclass import DeferredRoute
from lynkflow.web import queries
from lynkflow.web.credentials import signed_example
from lynkflow.web.login import require_login
from lynkflow.web.templating import render

# With LYNKFLOW_ADMIN_TOKEN set, every page and JSON here needs a login (app/web/login.py).
router = APIRouter(route_class=DeferredRoute, include_in_schema=False, dependencies=[Depends(require_login)])

JOURNAL_ON_OVERVIEW = 15
JOURNAL_PAGE = 200
JOBS_ON_OVERVIEW = 10
RECENT_ON_OVERVIEW = 8


def _ctx(request: Request) -> AppContext:
    return request.app.state.ctx


def _base(request: Request) -> str:
    return _ctx(request).base_for(request)


def _journal(ctx: AppContext, limit: int, api: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """The newest `limit` journal entries (newest first) and the total recorded."""
    journal = get_journal(ctx)
    entries = journal.entries(JournalQuery(api=api) if api else None, limit=limit)
    return list(reversed(entries)), journal.total


def _common(request: Request, section: str) -> dict[str, Any]:
    ctx = _ctx(request)
    return {"section": section, "settings": ctx.settings, "base": _base(request),
            "admin_token_required": bool(ctx.settings.admin_token)}


def not_found(request: Request, message: str) -> HTMLResponse:
    return render(request, "not_found.html", {**_common(request, ""), "message": message}, status_code=404)


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, db: ReadDb, owner: str | None = None) -> HTMLResponse:
    """`owner` preselects the upload form's Uplynk owner (an owner's assets page links here with it)."""
    ctx = _ctx(request)
    owners = queries.owners(db)
    default_owner = ctx.settings.uplynk_owner
    recent = queries.assets_page(db, default_owner, 1, size=RECENT_ON_OVERVIEW)
    events = queries.events_page(db, 1, size=RECENT_ON_OVERVIEW // 2)
    jobs = [queries.job_summary(j) for j in queries.recent_jobs(db, JOBS_ON_OVERVIEW)]
    counts = queries.job_counts(db)
    uplynk_keys = queries.uplynk_keys(db)
    vis_keys = queries.vis_keys(db)
    vuflows = _vuflows(db)
    journal, journal_total = _journal(ctx, JOURNAL_ON_OVERVIEW)
    return render(request, "overview.html", {
        **_common(request, "overview"), "owners": owners, "recent": recent, "events": events,
        "jobs": jobs, "job_counts": counts, "uplynk_keys": uplynk_keys, "vis_keys": vis_keys,
        "vuflows": vuflows, "journal": journal, "journal_total": journal_total,
        "example": signed_example(ctx, _base(request)),
        "upload_owner": (owner or default_owner).strip().lower(),
    })


def _vuflows(db: Session) -> list[VisVuflow]:
    return list(db.scalars(select(VisVuflow).order_by(VisVuflow.created, VisVuflow.id).limit(50)))


@router.get("/dashboard/assets", response_class=HTMLResponse)
def assets(request: Request, db: ReadDb, owner: str | None = None, page: int = Query(1, ge=1, le=10**6),
           deleted: bool = False) -> HTMLResponse:
    ctx = _ctx(request)
    owner_id = (owner or ctx.settings.uplynk_owner).strip().lower()
    if db.get(UplynkOwner, owner_id) is None:
        return not_found(request, f"There is no Uplynk owner {owner_id}.")
    owners = queries.owners(db)
    listing = queries.assets_page(db, owner_id, page, deleted=deleted)
    return render(request, "assets.html", {**_common(request, "assets"), "owners": owners, "owner_id": owner_id,
                                           "page": listing, "deleted": deleted})


@router.get("/dashboard/events", response_class=HTMLResponse)
def events(request: Request, db: ReadDb, page: int = Query(1, ge=1, le=10**6), deleted: bool = False) -> HTMLResponse:
    listing = queries.events_page(db, page, deleted=deleted)
    return render(request, "events.html", {**_common(request, "events"), "page": listing, "deleted": deleted,
                                           "event_states": EVENT_STATES})


def _event_context(db: Session, event_id: str, page: int) -> dict[str, Any] | None:
    view = queries.event_detail(db, event_id)
    if view is None:
        return None
    assets = queries.event_assets_page(db, event_id, page)

    event: VisEvent = view.event
    return {"view": view, "event": event, "assets": assets,
            "state_name": EVENT_STATES[event.state] if 0 <= event.state < len(EVENT_STATES) else str(event.state),
            "mp4_state_name": MP4_STATES.get(event.mp4_state, str(event.mp4_state)),
            "can_request": event.deleted is None and event.state in HAS_RECORDING_STATES,
            "ingest_error": (event.extra or {}).get("lynkflowIngestError")}


@router.get("/dashboard/events/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, db: ReadDb, event_id: str, page: int = Query(1, ge=1, le=10**6)) -> HTMLResponse:
    context = _event_context(db, event_id, page)
    if context is None:
        return not_found(request, f"There is no VIS event {event_id}.")
    return render(request, "event.html", {**_common(request, "events"), **context})


@router.get("/dashboard/events/{event_id}/assets", response_class=HTMLResponse)
def event_assets_fragment(request: Request, db: ReadDb, event_id: str,
                          page: int = Query(1, ge=1, le=10**6)) -> HTMLResponse:
    """Just the asset grid of an event: the page swaps it in when a requested asset is done."""
    context = _event_context(db, event_id, page)
    if context is None:
        return HTMLResponse(f"<p class=empty>There is no VIS event {event_id}.</p>", status_code=404)
    return render(request, "_event_assets.html", {**_common(request, "events"), **context})


@router.get("/dashboard/jobs", response_class=HTMLResponse)
def jobs(request: Request, db: ReadDb, page: int = Query(1, ge=1, le=10**6),
         state: str | None = None) -> HTMLResponse:
    if state is not None and state not in queries.JOB_STATES:
        state = None
    listing = queries.jobs_page(db, page, state)
    counts = queries.job_counts(db)
    listing.items = [queries.job_summary(j) for j in listing.items]
    return render(request, "jobs.html", {**_common(request, "jobs"), "page": listing, "state": state,
                                         "job_counts": counts, "job_states": queries.JOB_STATES})


@router.get("/dashboard/jobs.json")
def jobs_json(request: Request, db: ReadDb, limit: int = Query(JOBS_ON_OVERVIEW, ge=0, le=200),
              ids: str = "") -> JSONResponse:
    """The newest jobs plus any asked for by id (`ids=3,7`), with counts per state; polled each second."""
    wanted: list[int] = []
    for raw in ids.split(","):
        raw = raw.strip()
        if not raw:
            continue
        if not raw.isdigit() or len(raw) > 10 or int(raw) > limits.MAX_JOB_ID:
            return JSONResponse({"error": f"ids must be job numbers (1 to {limits.MAX_JOB_ID}) separated by "
                                 f"commas, got {raw[:40]!r}"}, status_code=400)
        wanted.append(int(raw))
    rows = queries.recent_jobs(db, limit, wanted)
    counts = queries.job_counts(db)
    return JSONResponse({"jobs": [queries.job_summary(j) for j in rows], "counts": counts},
                        headers={"Cache-Control": "no-store"})


@router.get("/dashboard/journal", response_class=HTMLResponse)
def journal(request: Request, api: str | None = None) -> HTMLResponse:
    ctx = _ctx(request)
    if api not in ("uplynk", "vuflow"):
        api = None
    entries, total = _journal(ctx, JOURNAL_PAGE, api)
    return render(request, "journal.html", {**_common(request, "journal"), "entries": entries, "total": total,
                                            "api": api, "shown": JOURNAL_PAGE})
