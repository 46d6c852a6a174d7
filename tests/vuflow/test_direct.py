"""app/direct.py: GETs of the fixed-path VIS reads go around FastAPI's router to the route's own
handler, and every answer is the one the router gives (status, headers, body), for those paths and
for what must still go the full way (other methods, the root mount, unknown paths)."""

from __future__ import annotations

from typing import Any

from lynkflow import direct, limits


class _Counting:
    """The ASGI app behind the direct layer, counting the requests it passes on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await self.app(scope, receive, send)


def _behind_direct(client) -> _Counting:  # noqa: ANN001
    client.get("/_lynkflow/health")  # builds the middleware stack
    layer = client.app.middleware_stack
    while not isinstance(layer, direct.Direct):
        layer = layer.app
    counting = layer.app = _Counting(layer.app)
    return counting


def _answer(resp) -> tuple[int, list[tuple[str, str]], bytes]:  # noqa: ANN001
    return resp.status_code, sorted(resp.headers.items()), resp.content


def test_the_table_holds_the_fixed_path_reads() -> None:
    paths = direct.vis_get_routes()
    for path in ("/api/asset/", "/api/asset", "/api/event/", "/api/event", "/api/event/deleted/",
                 "/api/vuflow/"):
        assert path in paths
    assert not any("{" in p for p in paths)


def test_answers_are_the_routers(client, make_client, vis_headers, monkeypatch) -> None:
    h = {**vis_headers, "X-Transaction-ID": "t-1"}
    assert client.post("/api/event/", json={"title": "one", "refId": "r"}, headers=vis_headers).status_code == 200
    counting = _behind_direct(client)
    table = direct.vis_get_routes()
    assert set(_PATHS) == set(table)
    monkeypatch.setattr(direct, "vis_get_routes", dict)  # an app whose every request takes the router
    routed = make_client()
    requests = [("GET", p, h) for p in table]
    requests += [("GET", "/api/event/?pageSize=0", h), ("GET", "/api/asset/?pageIndex=x", h),
                 ("GET", "/api/asset/", {}), ("GET", "/api/event/reference/?refId=r", h),
                 ("GET", "/api/asset/?name=%00", h), ("GET", "/api/event/?pageNumber=3", h),
                 ("HEAD", "/api/asset/", h), ("POST", "/api/asset/", h), ("DELETE", "/api/event/", h),
                 ("GET", "/asset/", h), ("GET", "/api/nothing/", h), ("GET", "/api/asset//", h)]
    before = counting.calls
    for method, path, headers in requests:
        assert _answer(client.request(method, path, headers=headers)) == \
            _answer(routed.request(method, path, headers=headers)), (method, path)
    went_around = [r for r in requests if r[0] == "GET" and r[1].split("?")[0] in table]
    assert counting.calls - before == len(requests) - len(went_around)  # the router never saw those
    # Inside the body cap, as the router is: a GET with too large a body is refused the same way.
    big = b"x" * (limits.VIS_MAX_BODY_BYTES + 1)
    refused = _answer(client.request("GET", "/api/asset/", headers=h, content=big))
    assert refused[0] == 413 and refused == _answer(routed.request("GET", "/api/asset/", headers=h, content=big))


_PATHS = ("/api/asset/", "/api/asset", "/api/event/", "/api/event", "/api/event/deleted/", "/api/event/deleted",
          "/api/event/reference/", "/api/event/reference", "/api/event/external/", "/api/event/external",
          "/api/event/reference/unique/", "/api/event/reference/unique", "/api/event/external/unique/",
          "/api/event/external/unique", "/api/vuflow/", "/api/vuflow")
