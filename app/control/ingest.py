"""`POST /_lynkflow/ingest`: upload a file (multipart) or name one in the media folder, and queue
its ingest into an Uplynk asset and/or a VIS event. Returns the queued job at once."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from lynkflow.control import docs_models as docs
from lynkflow.control.auth import require_admin
from lynkflow.control.errors import ControlRoute
from lynkflow.domain.ingest import ingest_file
from lynkflow.domain.media import MediaSourceError, resolve_allowed_source
from lynkflow.jobs.queue import job_to_dict

# ControlRoute: a missing token or a wrong-typed form field gets the control plane's {"error": ...} shape.
router = APIRouter(prefix="/_lynkflow", route_class=ControlRoute, dependencies=[Depends(require_admin)])

MAX_UPLOAD_BYTES = 4 * 1024**3


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@router.post("/ingest", **docs.INGEST)
async def ingest(
    request: Request,
    file: UploadFile | None = None,
    path: str | None = Form(default=None),
    target: str = Form(default="uplynk", description="uplynk, vis, both, or media (the media item only)"),
    owner: str | None = Form(default=None),
    external_id: str | None = Form(default=None),
    desc: str | None = Form(default=None),
    meta: str | None = Form(default=None, description="JSON object of asset metadata"),
    event_title: str | None = Form(default=None),
    vuflow_id: str | None = Form(default=None),
    event_id: str | None = Form(default=None),
    priority: int = Form(default=5),
) -> JSONResponse:
    ctx = request.app.state.ctx
    if (file is None) == (path is None):
        return _error(400, "send exactly one of: a multipart 'file', or 'path' inside the media folder")
    if target not in ("uplynk", "vis", "both", "media"):
        return _error(400, "target must be uplynk, vis, both or media")
    if not 1 <= priority <= 10:
        return _error(400, "priority must be between 1 (highest) and 10 (lowest)")
    try:
        meta_doc: dict[str, Any] = json.loads(meta) if meta else {}
    except json.JSONDecodeError:
        return _error(400, "meta must be a JSON object, e.g. {\"genre\": \"news\"}")
    if not isinstance(meta_doc, dict):
        return _error(400, "meta must be a JSON object, e.g. {\"genre\": \"news\"}")
    uplynk = vis = None
    if target in ("uplynk", "both"):
        uplynk = {"owner": owner or ctx.settings.uplynk_owner, "external_id": external_id or "",
                  "desc": desc, "meta": meta_doc}
    upload_dir: Path | None = None
    try:
        if file is not None:
            upload_dir = Path(tempfile.mkdtemp(dir=ctx.storage.tmp))
            name = Path(file.filename or "upload.bin").name or "upload.bin"
            local = upload_dir / "upload"
            written = 0
            with local.open("wb") as out:
                while chunk := await file.read(1024 * 1024):
                    written += len(chunk)
                    if written > MAX_UPLOAD_BYTES:
                        return _error(413, f"upload is larger than {MAX_UPLOAD_BYTES} bytes")
                    out.write(chunk)
        else:
            local = resolve_allowed_source(ctx, path)
            name = local.name
        if target in ("vis", "both"):
            vis = {"api_key": ctx.settings.vuflow_api_key, "vuflow_id": vuflow_id,
                   "title": event_title or desc or name, "event_id": event_id}
        started = ingest_file(ctx, local, original_filename=name, uplynk=uplynk, vis=vis, priority=priority)
    except MediaSourceError as exc:
        return _error(400, str(exc))
    except LookupError as exc:  # unknown owner / vuflow / event
        return _error(404, str(exc))
    finally:
        if upload_dir is not None:
            shutil.rmtree(upload_dir, ignore_errors=True)
    return JSONResponse(
        {"job": job_to_dict(started.job), "mediaId": started.media_id,
         "uplynkAssetId": started.uplynk_asset_id, "visEventId": started.vis_event_id},
        status_code=202,
    )
