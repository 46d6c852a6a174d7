"""`POST /_lynkflow/ingest`: upload a file (multipart) or name one in the media folder, and queue
its ingest into an Uplynk asset and/or a VIS event. Returns the queued job at once.

An upload streams into the data dir once and is then renamed into the media folder; it never
passes through the system temp folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from lynkflow.control import docs_models as docs
from lynkflow.control.auth import require_admin
from lynkflow.control.errors import ControlError, ControlRoute, parse_json
from lynkflow.control.uploads import UploadError, UploadForm, read_upload_form
from lynkflow.domain.ingest import ingest_file
from lynkflow.domain.media import MediaSourceError, resolve_allowed_source
from lynkflow.jobs.queue import job_to_dict
from lynkflow.tenancy import current_tenant

# ControlRoute: a missing token or a wrong-typed form field gets the control plane's {"error": ...} shape.
router = APIRouter(prefix="/_lynkflow", route_class=ControlRoute, dependencies=[Depends(require_admin)])

MAX_UPLOAD_BYTES = 4 * 1024**3


async def _read_form(request: Request, ctx: Any) -> UploadForm:
    """The form's fields, and an uploaded file streamed into the data dir (never spooled elsewhere)."""
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "multipart/form-data":
        return await read_upload_form(request, ctx.storage.tmp, max_file_bytes=MAX_UPLOAD_BYTES)
    if ctype == "application/x-www-form-urlencoded":
        form = await request.form()
        return UploadForm(fields={k: v for k, v in form.items() if isinstance(v, str)})
    raise UploadError(400, "send a form: multipart/form-data with a 'file', or fields with 'path'")


# The body is read by hand (see app/control/uploads.py); its form schema is in docs.INGEST.
@router.post("/ingest", **docs.INGEST)
async def ingest(request: Request) -> JSONResponse:
    ctx = request.app.state.ctx
    try:
        form = await _read_form(request, ctx)
    except UploadError as exc:
        raise ControlError(exc.status, exc.message) from None
    try:
        return _start(ctx, form)
    finally:
        form.discard()  # taken in by then, unless the request was refused


def _start(ctx: Any, form: UploadForm) -> JSONResponse:
    f = form.fields
    path = f.get("path")
    if (form.file is None) == (path is None):
        raise ControlError(400, "send exactly one of: a multipart 'file', or 'path' inside the media folder")
    target = f.get("target", "uplynk")
    if target not in ("uplynk", "vis", "both", "media"):
        raise ControlError(400, "target must be uplynk, vis, both or media")
    raw_priority = f.get("priority", "5").strip()
    if not (raw_priority.isdigit() and 1 <= int(raw_priority) <= 10):
        raise ControlError(400, "priority must be between 1 (highest) and 10 (lowest)")
    priority = int(raw_priority)
    meta = f.get("meta")
    meta_usage = "meta must be a JSON object, e.g. {\"genre\": \"news\"}"
    meta_doc = parse_json(meta, meta_usage) if meta else {}
    if not isinstance(meta_doc, dict):
        raise ControlError(400, meta_usage)
    desc = f.get("desc")
    uplynk = vis = None
    # `tenant`: into that tenant's owner and VIS key, its job run in its context (clock, lifecycles).
    tenant: dict[str, Any] | None = None
    if f.get("tenant"):
        from lynkflow.domain.tenants import TenantNotFound, get_tenant

        try:
            tenant = get_tenant(ctx, f["tenant"])
        except TenantNotFound as exc:
            raise ControlError(404, str(exc)) from None
    owner = f.get("owner") or (tenant["uplynk"]["owner"] if tenant else ctx.settings.uplynk_owner)
    if target in ("uplynk", "both"):
        uplynk = {"owner": owner, "external_id": f.get("external_id") or "",
                  "desc": desc, "meta": meta_doc}
    try:
        if form.file is not None:
            local, move = form.file, True
            name = Path(form.filename or "upload.bin").name or "upload.bin"
        else:
            assert path is not None
            local, move = resolve_allowed_source(ctx, path), False
            name = local.name
        if target in ("vis", "both"):
            vis = {"api_key": tenant["vis"]["apiKey"] if tenant else ctx.settings.vuflow_api_key,
                   "vuflow_id": f.get("vuflow_id") or (tenant["vis"]["vuflowId"] if tenant else None),
                   "title": f.get("event_title") or desc or name, "event_id": f.get("event_id")}
        token = current_tenant.set(tenant["id"] if tenant else None)
        try:
            started = ingest_file(ctx, local, original_filename=name, uplynk=uplynk, vis=vis, priority=priority,
                                  move=move)
        finally:
            current_tenant.reset(token)
    except MediaSourceError as exc:
        raise ControlError(400, str(exc)) from None
    except LookupError as exc:  # unknown owner / vuflow / event
        raise ControlError(404, str(exc)) from None
    return JSONResponse(
        {"job": job_to_dict(started.job), "mediaId": started.media_id,
         "uplynkAssetId": started.uplynk_asset_id, "visEventId": started.vis_event_id},
        status_code=202,
    )
