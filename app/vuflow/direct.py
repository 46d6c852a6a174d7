"""The VIS's plain reads at fixed paths, handed to their route without FastAPI's router.

A `GET /api/asset/` spent about as much CPU in the router as in its own work: FastAPI tries the
routes of every included router in order (twice: once to choose, once to handle), and the VIS router
comes after api2's and playback's. `VisDirect` is the innermost of the application's own middlewares
(inside `BodyLimit` and Starlette's error middleware, as the router is) and looks a `GET` of one of
these paths up in a table: the `direct` GET endpoints whose path has no parameters
(vuflow/errors.py: they take the request alone), under `/api`. It calls the route's own handler, so
the VIS checks, error shapes and transaction header are what they were. Everything else goes to the
router: other methods (HEAD's and other 405s are the router's), paths with parameters, the root
mount (rare), and requests under a `root_path` (the router matches paths without it).

No route registered before the VIS router answers these paths (`tests/vuflow/test_direct.py` checks
that the router itself picks the same route for each).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from lynkflow.vuflow.routes import router

PREFIX = "/api"


def direct_get_routes() -> dict[str, APIRoute]:
    """Path under /api → its route, for the `direct` GET endpoints whose path has no parameters."""
    return {PREFIX + r.path: r for r in router.routes
            if isinstance(r, APIRoute) and getattr(r.endpoint, "vis_direct", False) and r.methods == {"GET"}
            and "{" not in r.path}


class VisDirect:
    """ASGI: a GET of a fixed-path VIS read straight to its route's handler; all else to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes = direct_get_routes()
        # Built on first use, as the router builds a route's handler.
        self._handlers: dict[str, Callable[[Request], Awaitable[Response]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            path: str = scope["path"]
            route = self._routes.get(path)
            if route is not None:
                handler = self._handlers.get(path)
                if handler is None:
                    handler = self._handlers[path] = route.get_route_handler()
                scope["path_params"] = {}
                response = await handler(Request(scope, receive, send))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
