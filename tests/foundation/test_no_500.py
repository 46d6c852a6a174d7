"""Bad input never gets a 500: seeded random requests against every VIS and api2 route.

Each request is built from the field names the APIs use, with values of the wrong type, out of
range, huge, empty, or path-like. Every answer must be in the API's own error shape (or a
success), never a server error.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from tests.conftest import UplynkCaller

VIS_FIELDS = ["clip", "eventId", "start", "end", "name", "fps", "width", "height", "playbackSpeed",
              "playbackRepeats", "reverse", "filename", "priority", "time", "mezzanine", "frameAccurate",
              "copyTs", "filter", "title", "configurationJson", "id", "State", "sourcePath", "mediaId",
              "contentId", "externalId", "description", "vuflowId"]
API2_FIELDS = ["id", "ids", "external_id", "external_ids", "query", "search", "order", "limit", "skip",
               "ts", "start", "stop", "meta", "poster_img", "autoexpire", "desc", "source", "args", "asset",
               "test_player_url", "embed_player_url", "require_drm", "require_studio_drm", "end",
               "ignore_shared_libraries", "aaclc", "high_priority"]


def _value(rng: random.Random, depth: int = 0) -> Any:
    choices: list[Any] = [
        None, True, False, 0, -1, 1, 10**30, -(10**18), 3.5, float("1e308"), "", " ", "x" * 5000,
        "../../etc/passwd", "/etc/passwd", "%2e%2e/", "\x00", "00:00:01", "99:99:99", "00:00:00.5",
        "2020-01-01T00:00:00Z", "-00:00:01", "NaN", "1e9", "{}", "[]", '{"a": 1}',
        str(uuid.UUID(int=rng.getrandbits(128))),
        "a" * 32, "*", '"phrase', "+a -b, name: c", "meta:x=y", "-created,id", "id; DROP TABLE x",
        "0,180000", "k=v,,,k2=v2", "iVBORw0KGgo=", "http://127.0.0.1:1/x.mp4", "ftp://x",
        "data:", "é🎬", "GENERATING",
    ]
    if depth < 2:
        choices += [[_value(rng, depth + 1) for _ in range(rng.randint(0, 3))],
                    {rng.choice(VIS_FIELDS + API2_FIELDS): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))},
                    {"url": _value(rng, depth + 1)}]
    return rng.choice(choices)


def _doc(rng: random.Random, fields: list[str]) -> dict[str, Any]:
    return {rng.choice(fields): _value(rng) for _ in range(rng.randint(0, 6))}


def _paths(client, prefix: str) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    out = []
    for path, ops in spec["paths"].items():
        if path.startswith(prefix):
            out += [(method.upper(), path) for method in ops]
    return sorted(out)


def _fill(path: str, rng: random.Random, values: list[str]) -> str:
    """Replace each {parameter} of an OpenAPI path with one of the values."""
    while "{" in path:
        before, _, rest = path.partition("{")
        _, _, after = rest.partition("}")
        path = before + rng.choice(values) + after
    return path


def test_vis_routes_never_answer_500(client, vis_headers) -> None:
    rng = random.Random(20261122)
    routes = _paths(client, "/api/")
    assert len(routes) >= 20
    event = client.post("/api/event/", json={"title": "fuzz"}, headers=vis_headers).json()["id"]
    failures = []
    for _ in range(600):
        method, path = rng.choice(routes)
        concrete = _fill(path, rng, [event, str(uuid.uuid4()), "not-a-guid", "%2e%2e", "x" * 300])
        query = {k: str(v) for k, v in _doc(rng, VIS_FIELDS + ["states", "types", "extensions", "pageIndex",
                                                               "hardDelete", "Name", "noCache"]).items()}
        kwargs: dict[str, Any] = {"params": query, "headers": vis_headers}
        if method in ("POST", "PUT", "PATCH"):
            if rng.random() < 0.15:
                kwargs["content"] = rng.choice([b"{", b"[]", b"null", b"\xff\xfe", b"1"])
                kwargs["headers"] = {**vis_headers, "Content-Type": "application/json"}
            else:
                kwargs["json"] = _doc(rng, VIS_FIELDS)
        r = client.request(method, concrete, **kwargs)
        if r.status_code >= 500 or (r.status_code >= 400 and "exceptionType" not in r.json()):
            failures.append((method, concrete, kwargs.get("json"), r.status_code, r.text[:300]))
    assert failures == []
    _assert_journal_has_no_internal_errors(client, "vuflow", at_least=600)


@pytest.mark.parametrize("seed", [1, 2])
def test_api2_routes_never_answer_500(client, seed: int) -> None:
    rng = random.Random(seed)
    routes = sorted({path for _, path in _paths(client, "/api2/")})
    assert len(routes) >= 12
    s = client.app.state.ctx.settings
    call = UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)
    failures = []
    for _ in range(400):
        path = rng.choice(routes)
        try:
            body = call(path, method=rng.choice(["GET", "POST"]), **_doc(rng, API2_FIELDS))
        except AssertionError as exc:  # the caller asserts HTTP 200
            failures.append((path, str(exc)[:300]))
            continue
        if body.get("error") not in (0, 1) or (body["error"] == 1 and not isinstance(body.get("msg"), str)):
            failures.append((path, body))
    assert failures == []
    _assert_journal_has_no_internal_errors(client, "uplynk", at_least=400)


def _assert_journal_has_no_internal_errors(client, api: str, at_least: int) -> None:
    """The journal's view of the same requests: all recorded, none an internal error."""
    assert client.get("/_lynkflow/journal/count", params={"api": api}).json()["count"] >= at_least
    bad = client.get("/_lynkflow/journal", params={"api": api, "internalError": "true", "limit": 5}).json()
    assert bad["entries"] == []


