"""Response stubs: canned answers in each API's shape, matched on decoded params, counted, scoped."""

from __future__ import annotations

import time

import pytest

from lynkflow.testing.signing import Signer

LIVE = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def signer(client):
    s = client.app.state.ctx.settings
    return Signer(s.uplynk_owner, s.uplynk_api_key)


def add(client, **doc):
    resp = client.post("/_lynkflow/stubs", json=doc)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_an_api2_stub_answers_a_state_media_cannot_make_then_is_used_up(client, signer):
    stub = add(client, api="uplynk", route="/api2/asset/get", params={"id": LIVE}, count=1,
               body={"asset": {"id": LIVE, "state": "live"}})
    assert stub["id"].startswith("s") and stub["count"] == 1
    other = client.post("/api2/asset/get", data=signer({"id": "f" * 32})).json()
    assert other["error"] == 1  # params do not match: the real answer
    assert client.post("/api2/asset/get", data=signer({"id": LIVE})).json() == {
        "asset": {"id": LIVE, "state": "live"}, "error": 0}
    assert client.post("/api2/asset/get", data=signer({"id": LIVE})).json()["error"] == 1  # used up
    entries = client.get("/_lynkflow/journal", params={"route": "/api2/asset/get"}).json()["entries"]
    assert [e["stub"] for e in entries] == [None, stub["id"], None]
    assert entries[1]["params"]["id"] == LIVE and entries[1]["error"] == 0
    assert client.get("/_lynkflow/stubs").json()["stubs"][0]["hits"] == 1


def test_a_stub_whose_regex_backtracks_does_not_match_and_the_request_is_served(client, signer):
    stub = add(client, api="uplynk", route="/api2/asset/list", params={"search": {"regex": "(a|aa)+$"}},
               body={"assets": [], "stubbed": True})
    # With `re` this request would stall the whole process; the regex gives up and the face answers.
    served = client.post("/api2/asset/list", data=signer({"search": "a" * 60 + "!"})).json()
    assert served["error"] == 0 and "stubbed" not in served
    assert client.post("/api2/asset/list", data=signer({"search": "aaaa"})).json()["stubbed"] is True
    entries = client.get("/_lynkflow/journal", params={"route": "/api2/asset/list"}).json()["entries"]
    assert [e["stub"] for e in entries] == [None, stub["id"]]


def test_a_vis_stub_matches_body_fields_with_status_and_latency(client):
    key = {"API-KEY": client.app.state.ctx.settings.vuflow_api_key}
    add(client, api="vuflow", route="/api/asset/gif/", method="POST", status=503, latencyMs=150,
        params={"name": {"regex": "^slow"}},
        body={"exceptionType": "ServiceUnavailableException", "exceptionMessage": "busy",
              "errorType": "Busy", "data": {}})
    t = time.perf_counter()
    resp = client.post("/api/asset/gif/", json={"name": "slow one"}, headers=key)
    assert resp.status_code == 503 and resp.json()["errorType"] == "Busy"
    assert time.perf_counter() - t >= 0.15
    assert client.post("/api/asset/gif/", json={"name": "fast"}, headers=key).status_code == 400  # the real one
    # Until removed: still answering.
    assert client.post("/api/asset/gif/", json={"name": "slow two"}, headers=key).status_code == 503
    stub_id = client.get("/_lynkflow/stubs").json()["stubs"][0]["id"]
    assert client.delete(f"/_lynkflow/stubs/{stub_id}").json() == {"deleted": stub_id}
    assert client.post("/api/asset/gif/", json={"name": "slow three"}, headers=key).status_code == 400
    assert client.delete("/_lynkflow/stubs/s999").status_code == 404


def test_a_tenant_stub_answers_only_that_tenant(client):
    a, b = (client.post("/_lynkflow/tenants", json={}).json() for _ in range(2))
    add(client, api="vuflow", route="/api/event/", method="GET", tenant=a["id"], body={"results": ["stubbed"]})
    assert client.get("/api/event/", headers={"API-KEY": a["vis"]["apiKey"]}).json() == {"results": ["stubbed"]}
    assert client.get("/api/event/", headers={"API-KEY": b["vis"]["apiKey"]}).json()["results"] == []
    client.post(f"/_lynkflow/tenants/{a['id']}/reset")
    assert client.get("/_lynkflow/stubs").json()["stubs"] == []


@pytest.mark.parametrize("doc, words", [
    ({"route": "/api2/asset/get", "body": {}}, "api must be uplynk or vuflow"),
    ({"api": "uplynk", "route": "asset/get", "body": {}}, "route must be a path"),
    ({"api": "uplynk", "route": "/api2/asset/get", "body": [1]}, "must be a JSON object"),
    ({"api": "vuflow", "route": "/api/event/", "status": 99}, "status must be"),
    ({"api": "vuflow", "route": "/api/event/", "count": 0}, "count must be"),
    ({"api": "vuflow", "route": "/api/event/", "latencyMs": -1}, "latencyMs"),
    ({"api": "vuflow", "route": "/api/event/", "params": {"x": {"regex": "("}}}, "regular expression"),
    ({"api": "vuflow", "route": "/api/event/", "colour": "red"}, "unknown stub field"),
])
def test_bad_stubs_are_refused_with_a_reason(client, doc, words):
    resp = client.post("/_lynkflow/stubs", json=doc)
    assert resp.status_code == 400 and words in resp.json()["error"]
    assert client.get("/_lynkflow/stubs").json()["stubs"] == []
