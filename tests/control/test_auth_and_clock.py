"""Admin token protection and the clock routes, through HTTP."""

from __future__ import annotations

import pytest

from lynkflow.testing.signing import Signer, signed_params
from tests.conftest import wait_for, wait_housekeeping


def test_control_plane_is_open_without_a_token(client):
    assert client.get("/_lynkflow/clock").status_code == 200


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "Bearer wrong"}, 403),
    ({"X-Lynkflow-Admin-Token": "wrong"}, 403),
    ({"Authorization": "Bearer s3cret"}, 200),
    ({"X-Lynkflow-Admin-Token": "s3cret"}, 200),
])
def test_admin_token_guards_every_control_route(make_client, headers, status):
    client = make_client(admin_token="s3cret")
    for method, path in [("GET", "/_lynkflow/clock"), ("GET", "/_lynkflow/journal"), ("POST", "/_lynkflow/reset"),
                         ("GET", "/_lynkflow/faults"), ("GET", "/_lynkflow/jobs"), ("GET", "/_lynkflow/lifecycles")]:
        resp = client.request(method, path, headers=headers)
        assert resp.status_code == status, (method, path, resp.text)
        if status != 200:
            assert "admin token" in resp.json()["error"]


def test_health_and_ready_stay_open_with_a_token(make_client):
    client = make_client(admin_token="s3cret")
    assert client.get("/_lynkflow/health").status_code == 200
    assert client.get("/_lynkflow/ready").status_code == 200


def test_clock_freeze_set_advance_resume(client):
    c = client
    state = c.post("/_lynkflow/clock/freeze", json={"at": "2030-01-02T03:04:05Z"}).json()
    assert state == {"nowMs": 1893553445000, "now": "2030-01-02T03:04:05.000Z", "frozen": True, "offsetMs": None}
    assert c.get("/_lynkflow/clock").json()["nowMs"] == 1893553445000  # frozen: does not move
    assert c.post("/_lynkflow/clock/advance", json={"seconds": 90}).json()["nowMs"] == 1893553535000
    assert c.post("/_lynkflow/clock/advance", json={"ms": 5}).json()["nowMs"] == 1893553535005
    assert c.post("/_lynkflow/clock/set", json={"at": 1700000000000}).json()["nowMs"] == 1700000000000
    resumed = c.post("/_lynkflow/clock/resume").json()
    assert resumed["frozen"] is False
    assert 1700000000000 <= resumed["nowMs"] < 1700000000000 + 5000
    assert c.post("/_lynkflow/clock/reset").json()["offsetMs"] == 0


def test_clock_rejects_bad_instants(client):
    resp = client.post("/_lynkflow/clock/set", json={"at": "next tuesday"})
    assert resp.status_code == 400
    assert "ISO-8601" in resp.json()["error"]
    resp = client.post("/_lynkflow/clock/advance", json={"seconds": "soon"})
    assert resp.status_code == 422
    assert "seconds" in resp.json()["error"]


def _asset(ctx, owner: str, external_id: str) -> str:
    from lynkflow.domain.uplynk_assets import create_asset

    with ctx.session() as db:
        return create_asset(db, ctx, owner_id=owner, media_id=None, external_id=external_id, desc="clocked").id


def test_skew_created_lastmod_changes_and_autoexpire_follow_the_clock(make_client):
    """With the clock moved to 2031: a real-time `_timestamp` is stale, one from the lynkflow clock
    is fine; created/lastmod/changes carry lynkflow time; autoexpire fires when the clock passes it."""
    client = make_client(inproc_workers=1, housekeeping_interval=0.02)  # housekeeping runs autoexpire
    ctx = client.app.state.ctx
    s = ctx.settings
    t0 = 1938038400000  # 2031-06-01T00:00:00Z
    client.post("/_lynkflow/clock/freeze", json={"at": "2031-06-01T00:00:00Z"})

    signer = Signer(s.uplynk_owner, s.uplynk_api_key)

    def call(path: str, at_ms: int, **params):
        return client.post(path, data=signer(params, at_ms // 1000)).json()

    stale = client.post("/api2/asset/list", data=signed_params({}, s.uplynk_owner, s.uplynk_api_key)).json()
    assert stale["error"] == 1 and "_timestamp" in stale["msg"]
    asset_id = _asset(ctx, s.uplynk_owner, "clocked-1")
    got = call("/api2/asset/get", t0, id=asset_id)
    assert got["error"] == 0 and got["asset"]["created"] == t0 == got["asset"]["lastmod"]

    client.post("/_lynkflow/clock/advance", json={"seconds": 30})
    updated = call("/api2/asset/update", t0 + 30_000, id=asset_id, autoexpire=(t0 + 90_000))
    assert updated["error"] == 0, updated
    assert call("/api2/asset/get", t0 + 30_000, id=asset_id)["asset"]["lastmod"] == t0 + 30_000
    changes = call("/api2/asset/changes", t0 + 30_000, start=t0 + 1, end=t0 + 60_000)
    assert changes["changes"] == [[t0 + 30_000, "update", asset_id]]

    client.post("/_lynkflow/clock/advance", json={"seconds": 30})  # t0+60 s: not yet due
    wait_housekeeping(ctx.workers)
    assert call("/api2/asset/get", t0 + 60_000, id=asset_id)["asset"]["id"] == asset_id
    client.post("/_lynkflow/clock/advance", json={"seconds": 31})  # t0+91 s: past autoexpire

    def expired():
        answer = call("/api2/asset/get", t0 + 91_000, id=asset_id)
        return answer.get("error") == 1 or answer.get("asset", {}).get("state") == "deleted"

    wait_for(expired, timeout=10)
    deletes = call("/api2/asset/changes", t0 + 91_000, start=t0 + 60_001, end=t0 + 200_000)["changes"]
    assert deletes == [[t0 + 91_000, "delete", asset_id]]  # stamped with the lynkflow clock
