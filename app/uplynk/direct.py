"""api2 calls served straight from the outer ASGI layers, without FastAPI's router and middleware.

Between the control middleware (faults, stubs, tenants, journal: app/control/middleware.py) and the
api2 endpoint, Starlette and FastAPI ran six middlewares and the router for every api2 call: ~30 % of
a signed asset/get's CPU, almost none of it doing anything for api2 (no dependencies, no exception
handler it can reach, no body limit of FastAPI's set, one route). `Api2Direct` sits just inside the
control middleware and hands a call for a known api2 operation to the one route's function itself,
wrapped in the two layers whose behaviour api2 does see:

- lynkflow's `BodyLimit` (the api2 cap and its refusal in the api2 shape), and
- Starlette's `ServerErrorMiddleware` (our own bug escaping the endpoint: the plain 500, then the
  exception re-raised for the server's log), built with the application's own 500 handler and
  debug flag, as Starlette builds it.

Everything else goes the full way, so every other answer is made where it always was: any method
other than GET and POST (HEAD is served by the route, 405 lists `Allow: GET, POST`), an unknown
operation (the api2-shaped unknown-endpoint answer), and a request under a `root_path` (the router
matches paths without it).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from lynkflow.bodylimit import BodyLimit
from lynkflow.uplynk.routes import ENDPOINTS, api2

_PREFIX = "/api2/"


async def _serve(scope: Scope, receive: Receive, send: Send) -> None:
    """What the route would do: the operation's name as its path parameter, then the route's function."""
    scope["path_params"] = {"name": scope["path"][len(_PREFIX):]}
    response = await api2(Request(scope, receive, send))
    await response(scope, receive, send)


class Api2Direct:
    """ASGI: known api2 operations by GET or POST straight to the api2 route function; all else to `app`."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        handlers = fastapi_app.exception_handlers
        self.direct = ServerErrorMiddleware(BodyLimit(_serve), handler=handlers.get(500) or handlers.get(Exception),
                                            debug=fastapi_app.debug)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "POST") and not scope.get("root_path"):
            path: str = scope["path"]
            if path.startswith(_PREFIX) and path[len(_PREFIX):] in ENDPOINTS:
                await self.direct(scope, receive, send)
                return
        await self.app(scope, receive, send)
