"""`DeferredRoute`: an `APIRoute` that skips FastAPI's analysis of its endpoint until something reads it.

FastAPI analyses a route as it is declared: the endpoint's signature and every dependency's,
a pydantic field per parameter and for the response model, and the request handler built from
them (~0.5 ms a route, ~80 ms for lynkflow's ~140 at start). Since FastAPI 0.165 a router that
is included (`app.include_router`, how every lynkflow router is served) is served through an
"effective route context" per inclusion, built from the route's declared arguments, with an
analysis of its own (`_EffectiveRouteContext.from_api_route`; `lynkflow.main` builds those once
the server answers). The route's own analysis is then never read: it was pure start-up cost.

`DeferredRoute` sets at once what including, matching and the effective context read (path,
methods, name, and each declared argument as `APIRoute` would store it) and runs `APIRoute`'s own
`__init__` the first time anything else is read (`dependant`, `app`, `response_field`,
`unique_id`...), under a lock, so a route served directly (a router used as an app, a test)
works as before, only analysed on first use. tests/foundation/test_startup.py checks that a built
app has analysed none of its routes and that the effective contexts match an eager route's.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from fastapi._form_limits import _validate_form_limits
from fastapi.datastructures import Default
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.utils import generate_unique_id
from starlette.routing import compile_path, get_name

# One lock for every route's first analysis: it runs once per route, and rarely (see the docstring).
# Reentrant: APIRoute.__init__ reads attributes it has not set yet, in the analysing thread.
_ANALYSIS = threading.RLock()
_PENDING, _RUNNING, _DONE = "pending", "running", "done"


class DeferredRoute(APIRoute):
    """An `APIRoute` whose endpoint analysis runs on first use (module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, response_model: Any = Default(None),
                 status_code: int | None = None, tags: list[Any] | None = None,
                 dependencies: Any = None, summary: str | None = None, description: str | None = None,
                 response_description: str = "Successful Response",
                 responses: dict[int | str, dict[str, Any]] | None = None, deprecated: bool | None = None,
                 name: str | None = None, methods: set[str] | list[str] | None = None,
                 operation_id: str | None = None, response_model_include: Any = None,
                 response_model_exclude: Any = None, response_model_by_alias: bool = True,
                 response_model_exclude_unset: bool = False, response_model_exclude_defaults: bool = False,
                 response_model_exclude_none: bool = False, include_in_schema: bool = True,
                 response_class: Any = Default(JSONResponse), dependency_overrides_provider: Any = None,
                 callbacks: list[Any] | None = None, openapi_extra: dict[str, Any] | None = None,
                 generate_unique_id_function: Any = Default(generate_unique_id),
                 strict_content_type: Any = Default(True), max_body_size: int | None = None,
                 form_limits: Any = None) -> None:
        args = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        # The declared arguments, stored as APIRoute's own analysis stores them (fastapi/routing.py,
        # _populate_api_route_state), without the analysis: what the effective context is built from.
        self.path = path
        self.endpoint = endpoint
        self.response_model = response_model  # a placeholder is inferred from the endpoint, there too
        self.stream_item_type = None
        self.summary = summary
        self.response_description = response_description
        self.deprecated = deprecated
        self.operation_id = operation_id
        self.response_model_include = response_model_include
        self.response_model_exclude = response_model_exclude
        self.response_model_by_alias = response_model_by_alias
        self.response_model_exclude_unset = response_model_exclude_unset
        self.response_model_exclude_defaults = response_model_exclude_defaults
        self.response_model_exclude_none = response_model_exclude_none
        self.include_in_schema = include_in_schema
        self.response_class = response_class
        self.dependency_overrides_provider = dependency_overrides_provider
        self.callbacks = callbacks
        self.openapi_extra = openapi_extra
        self.generate_unique_id_function = generate_unique_id_function
        self.strict_content_type = strict_content_type
        self.max_body_size = max_body_size
        self.form_limits = _validate_form_limits(form_limits)  # as APIRoute.__init__ stores it ({} for None)
        self.tags = tags or []
        self.responses = responses or {}
        self.name = get_name(endpoint) if name is None else name
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self.methods = {method.upper() for method in methods or ["GET"]}
        self.status_code = int(status_code) if isinstance(status_code, IntEnum) else status_code
        self.dependencies = list(dependencies or [])
        self.description = (description or inspect.cleandoc(endpoint.__doc__ or "")).split("\f")[0].strip()
        self._deferred = args
        self._analysis = _PENDING

    def __getattr__(self, name: str) -> Any:
        # Called only for an attribute not set above: the analysis' results. Dunder lookups (copy,
        # pickle) do not start it; a missing attribute after (or during) the analysis is missing.
        if name.startswith("__") or self.__dict__.get("_analysis", _DONE) != _PENDING:
            raise AttributeError(name)
        self.analyse()
        return object.__getattribute__(self, name)

    def analyse(self) -> None:
        """Run APIRoute's own analysis now (once; a no-op afterwards). Another thread that reads
        the analysis meanwhile waits for it."""
        with _ANALYSIS:
            if self._analysis != _PENDING:
                return
            self._analysis = _RUNNING
            args = dict(self._deferred)
            path, endpoint = args.pop("path"), args.pop("endpoint")
            try:
                APIRoute.__init__(self, path, endpoint, **args)
            except BaseException:
                self._analysis = _PENDING  # as a plain APIRoute would have raised it, at each use
                raise
            self._analysis = _DONE
            self._deferred = None

    @property
    def analysed(self) -> bool:
        """Whether APIRoute's own analysis has run."""
        return self.__dict__.get("_analysis") == _DONE