def test_nul_characters_are_refused_in_each_dialect(client, vis_headers) -> None:
    body = client.post("/api/event/", json={"title": "a\x00b"}, headers=vis_headers)
    assert body.status_code == 400 and body.json()["data"]["field"] == "title"
    query = client.get("/api/asset/", params={"name": "x\x00"}, headers=vis_headers)
    assert query.status_code == 400 and query.json()["errorType"] == "InvalidText"
    path = client.get("/api/event/ab%00cd", headers=vis_headers)
    assert path.status_code == 400 and "NUL" in path.json()["exceptionMessage"]
    s = client.app.state.ctx.settings
    answer = UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)("/api2/asset/get", external_id="a\x00")
    assert answer["error"] == 1 and "external_id contains a NUL character" in answer["msg"]


CONTROL_FIELDS = ["owner", "key", "api", "route", "method", "status", "since", "until", "limit", "offset", "count",
                  "timeout", "at", "ms", "mode", "seconds", "action", "probability", "latency", "message", "path",
                  "state", "kind", "error", "msg", "sig", "id"]


def test_control_plane_never_answers_500(client) -> None:
    rng = random.Random(5)
    routes = [r for r in _paths(client, "/_lynkflow") if r != ("GET", "/_lynkflow/snapshot")]
    assert len(routes) >= 20
    failures = []
    for _ in range(800):
        method, path = rng.choice(routes)
        concrete = _fill(path, rng, ["1", "999999", "abc", "%00", "x" * 40, "-1", "6e6f2d736c696365722d6f776e657231"])
        kwargs: dict[str, Any] = {"params": {k: str(v) for k, v in _doc(rng, CONTROL_FIELDS).items()}}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = _doc(rng, CONTROL_FIELDS) if rng.random() < 0.9 else _value(rng)
        r = client.request(method, concrete, **kwargs)
        if r.status_code >= 500:
            failures.append((method, concrete, kwargs, r.status_code, r.text[:300]))
    assert failures == []


@pytest.mark.parametrize("body", [{"seconds": 1e308}, {"ms": 10**20}, {"seconds": -10**12}])
def test_clock_refuses_to_leave_its_range(client, body: dict) -> None:
    r = client.post("/_lynkflow/clock/advance", json=body)
    assert r.status_code == 400
    assert client.post("/_lynkflow/clock/set", json={"at": 10**16}).status_code == 400
