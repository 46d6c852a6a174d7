"""Request bodies: capped while they stream in, per face, and refused in that face's own shape.

The ASGI middleware reads the body before any route runs, counting bytes as they arrive, and stops
at the face's cap (`lynkflow.limits`): a 200 MB body costs at most the cap in memory, whether it is
announced by Content-Length (refused before reading) or chunked. A JSON body is also scanned for
nesting deeper than MAX_JSON_DEPTH, so no parser (ours or FastAPI's) ever recurses into one.
The body is then handed to the application unchanged. Upload routes that stream to disk with
their own caps (`UNCAPPED_UPLOAD_PATHS`) pass straight through.

Refusals: api2 answers HTTP 200 `{"error": 1, "msg": ...}` like every api2 refusal; the VIS answers
413 (400 for nesting) in its exception shape; the control plane 413/400 `{"error": ...}`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lynkflow import limits
from lynkflow.faces import classify
from lynkflow.jsondoc import nesting_exceeds
from lynkflow.uplynk import errors as api2_errors
from lynkflow.vuflow import errors as vis_errors

CONTROL_PREFIX = "/_lynkflow"


def _face(path: str) -> str:
    api = classify(path)
    if api is not None:
        return api
    return "control" if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/") else "other"


_CAPS = {"uplynk": limits.API2_MAX_BODY_BYTES, "vuflow": limits.VIS_MAX_BODY_BYTES,
         "control": limits.CONTROL_MAX_BODY_BYTES, "other": limits.OTHER_MAX_BODY_BYTES}


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _too_large(cap: int) -> str:
    return (f"the request body is larger than {cap / (1024 * 1024):g} MB ({cap} bytes), the most this API "
            "accepts; send a smaller body")


def _refusal(face: str, status: int, message: str, error_type: str, scope: Scope) -> tuple[int, dict[str, Any],
                                                                                          list[tuple[bytes, bytes]]]:
    """(status, body, extra headers) of a refusal in the face's shape."""
    if face == "uplynk":
        return 200, api2_errors.error_body(message), []
    if face == "vuflow":
        echo = vis_errors.transaction_headers(_header(scope, vis_errors.TRANSACTION_HEADER.lower().encode()) or None)
        return (status, vis_errors.VisError(status, message, error_type).body(),
                [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in echo.items()])
    if face == "control":
        return status, {"error": message}, []
    return status, {"detail": message}, []


async def _refuse(send: Send, scope: Scope, face: str, status: int, message: str, error_type: str) -> None:
    code, body, headers = _refusal(face, status, message, error_type, scope)
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in limits.UNCAPPED_UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        face = _face(scope["path"])
        cap = _CAPS[face]
        length = _header(scope, b"content-length")
        if length.isdigit() and int(length) > cap:
            await _refuse(send, scope, face, 413, _too_large(cap), "RequestTooLarge")
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                chunks.clear()  # stop holding what was read; the rest is never read
                await _refuse(send, scope, face, 413, _too_large(cap), "RequestTooLarge")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        chunks.clear()
        # Brackets and quotes are ASCII, never part of a multi-byte UTF-8 character: latin-1 keeps them.
        if body and "json" in _header(scope, b"content-type").lower() and nesting_exceeds(body.decode("latin-1")):
            await _refuse(send, scope, face, 400, f"the request body nests arrays/objects more than "
                          f"{limits.MAX_JSON_DEPTH} levels deep", "NestingTooDeep")
            return

        pending: list[bytes] = [body]

        async def replay() -> Message:
            if pending:
                return {"type": "http.request", "body": pending.pop(), "more_body": False}
            return await receive()  # after the body: wait for a disconnect, as the server would

        await self.app(scope, replay, send)
