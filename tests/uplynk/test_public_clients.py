"""api2 calls as public clients write them: a trailing slash on the path (PHP clients), an `end` on
asset/changes (a Node client's own test), channel/list (Java and Python clients' own tests)."""

from __future__ import annotations

import pytest

from tests.conftest import UplynkCaller


def _signed(api: UplynkCaller, path: str, method: str, **params) -> dict:
    data = api.pair(params)
    resp = api.http.get(path, params=data) if method == "GET" else api.http.post(path, data=data)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_trailing_slash_is_the_same_operation(api, asset_factory, method: str) -> None:
    mine = asset_factory(desc="slashed")
    listed = _signed(api, "/api2/asset/list/", method)
    assert listed["error"] == 0 and "msg" not in listed, listed
    assert [a["id"] for a in listed["assets"]] == [mine]
    got = _signed(api, "/api2/asset/get//", method, id=mine)
    assert got["error"] == 0 and got["asset"]["desc"] == "slashed"
    # Still a signed call: the slash changes nothing about authentication.
    forged = api.http.post("/api2/asset/list/", data={**api.pair({}), "sig": "0" * 64}).json()
    assert forged["error"] == 1 and "msg" in forged
    # An operation lynkflow does not have is still named as unknown, slash or not.
    unknown = _signed(api, "/api2/asset/nothing/", method)
    assert unknown["error"] == 1 and "unknown api2 endpoint" in unknown["msg"]


def test_the_journal_and_faults_see_the_canonical_route(client, api, asset_factory) -> None:
    asset_factory(desc="x")
    rule = client.post("/_lynkflow/faults", json={"api": "uplynk", "route": "/api2/asset/list", "count": 1,
                                                  "action": "error", "message": "injected"})
    assert rule.status_code == 201, rule.text
    assert _signed(api, "/api2/asset/list/", "POST") == {"error": 1, "msg": "injected"}
    assert _signed(api, "/api2/asset/list/", "POST")["error"] == 0
    entries = client.get("/_lynkflow/journal", params={"route": "/api2/asset/list"}).json()["entries"]
    assert len(entries) == 2


def test_asset_changes_ignores_an_undocumented_end(api, asset_factory) -> None:
    ctx = api.ctx
    start = ctx.clock.now_ms()
    ctx.clock.freeze(start)
    a = asset_factory(desc="first")
    ctx.clock.advance(5)
    b = asset_factory(desc="second")
    ctx.clock.advance(5)
    # A client sending start and an `end` before the second change still gets every change since start.
    out = api.ok("asset/changes", start=start, end=start + 1)
    assert [(c[1], c[2]) for c in out["changes"]] == [("update", a), ("update", b)]
    assert out["end"] == start + 10
    assert api.ok("asset/changes", start=start, end="not a number")["changes"]  # ignored, not parsed


def test_channel_list_is_an_empty_signed_list(client, api) -> None:
    for method in ("GET", "POST"):
        assert api("channel/list", method=method) == {"channels": [], "error": 0}
    assert api("channel/list", limit=10) == {"channels": [], "error": 0}
    unsigned = client.post("/api2/channel/list", data={"msg": api.pair({})["msg"], "sig": "0" * 64}).json()
    assert unsigned["error"] == 1 and unsigned["msg"]
    # Other channel operations are not emulated: the usual unknown-endpoint answer.
    assert "unknown api2 endpoint" in api.err("channel/get", id="a" * 32)
