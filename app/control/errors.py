"""The control plane's error shape: `{"error": "<what to do>"}` with a 4xx status (507 for a full disk).

`ControlRoute` is the route class of the /_lynkflow routers: HTTP errors (including the admin
token check) and request-validation errors come back in that one shape instead of FastAPI's
`detail` lists, so a test helper can always print `body["error"]`. It settles the request's write
session inside that handling (db/deps.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

# Starlette's, the base of FastAPI's: FastAPI's own body parsing raises the Starlette one.
from starlette.exceptions import HTTPException

from lynkflow import jsondoc
from lynkflow.db.deps import settle
from lynkflow.routeclass import DeferredRoute
from lynkflow.storage.diskfull import NO_SPACE, is_disk_full


class ControlError(Exception):
    """Raised by control-plane code; rendered as {"error": message} with `status`."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(problems)


def parse_json(raw: bytes | str, usage: str) -> Any:
    """JSON parsed within lynkflow.limits; ControlError(400) saying `usage` when it is not JSON, or what is
    wrong with it (nesting, text, numbers) when it is. The one JSON parser of the control plane."""
    try:
        return jsondoc.loads(raw)
    except jsondoc.DocumentError as exc:
        raise ControlError(400, usage if exc.kind == "InvalidJson" else exc.message) from None


async def request_json(request: Request, usage: str, *, allow_empty: bool = False) -> Any:
    """The JSON body (`parse_json`); None for an empty body when `allow_empty`."""
    raw = await request.body()
    if allow_empty and not raw.strip():
        return None
    return parse_json(raw, usage)


async def request_object(request: Request, usage: str, *, allow_empty: bool = False) -> dict[str, Any]:
    """The JSON body as an object; `{}` for an empty body when `allow_empty`."""
    doc = await request_json(request, usage, allow_empty=allow_empty)
    if doc is None and allow_empty:
        return {}
    if not isinstance(doc, dict):
        raise ControlError(400, usage)
    return doc


class ControlRoute(DeferredRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await inner(request)
                await settle(request, ok=True)
                return response
            except ControlError as exc:
                response = error_response(exc.status, exc.message, **exc.extra)
            except HTTPException as exc:
                response = error_response(exc.status_code, str(exc.detail), headers=exc.headers)
            except RequestValidationError as exc:
                response = error_response(422, _validation_message(exc))
            except Exception as exc:
                if not is_disk_full(exc):
                    raise  # the dependency's cleanup rolls the request's writes back
                response = error_response(507, NO_SPACE)
            await settle(request, ok=False)
            return response

        return handler
