"""POST /_lynkflow/journal/verify, and the journal's signature verdict for each refusal reason."""

from __future__ import annotations

import time

import pytest

from lynkflow.testing.signing import Signer, encode_msg, sign


@pytest.fixture
def creds(client):
    s = client.app.state.ctx.settings
    return s.uplynk_owner, s.uplynk_api_key


def verify(client, **doc):
    resp = client.post("/_lynkflow/journal/verify", json=doc)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_verify_matches_decoded_params_by_equality_contains_and_regex(client, creds):
    signer = Signer(*creds)
    client.post("/api2/asset/get", data=signer({"id": "a" * 32}))
    client.post("/api2/asset/list", data=signer({"search": "holiday bars", "limit": 5}))
    client.post("/api/vuflow/?verbose=1", json={"name": "flow one", "configurationJson": "{}"},
                headers={"API-KEY": client.app.state.ctx.settings.vuflow_api_key})
    assert verify(client, route="/api2/asset/get", params={"id": "a" * 32}, count={"exactly": 1})["ok"]
    assert verify(client, route="/api2/asset/list", params={"search": {"contains": "bars"}, "limit": 5})["ok"]
    assert verify(client, route="/api2/*", params={"id": {"regex": "^a{32}$"}})["count"] == 1
    vis = verify(client, api="vuflow", method="post", params={"name": {"regex": "^flow"}, "verbose": "1"})
    assert vis["ok"] and vis["matched"][0]["body"]["name"] == "flow one"
    assert verify(client, route="/api2/asset/get", count={"exactly": 0})["ok"] is False
    assert verify(client, route="/api2/asset/delete", count={"exactly": 0})["ok"] is True


def test_a_miss_names_the_closest_entries_and_what_differed(client, creds):
    signer = Signer(*creds)
    client.post("/api2/asset/get", data=signer({"id": "abc"}))
    client.post("/api2/asset/list", data=signer({}))
    result = verify(client, route="/api2/asset/get", params={"id": "abd"}, count={"exactly": 1})
    assert not result["ok"] and result["count"] == 0 and result["expected"] == {"exactly": 1}
    nearest = result["closest"][0]
    assert nearest["route"] == "/api2/asset/get" and nearest["mismatches"] == ["id is 'abc', wanted equals 'abd'"]
    assert "was not sent" in result["closest"][1]["mismatches"][-1]


def test_verify_counts_at_least_and_signature_verdicts(client, creds):
    signer = Signer(*creds)
    for _ in range(3):
        client.post("/api2/asset/list", data=signer({}))
    assert verify(client, route="/api2/asset/list", count={"at_least": 3}, signature="valid")["ok"]
    assert not verify(client, route="/api2/asset/list", count={"at_least": 4})["ok"]


@pytest.mark.parametrize("doc, words", [
    ({"count": {"about": 2}}, "count must be"),
    ({"count": {"exactly": -1}}, "whole number"),
    ({"params": {"id": {"regex": "("}}}, "not a valid regular expression"),
    ({"params": ["id"]}, "params must be an object"),
    ({"colour": "red"}, "unknown field"),
    ({"api": "ftp"}, "api must be one of"),
])
def test_bad_verifications_are_refused_with_a_reason(client, doc, words):
    resp = client.post("/_lynkflow/journal/verify", json=doc)
    assert resp.status_code == 400 and words in resp.json()["error"]


# Backtracks exponentially on a run of a's that does not end the subject: with `re` this verification
# would hold the GIL for hours (fib(60) steps). It must come back as a 400 that says why.
BACKTRACKING = "(a|aa)+$"
NO_MATCH = "a" * 60 + "!"


def test_a_backtracking_regex_is_refused_with_a_reason_and_the_others_still_verify(client, creds):
    signer = Signer(*creds)
    client.post("/api2/asset/list", data=signer({"search": NO_MATCH}))
    resp = client.post("/_lynkflow/journal/verify", json={"params": {"search": {"regex": BACKTRACKING}}})
    assert resp.status_code == 400, resp.text
    assert "search.regex" in resp.json()["error"] and "backtracks too much" in resp.json()["error"]
    # The same pattern on text it decides at once, and a sound pattern on the same text, still verify.
    client.post("/api2/asset/list", data=signer({"search": "aaaa"}))
    assert verify(client, params={"search": {"regex": "^a+!$"}})["count"] == 1
    assert client.get("/_lynkflow/health").status_code == 200


def test_a_regex_longer_than_the_limit_is_refused(client):
    resp = client.post("/_lynkflow/journal/verify", json={"params": {"id": {"regex": "a" * 1001}}})
    assert resp.status_code == 400 and "1001 characters long; at most 1000" in resp.json()["error"]
    assert client.post("/_lynkflow/journal/verify", json={"params": {"id": {"regex": "a" * 1000}}}).status_code == 200


def _last(client):
    return client.get("/_lynkflow/journal", params={"api": "uplynk"}).json()["entries"][-1]


def test_every_refusal_reason_has_its_own_verdict(client, creds):
    owner, key = creds
    now = int(time.time())

    def send(data):
        client.post("/api2/asset/list", data=data)
        return _last(client)

    def signed(doc_ts=None, **extra):
        msg = encode_msg(extra, owner, now if doc_ts is None else doc_ts)
        return msg, sign(msg, key)

    msg, sig = signed()
    cases = {
        "valid": {"msg": msg, "sig": sig},
        "replayed": {"msg": msg, "sig": sig},
        "missing-msg": {"sig": sig},
        "missing-sig": {"msg": signed(x=1)[0]},
        "bad-msg": {"msg": "%%%", "sig": sig},
        "stale-timestamp": dict(zip(("msg", "sig"), signed(now - 3600), strict=True)),
        "future-timestamp": dict(zip(("msg", "sig"), signed(now + 3600), strict=True)),
        "bad-signature": {"msg": signed(y=1)[0], "sig": sign(signed(y=1)[0], "not-the-key")},
    }
    for verdict, data in cases.items():
        entry = send(data)
        assert entry["signature"] == verdict, (verdict, entry)
        assert entry["error"] == (0 if verdict == "valid" else 1) and (verdict == "valid") == ("msg" not in entry)
    unknown = encode_msg({}, "f" * 32, now)
    assert send({"msg": unknown, "sig": sign(unknown, key)})["signature"] == "unknown-owner"
    import base64
    import json
    import zlib

    def raw(doc):
        m = base64.b64encode(zlib.compress(json.dumps(doc).encode())).decode()
        return {"msg": m, "sig": sign(m, key)}

    assert send(raw({"_timestamp": now}))["signature"] == "missing-owner"
    assert send(raw({"_owner": owner}))["signature"] == "missing-timestamp"
    assert send(raw({"_owner": owner, "_timestamp": "soon"}))["signature"] == "bad-timestamp"
