"""Fault rules and the per-request fault header, through HTTP (in-process app)."""

from __future__ import annotations

import random
import time

import pytest

from lynkflow.control.faults import FaultSet
from lynkflow.control.middleware import DroppedConnection
from lynkflow.testing.signing import Signer


@pytest.fixture
def sign(client):
    s = client.app.state.ctx.settings
    return Signer(s.uplynk_owner, s.uplynk_api_key)


def test_rule_with_count_2_hits_exactly_twice_in_the_uplynk_dialect(client, sign):
    rule = client.post("/_lynkflow/faults", json={"api": "uplynk", "route": "/api2/asset/list", "action": "error",
                                                  "count": 2, "message": "Service is busy"})
    assert rule.status_code == 201
    answers = [client.post("/api2/asset/list", data=sign({})) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]  # api2 errors are HTTP 200
    assert [a.json() for a in answers[:2]] == [{"error": 1, "msg": "Service is busy"}] * 2
    assert [a.json()["error"] for a in answers[2:]] == [0, 0]
    listed = client.get("/_lynkflow/faults").json()["faults"]
    assert listed[0]["hits"] == 2 and listed[0]["count"] == 0
    faulted = client.get("/_lynkflow/journal", params={"api": "uplynk"}).json()["entries"]
    assert [bool(e["fault"]) for e in faulted] == [True, True, False, False]


def test_vis_fault_uses_the_vis_error_shape_and_route_globs(client, vis_headers):
    client.post("/_lynkflow/faults", json={"api": "vuflow", "route": "/event/*", "method": "GET",
                                           "action": "error", "status": 503})
    for path in ("/api/event/", "/event/"):
        resp = client.get(path, headers={**vis_headers, "X-Transaction-ID": "tx-7"})
        assert resp.status_code == 503
        assert resp.headers["X-Transaction-ID"] == "tx-7"  # echoed on every VIS answer, injected ones too
        body = resp.json()
        assert set(body) == {"exceptionType", "exceptionMessage", "errorType", "data"}
        assert body["exceptionType"] == "ServiceUnavailableException" and body["errorType"] == "InjectedFault"
        assert "GET" in body["exceptionMessage"]
    # Other methods and other APIs are untouched.
    assert client.get("/api/vuflow/", headers=vis_headers).status_code == 200


def test_rules_can_be_listed_deleted_and_cleared(client):
    a = client.post("/_lynkflow/faults", json={"action": "latency", "latencyMs": [1, 3]}).json()
    b = client.post("/_lynkflow/faults", json={"action": "drop", "api": "vuflow"}).json()
    assert [f["id"] for f in client.get("/_lynkflow/faults").json()["faults"]] == [a["id"], b["id"]]
    assert a["latencyMs"] == [1, 3]
    assert client.delete(f"/_lynkflow/faults/{b['id']}").status_code == 200
    assert client.delete(f"/_lynkflow/faults/{b['id']}").status_code == 404
    assert [f["id"] for f in client.get("/_lynkflow/faults").json()["faults"]] == [a["id"]]
    client.delete("/_lynkflow/faults")
    assert client.get("/_lynkflow/faults").json()["faults"] == []


@pytest.mark.parametrize("rule, words", [
    ({"action": "explode"}, "action must be one of"),
    ({"action": "error", "api": "s3"}, "api must be"),
    ({"action": "error", "probability": 0}, "probability"),
    ({"action": "error", "count": 0}, "count must be a positive"),
    ({"action": "latency"}, "needs latencyMs"),
    ({"action": "latency", "latencyMs": [50, 10]}, "min <= max"),
    ({"action": "error", "status": 99}, "HTTP status"),
    ({"action": "error", "route": "api2/asset/get"}, "route must be a path"),
    ({"action": "error", "colour": "red"}, "unknown fault rule field"),
    (["error"], "JSON object"),
])
def test_bad_rules_are_refused_with_a_reason(client, rule, words):
    resp = client.post("/_lynkflow/faults", json=rule)
    assert resp.status_code == 400
    assert words in resp.json()["error"]
    assert client.get("/_lynkflow/faults").json()["faults"] == []


