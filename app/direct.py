"""The hot API requests, served around FastAPI's router and middleware stack.

Between the control middleware (faults, stubs, tenants, journal: app/control/middleware.py) and a
route, Starlette and FastAPI run their middlewares and the router on every request. For the hot
requests that was a large share of the CPU doing nothing for them: ~30 % of a signed asset/get, and
for a VIS list as much as its own work (FastAPI tries the routes of every included router in order,
twice, and the VIS router comes after api2's and playback's). `Direct` sits just inside the control
middleware and hands these requests to their route's own function, wrapped in the two layers whose
behaviour they do see:

- lynkflow's `BodyLimit` (each face's cap and its refusal in that face's shape), and
- Starlette's `ServerErrorMiddleware` (our own bug escaping a route: the plain 500, then the exception
  re-raised for the server's log), built with the application's own 500 handler and debug flag, as
  Starlette builds it.

What goes direct:

- api2: a known operation by GET or POST (`/api2/<operation>`), to the one api2 route's function;
- VIS: a GET of a fixed-path read under `/api` (the asset, event and vuflow lists and the refId /
  externalId lookups), to its `VisRoute` handler. These are the `direct` endpoints
  (vuflow/errors.py), which take the request alone and answer every failure themselves, so FastAPI's
  exception middleware and exit stacks have nothing to do for them. No route registered before the
  VIS router answers these paths (tests/vuflow/test_direct.py).

Everything else goes the full way, so every other answer is made where it always was: other methods
(HEAD is served by the route, 405s list `Allow`), unknown operations and paths, paths with
parameters, the VIS root mount, and a request under a `root_path` (the router matches paths without
it). Middlewares a user adds with `app.add_middleware` do not see the direct requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from lynkflow.bodylimit import BodyLimit
from lynkflow.uplynk.routes import ENDPOINTS, api2
from lynkflow.vuflow.routes import router as vis_router

API2_PREFIX = "/api2/"
VIS_PREFIX = "/api"

Handler = Callable[[Request], Awaitable[Response]]


def vis_get_routes() -> dict[str, APIRoute]:
    """Path under /api → its route, for the `direct` GET endpoints whose path has no parameters."""
    return {VIS_PREFIX + r.path: r for r in vis_router.routes
            if isinstance(r, APIRoute) and getattr(r.endpoint, "vis_direct", False) and r.methods == {"GET"}
            and "{" not in r.path}


class Direct:
    """ASGI: the hot api2 and VIS requests straight to their route; all else to `app`."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        handlers = fastapi_app.exception_handlers
        self.direct = ServerErrorMiddleware(BodyLimit(self._serve),
                                            handler=handlers.get(500) or handlers.get(Exception),
                                            debug=fastapi_app.debug)
        self._vis_routes = vis_get_routes()
        self._vis_handlers: dict[str, Handler] = {}  # built on first use, as the router builds them

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            method: str = scope["method"]
            path: str = scope["path"]
            if (method == "GET" or method == "POST") and path.startswith(API2_PREFIX):
                if path[len(API2_PREFIX):] in ENDPOINTS:
                    await self.direct(scope, receive, send)
                    return
            elif method == "GET" and path in self._vis_routes:
                await self.direct(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """What the router would do: the path parameters, then the route's own function."""
        path: str = scope["path"]
        if path.startswith(API2_PREFIX):
            scope["path_params"] = {"name": path[len(API2_PREFIX):]}
            response = await api2(Request(scope, receive, send))
        else:
            scope["path_params"] = {}
            response = await self._vis_handler(path)(Request(scope, receive, send))
        await response(scope, receive, send)

    def _vis_handler(self, path: str) -> Handler:
        handler = self._vis_handlers.get(path)
        if handler is None:
            handler = self._vis_handlers[path] = self._vis_routes[path].get_route_handler()
        return handler
