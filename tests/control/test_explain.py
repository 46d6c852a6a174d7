"""POST /_lynkflow/uplynk/explain: why a signed call would be accepted or refused."""

from __future__ import annotations

from lynkflow.testing.signing import encode_msg, sign


def test_a_good_pair_is_explained_as_valid(client):
    s = client.app.state.ctx.settings
    msg = encode_msg({"id": "abc"}, s.uplynk_owner)
    sig = sign(msg, s.uplynk_api_key)
    report = client.post("/_lynkflow/uplynk/explain", json={"msg": msg, "sig": sig}).json()
    assert report["sig_valid"] is True and report["problems"] == []
    assert report["decoded"]["id"] == "abc" and report["owner"] == s.uplynk_owner
    assert [e["sig"] for e in report["expected"]] == [sig]


def test_every_reason_is_listed_for_a_bad_pair(client):
    s = client.app.state.ctx.settings
    msg = encode_msg({"id": "abc"}, s.uplynk_owner, timestamp=1)  # 1970: far outside the skew
    wrong = sign(msg, "some other key")
    resp = client.post("/_lynkflow/uplynk/explain", data={"msg": msg, "sig": wrong})  # a form works too
    report = resp.json()
    assert resp.status_code == 200 and report["sig_valid"] is False
    assert report["expected"][0]["sig"] == sign(msg, s.uplynk_api_key) != wrong
    assert any("_timestamp" in p for p in report["problems"])
    assert any("does not match" in p for p in report["problems"])


def test_undecodable_msg_and_missing_fields(client):
    report = client.post("/_lynkflow/uplynk/explain", json={"msg": "%%%not base64", "sig": "zz"}).json()
    assert report["decoded"] is None and len(report["problems"]) == 2
    resp = client.post("/_lynkflow/uplynk/explain", json={"msg": "abc"})
    assert resp.status_code == 400 and "msg and sig" in resp.json()["error"]
