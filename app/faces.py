"""Which emulated API a request path belongs to, and the not-found / wrong-method answers in
that API's own dialect (routing errors happen before any face's code runs)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from lynkflow.uplynk import errors as api2_errors
from lynkflow.vuflow import errors as vis_errors
from lynkflow.vuflow.errors import VisError

_VIS_ROOTS = ("/asset", "/event", "/vuflow", "/health")


def classify(path: str) -> str | None:
    """"uplynk", "vuflow", or None for everything that is neither API (control plane, files, pages)."""
    if path.startswith("/api2/") or path == "/api2":
        return "uplynk"
    if path.startswith("/api/") or path == "/api":
        return "vuflow"
    for root in _VIS_ROOTS:
        if path == root or path.startswith(root + "/"):
            return "vuflow"
    return None


async def _routing_error(request: Request, exc: StarletteHTTPException) -> Response:
    api = classify(request.url.path)
    if api == "uplynk":
        # api2 reports every failure as {"error": 1, "msg": ...}; keep the HTTP status so a
        # mistyped endpoint is obvious in client logs too.
        what = "unknown api2 endpoint" if exc.status_code == 404 else f"method {request.method} not allowed"
        return JSONResponse(api2_errors.error_body(f"{what}: {request.url.path} (api2 takes GET or POST "
                                                   "with msg and sig; see /docs for the endpoints lynkflow serves)"),
                            status_code=exc.status_code, headers=exc.headers)
    if api == "vuflow":
        if exc.status_code == 404:
            err = VisError(404, f"No route matches {request.url.path}", "RouteNotFound")
        else:
            err = VisError(exc.status_code, f"{request.method} is not allowed on {request.url.path}",
                           "MethodNotAllowed")
        return vis_errors.error_response(err, request.headers.get(vis_errors.TRANSACTION_HEADER), exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


class Api2TrailingSlash:
    """ASGI: `/api2/asset/list/` is `/api2/asset/list`.

    Public PHP clients write api2 paths with a trailing slash, and the real service answers them.
    The path is normalised before anything else sees it, so faults, stubs and the journal match the
    one canonical route whichever way the client wrote it (the api2 signature covers `msg` only).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.endswith("/") and path.startswith("/api2/") and len(path) > 6:
                scope = {**scope, "path": path.rstrip("/")}
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/")
        await self.app(scope, receive, send)


def install_api2_trailing_slash(app: FastAPI) -> None:
    """Put Api2TrailingSlash outside the whole middleware stack (call after any other wrapper)."""
    build = app.build_middleware_stack

    def build_with_slash() -> ASGIApp:
        return Api2TrailingSlash(build())

    app.build_middleware_stack = build_with_slash  # type: ignore[method-assign]


def install_routing_errors(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _routing_error)  # type: ignore[arg-type]
