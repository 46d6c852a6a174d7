"""Which emulated API a request path belongs to, and the not-found / wrong-method answers in
that API's own dialect (routing errors happen before any face's code runs)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def install_routing_errors(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _routing_error)  # type: ignore[arg-type]
