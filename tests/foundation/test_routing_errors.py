"""Unknown routes and wrong methods answer in the dialect of the API the path belongs to."""

from __future__ import annotations

import re

import pytest
from starlette.routing import BaseRoute, compile_path


def test_wrong_method_on_api2(client) -> None:
    r = client.put("/api2/asset/get", data={"msg": "x", "sig": "y"})
    assert r.status_code == 405
    body = r.json()
    assert body["error"] == 1 and "PUT not allowed" in body["msg"]


@pytest.mark.parametrize("path", ["/api/nothing/here", "/asset/nothing/at/all/"])
def test_unknown_vis_route(client, vis_headers, path: str) -> None:
    r = client.get(path, headers={**vis_headers, "X-Transaction-ID": "tx-42"})
    assert r.status_code == 404
    assert set(r.json()) == {"exceptionType", "exceptionMessage", "errorType", "data"}
    assert r.json()["errorType"] == "RouteNotFound"
    assert r.json()["exceptionType"] == "NotFoundException"
    assert r.headers["x-transaction-id"] == "tx-42"


def test_wrong_method_on_vis_route(client, vis_headers) -> None:
    r = client.patch("/api/health/", headers=vis_headers)
    assert r.status_code == 405
    assert r.json()["errorType"] == "MethodNotAllowed"


def test_other_paths_keep_the_plain_shape(client) -> None:
    r = client.get("/_lynkflow/nothing")
    assert r.status_code == 404 and "detail" in r.json()


def test_ingest_needs_the_admin_token_when_set(make_client) -> None:
    c = make_client(admin_token="s3cret")
    assert c.post("/_lynkflow/ingest", data={"target": "media"}).status_code == 401
    r = c.post("/_lynkflow/ingest", data={"target": "media"}, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 400  # past the token check: now the request itself is judged


def _paths(routes: list[BaseRoute], prefix: str = "") -> list[str]:
    """Every route path under these routes, with the prefixes of the routers that include it."""
    found: list[str] = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            found += _paths(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif hasattr(route, "path"):
            found.append(prefix + route.path)
    return found


def _example(path: str) -> str:
    """A concrete path that the route's own pattern matches."""
    return re.sub(r"\{[^}]+\}", "x1", re.sub(r"\{[^}:]+:path\}", "x1/x2", path))


def test_no_path_belongs_to_two_of_the_apps_routers(client) -> None:
    """main._mount orders the routers by cost (hot faces first): that is only safe while no path can
    be answered by routes of two of them, so the order never decides which route answers."""
    groups = [_paths([route]) for route in client.app.router.routes]
    for i, paths in enumerate(groups):
        for j, others in enumerate(groups):
            if i == j:
                continue
            patterns = [compile_path(other)[0] for other in others]
            for path in paths:
                claimed = [o for o, pattern in zip(others, patterns, strict=True) if pattern.match(_example(path))]
                assert not claimed, f"{path} (router {i}) is also matched by {claimed} (router {j})"
