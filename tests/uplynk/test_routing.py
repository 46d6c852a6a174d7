"""The api2 face is served by one route that looks the operation up in the URL table."""

from __future__ import annotations

import pytest

from lynkflow.uplynk.urls import URLS


def test_api2_is_one_route(client) -> None:
    """One route, not one per operation and method: FastAPI analyses each declared route at start-up, and
    every request for another path is matched against each route before it (app/uplynk/routes.py)."""
    from fastapi.routing import iter_route_contexts

    paths = [c.path for c in iter_route_contexts(client.app.routes) if (c.path or "").startswith("/api2")]
    assert paths == ["/api2/{name:path}"]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", sorted(URLS))
def test_every_operation_answers_get_and_post(client, name: str, method: str) -> None:
    """A bad signature reaches the operation's own pipeline (and its refusal), not the unknown-endpoint answer."""
    pair = {"msg": "not-a-msg", "sig": "0" * 64}
    kw = {"params": pair} if method == "GET" else {"data": pair}
    r = client.request(method, f"/api2/{name}", **kw)
    assert r.status_code == 200
    assert r.json()["error"] == 1 and "unknown api2 endpoint" not in r.json()["msg"]


@pytest.mark.parametrize("path", ["/api2/asset/get", "/api2/asset/get/", "/api2/no/such/op", "/api2"])
def test_a_wrong_method_lists_both_methods_api2_takes(client, path: str) -> None:
    r = client.put(path)
    assert r.status_code == 405 and r.json()["error"] == 1
    assert sorted(r.headers["allow"].split(", ")) == ["GET", "POST"]


def test_the_document_lists_every_operation_for_get_and_post(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    api2 = {path: set(ops) for path, ops in paths.items() if path.startswith("/api2")}
    assert api2 == {f"/api2/{name}": {"get", "post"} for name in URLS}
