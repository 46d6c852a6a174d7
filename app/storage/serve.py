"""`/storage/...`: stored files over HTTP with Range support and the right content types.

On local storage the file is sent from the data dir; on S3 the object is streamed from the store,
the request's Range passed to GetObject, so a player's byte-range reads work with either backend.
"""

from __future__ import annotations

import mimetypes
from datetime import UTC
from email.utils import format_datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from lynkflow.routeclass import DeferredRoute
from lynkflow.storage.paths import UnsafePath, safe_join

router = APIRouter(route_class=DeferredRoute)

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
def serve_storage(path: str, request: Request) -> Response:
    ctx = request.app.state.ctx
    try:
        target = safe_join(ctx.storage.root, path)
    except UnsafePath as exc:
        raise HTTPException(status_code=404, detail=f"not found: {exc}") from None
    # The database file and scratch space are not public.
    top = path.lstrip("/").split("/", 1)[0]
    if top in ("tmp",) or target.name.startswith("lynkflow.db"):
        raise HTTPException(status_code=404, detail="not found")
    if ctx.storage.remote:
        return _from_object_store(ctx.storage, ctx.storage.relative(target), request)
    if not target.is_file():
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(target, media_type=content_type_for(target.name))


_PASSED_HEADERS = (("ContentLength", "content-length"), ("ContentRange", "content-range"), ("ETag", "etag"))


def _from_object_store(storage, relative: str, request: Request) -> Response:  # noqa: ANN001 - an S3Storage
    from lynkflow.storage.s3 import RangeNotSatisfiable, StoreUnavailable

    media_type = content_type_for(relative)
    try:
        if request.method == "HEAD":
            obj = storage.head(relative)
        else:
            obj = storage.get(relative, request.headers.get("range"))
    except FileNotFoundError:
        raise HTTPException(status_code=404, detail="not found") from None
    except RangeNotSatisfiable:
        size = storage.head(relative)["ContentLength"]
        return Response(status_code=416, headers={"content-range": f"bytes */{size}"})
    except StoreUnavailable as exc:
        # The store's outage, not a missing file and not a lynkflow bug: say so, and that it may pass.
        raise HTTPException(status_code=503, detail=str(exc), headers={"retry-after": "5"}) from None
    headers = {"accept-ranges": "bytes"}
    for field, header in _PASSED_HEADERS:
        if obj.get(field) is not None:
            headers[header] = str(obj[field])
    if obj.get("LastModified") is not None:
        headers["last-modified"] = format_datetime(obj["LastModified"].astimezone(UTC), usegmt=True)
    status = 206 if "content-range" in headers else 200
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type=media_type)
    body = obj["Body"]

    def chunks():  # noqa: ANN202 - sync iterator: Starlette runs it in the thread pool
        try:
            yield from body.iter_chunks(chunk_size=256 * 1024)
        finally:
            body.close()

    return StreamingResponse(chunks(), status_code=status, headers=headers, media_type=media_type)
