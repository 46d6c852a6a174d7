"""Unknown routes and wrong methods answer in the dialect of the API the path belongs to."""

from __future__ import annotations

import pytest


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