def test_probability_fires_roughly_that_often(client, vis_headers):
    ctx = client.app.state.ctx
    faults = FaultSet(ctx.shared)
    faults.rng = random.Random(7)  # seeded, so the test is repeatable
    ctx.services.put(FaultSet, faults)
    faults.add({"api": "vuflow", "action": "error", "probability": 0.25})
    statuses = [client.get("/api/event/", headers=vis_headers).status_code for _ in range(400)]
    hits = statuses.count(500)
    assert 60 <= hits <= 140, hits
    assert statuses.count(200) == 400 - hits


def test_latency_rule_delays_then_serves(client, sign):
    client.post("/_lynkflow/faults", json={"api": "uplynk", "action": "latency", "latencyMs": 250, "count": 1})
    t = time.perf_counter()
    first = client.post("/api2/asset/list", data=sign({}))
    slow = time.perf_counter() - t
    t = time.perf_counter()
    client.post("/api2/asset/list", data=sign({}))
    fast = time.perf_counter() - t
    assert first.json()["error"] == 0
    assert slow >= 0.25 and fast < 0.2
    entry = client.get("/_lynkflow/journal").json()["entries"][0]
    assert entry["fault"] == {"action": "latency", "source": "rule:f1", "latencyMs": 250}
    assert entry["durationMs"] >= 250


def test_drop_rule_gives_the_client_a_connection_error(client, vis_headers):
    client.post("/_lynkflow/faults", json={"api": "vuflow", "action": "drop", "count": 1})
    with pytest.raises(DroppedConnection):
        client.get("/api/event/", headers=vis_headers)
    assert client.get("/api/event/", headers=vis_headers).status_code == 200
    entry = client.get("/_lynkflow/journal").json()["entries"][0]
    assert entry["fault"]["action"] == "drop" and entry["status"] == 0


@pytest.mark.parametrize("header, status, shape", [
    ("error", 200, "uplynk"),
    ("error=503", 503, "uplynk"),
])
def test_fault_header_on_a_signed_call_leaves_the_signature_alone(client, sign, header, status, shape):
    params = sign({})
    resp = client.post("/api2/asset/list", data=params, headers={"X-Lynkflow-Fault": header,
                                                                 "X-Lynkflow-Fault-Message": "try later"})
    assert resp.status_code == status
    assert resp.json() == {"error": 1, "msg": "try later"}
    # The very same signed pair, sent again without the header, is accepted: the header is not signed.
    ok = client.post("/api2/asset/list", data=params)
    assert ok.json()["error"] == 0


def test_fault_header_on_vis_latency_and_error(client, vis_headers):
    t = time.perf_counter()
    resp = client.get("/api/event/", headers={**vis_headers, "X-Lynkflow-Fault": "latency=150, error=429"})
    assert time.perf_counter() - t >= 0.15
    assert resp.status_code == 429 and resp.json()["exceptionType"] == "TooManyRequestsException"
    with pytest.raises(DroppedConnection):
        client.get("/api/event/", headers={**vis_headers, "X-Lynkflow-Fault": "drop"})


@pytest.mark.parametrize("header", ["boom", "error=abc", "latency=fast", "error,drop", "latency=9-1"])
def test_bad_fault_header_is_a_400_saying_why(client, vis_headers, header):
    resp = client.get("/api/event/", headers={**vis_headers, "X-Lynkflow-Fault": header})
    assert resp.status_code == 400
    assert "X-Lynkflow-Fault" in resp.json()["error"] or "x-lynkflow-fault" in resp.json()["error"]


def test_control_plane_and_files_are_never_faulted(client):
    client.post("/_lynkflow/faults", json={"action": "error"})  # every API, every route
    assert client.get("/_lynkflow/clock").status_code == 200
    assert client.get("/_lynkflow/health").status_code == 200
    assert client.get("/_lynkflow/journal").json()["entries"] == []
