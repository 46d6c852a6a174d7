"""api2 calls skip FastAPI's router and middleware (app/direct.py); every answer is the one the
full stack gives, byte for byte, and what the direct path does not serve still goes the full way."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lynkflow import direct, limits
from lynkflow.testing.signing import sign


def _bad_json_msg(api: Any) -> dict[str, str]:
    msg = base64.b64encode(zlib.compress(b"[1, 2]")).decode()
    return {"msg": msg, "sig": sign(msg, api.http.app.state.ctx.settings.uplynk_api_key)}


# Each case sends one request: (method, path, keyword arguments for the client); signed afresh each time.
CASES: dict[str, Callable[[Any, str], tuple[str, str, dict[str, Any]]]] = {
    "asset/get POST": lambda api, aid: ("POST", "/api2/asset/get", {"data": api.pair({"id": aid})}),
    "asset/get GET": lambda api, aid: ("GET", "/api2/asset/get", {"params": api.pair({"id": aid})}),
    "trailing slash": lambda api, aid: ("POST", "/api2/asset/get/", {"data": api.pair({"id": aid})}),
    "multipart": lambda api, aid: ("POST", "/api2/asset/get", {"files": {k: (None, v) for k, v in
                                                                          api.pair({"id": aid}).items()}}),
    "asset/list": lambda api, aid: ("POST", "/api2/asset/list", {"data": api.pair({"search": "nothing"})}),
    "not found": lambda api, aid: ("POST", "/api2/asset/get", {"data": api.pair({"id": "0" * 32})}),
    "bad signature": lambda api, aid: ("POST", "/api2/asset/get", {"data": {"msg": "eJyrrgUAAXUA+Q==",
                                                                            "sig": "0" * 64}}),
    "not an object": lambda api, aid: ("POST", "/api2/asset/get", {"data": _bad_json_msg(api)}),
    "no msg": lambda api, aid: ("GET", "/api2/asset/get", {}),
    "body too large": lambda api, aid: ("POST", "/api2/asset/get", {
        "content": b"x" * (limits.API2_MAX_BODY_BYTES + 1),
        "headers": {"content-type": "application/x-www-form-urlencoded"}}),
    "nested json": lambda api, aid: ("POST", "/api2/asset/get", {
        "content": b"[" * (limits.MAX_JSON_DEPTH + 5), "headers": {"content-type": "application/json"}}),
    "HEAD": lambda api, aid: ("HEAD", "/api2/asset/get", {"params": api.pair({"id": aid})}),
    "PUT": lambda api, aid: ("PUT", "/api2/asset/get", {}),
    "unknown operation": lambda api, aid: ("POST", "/api2/no/such", {"data": api.pair({"id": aid})}),
}


def _answer(client: TestClient, request: tuple[str, str, dict[str, Any]]) -> tuple[int, list[tuple[str, str]], bytes]:
    method, path, kw = request
    r = client.request(method, path, **kw)
    return r.status_code, sorted(r.headers.items()), r.content


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_direct_path_answers_as_the_full_stack(api, client, asset_factory, monkeypatch, case: str) -> None:
    aid = asset_factory(desc="direct")
    served: list[str] = []
    route_function = direct.api2

    async def counted(request: Any) -> Any:
        served.append(request.url.path)
        return await route_function(request)

    monkeypatch.setattr(direct, "api2", counted)
    fast = _answer(client, CASES[case](api, aid))
    took_direct = bool(served)
    monkeypatch.setattr(direct, "ENDPOINTS", {})  # every call the full way
    full = _answer(client, CASES[case](api, aid))
    assert len(served) == took_direct  # the full stack calls the route's own function, not this one
    assert fast == full
    # The full way: what the direct path does not serve; refused by the body limit before any route.
    assert took_direct == (case not in ("HEAD", "PUT", "unknown operation", "body too large", "nested json"))
    if case.startswith("asset/get"):
        assert json.loads(fast[2])["asset"]["desc"] == "direct"


def test_the_journal_is_the_same_on_the_direct_path(api, client, asset_factory, monkeypatch) -> None:
    aid = asset_factory()
    api.ok("asset/get", id=aid)
    monkeypatch.setattr(direct, "ENDPOINTS", {})
    api.ok("asset/get", id=aid)
    entries = client.get("/_lynkflow/journal", params={"api": "uplynk"}).json()["entries"]
    drop = ("time", "durationMs", "params", "query", "id", "seq")
    fast, full = ({k: v for k, v in e.items() if k not in drop} for e in entries[-2:])
    assert fast == full and fast["signature"] == "valid" and fast["error"] == 0


def test_a_bug_escaping_the_endpoint_is_a_plain_500(make_client, api, monkeypatch) -> None:
    async def broken(_request: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(direct, "api2", broken)
    quiet = TestClient(api.http.app, raise_server_exceptions=False)
    r = quiet.post("/api2/asset/get", data=api.pair({"id": "x"}))
    assert r.status_code == 500 and r.text == "Internal Server Error"
    with pytest.raises(RuntimeError, match="boom"):  # re-raised for the server's log
        api.http.post("/api2/asset/get", data=api.pair({"id": "x"}))



def test_answers_are_encoded_as_jsonresponse_would(client, api, asset_factory) -> None:
    """api2 answers (`dispatch.Api2Response`, the encoder made once) are the bytes FastAPI's JSONResponse
    gives the same document: UTF-8 rather than \\u escapes, Python's number formats, no whitespace."""
    from fastapi.responses import JSONResponse

    aid = asset_factory(desc="Café ☕ \u2028 \"q\" </script>", meta={"city": "Zürich", "n": 2**62, "x": 1e16},
                        duration=1e-7)
    for op, params in (("asset/get", {"id": aid}), ("asset/list", {"search": "Café"})):
        resp = client.post(f"/api2/{op}", data=api.pair(params))
        assert resp.status_code == 200 and resp.json()["error"] == 0, resp.text
        assert resp.content == JSONResponse(resp.json()).body
    assert "☕".encode() in resp.content and b"1e+16" in resp.content and b"1e-07" in resp.content
