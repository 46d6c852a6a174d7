"""`/_lynkflow/health` (the process answers) and `/_lynkflow/ready` (it can serve the APIs, and how far
the seed's media jobs are)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from lynkflow import __version__
from lynkflow.control import docs_models as docs
from lynkflow.db.migrate import is_at_head
from lynkflow.routeclass import DeferredRoute
from lynkflow.seeding import seed_progress

router = APIRouter(route_class=DeferredRoute, prefix="/_lynkflow")


# The constant answer, encoded once (as JSONResponse would: compact, UTF-8).
_HEALTH = JSONResponse({"status": "ok", "version": __version__}).body

# `response_model=None`: both answer a Response, so a response model would only be built, never used;
# FastAPI builds one (a pydantic field, and the first imports pydantic.v1: ~15 ms) as the first
# request reaches this router, and that request is the readiness probe a start is timed by. The
# document still shows each answer's model (docs_models, by `$ref`).
_NO_MODEL = {"response_model": None}


@router.get("/health", **{**docs.HEALTH, **_NO_MODEL})
async def health() -> Response:
    # `async`: a sync route would hop to the thread pool on every call, for a constant answer.
    return Response(_HEALTH, media_type="application/json")


@router.get("/ready", **{**docs.READY, **_NO_MODEL})
def ready(request: Request) -> JSONResponse:
    ctx = request.app.state.ctx
    checks: dict[str, bool] = {}
    try:
        checks["database_migrated"] = is_at_head(ctx.engine)
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        checks["database_migrated"] = False
    checks["seed_applied"] = ctx.seed_applied
    workers = ctx.workers
    expected = ctx.settings.inproc_workers
    checks["workers_running"] = expected == 0 or (workers is not None and workers.alive() >= expected)
    ok = all(checks.values())
    try:
        # Not a readiness check (the APIs answer while seed media is ingested): `lynkflow wait
        # --seeded` reads it to know when the seeded assets and events are done.
        seed = seed_progress(ctx)
    except Exception:  # noqa: BLE001 - same as above: no database, no answer
        seed = None
    return JSONResponse({"ready": ok, "checks": checks, "seed": seed}, status_code=200 if ok else 503)
