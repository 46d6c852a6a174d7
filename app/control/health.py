"""`/_lynkflow/health` (the process answers) and `/_lynkflow/ready` (it can serve the APIs)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lynkflow import __version__
from lynkflow.control import docs_models as docs
from lynkflow.db.migrate import is_at_head

router = APIRouter(prefix="/_lynkflow")


@router.get("/health", **docs.HEALTH)
def health() -> dict:
    return {"status": "ok", "version": __version__}


@router.get("/ready", **docs.READY)
def ready(request: Request) -> JSONResponse:
    ctx = request.app.state.ctx
    checks: dict[str, bool] = {}
    try:
        checks["database_migrated"] = is_at_head(ctx.engine)
    except Exception:  # noqa: BLE001 - any database failure means "not ready"
        checks["database_migrated"] = False
    checks["seed_applied"] = bool(ctx.services.get("seed_applied", True))
    workers = ctx.services.get("workers")
    expected = ctx.settings.inproc_workers
    checks["workers_running"] = expected == 0 or (workers is not None and workers.alive() >= expected)
    ok = all(checks.values())
    return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)
