"""`/storage/...`: stored files over HTTP with Range support and the right content types."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from lynkflow.storage.paths import UnsafePath, safe_join

router = APIRouter()

_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".ttml": "application/ttml+xml",
    ".vtt": "text/vtt",
    ".json": "application/json",
}


def content_type_for(name: str) -> str:
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot >= 0 else ""
    return _TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


@router.api_route("/storage/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
def serve_storage(path: str, request: Request) -> FileResponse:
    ctx = request.app.state.ctx
    try:
        target = safe_join(ctx.storage.root, path)
    except UnsafePath as exc:
        raise HTTPException(status_code=404, detail=f"not found: {exc}") from None
    # The database file and scratch space are not public.
    top = path.lstrip("/").split("/", 1)[0]
    if top in ("tmp",) or target.name.startswith("lynkflow.db") or not target.is_file():
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(target, media_type=content_type_for(target.name))
