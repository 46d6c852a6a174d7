"""The kit's default: a fresh tenant per test on one live server, as parallel test runs use it."""

from __future__ import annotations

import time

import httpx
import pytest

from lynkflow.testing.clients import ControlClient, UplynkClient, VisClient
from tests.control.conftest import await_deletes


def test_the_fixtures_are_the_tenants_credentials(lynkflow_server, lynkflow_tenant, lynkflow_control,
                                                  lynkflow_uplynk, lynkflow_vis):
    assert lynkflow_tenant.id and lynkflow_control.tenant == lynkflow_tenant.id
    assert lynkflow_uplynk.owner == lynkflow_tenant.uplynk_owner != lynkflow_server.uplynk_owner
    assert lynkflow_vis.api_key == lynkflow_tenant.vis_api_key != lynkflow_server.vuflow_api_key
    assert lynkflow_uplynk.call("/api2/asset/list") == {"assets": [], "total": 0, "error": 0} or \
        lynkflow_uplynk.call("/api2/asset/list")["assets"] == []
    flows = lynkflow_vis.get("/api/vuflow/").json()
    assert [f["id"] for f in flows] == [lynkflow_tenant.vuflow_id]
    # State left behind must not reach any other test: the tenant is deleted afterwards.
    lynkflow_control.add_fault(route="/api2/asset/list", action="error")
    lynkflow_control.freeze(at=1_000_000)


def test_a_neighbour_tenant_sees_nothing_of_this_one(lynkflow_server, lynkflow_control, lynkflow_uplynk,
                                                     lynkflow_vis):
    admin = ControlClient(lynkflow_server.base_url)
    other = admin.create_tenant("neighbour")
    try:
        neighbour = ControlClient(lynkflow_server.base_url, tenant=other["id"])
        n_vis = VisClient(lynkflow_server.base_url, other["vis"]["apiKey"])
        n_api2 = UplynkClient(lynkflow_server.base_url, other["uplynk"]["owner"], other["uplynk"]["apiKey"])
        neighbour.freeze(at="2020-01-01T00:00:00Z")
        neighbour.add_fault(route="/api/event/*", action="error", status=503)
        assert n_vis.get("/api/event/").status_code == 503
        assert lynkflow_vis.get("/api/event/").status_code == 200
        assert lynkflow_control.clock()["frozen"] is False
        assert lynkflow_control.faults() == []
        stale = n_api2.call("/api2/asset/list")  # signed with real time: years ahead of its clock
        assert stale["error"] == 1 and "in the future" in stale["msg"]
        assert lynkflow_uplynk.call("/api2/asset/list")["error"] == 0
        assert [e["route"] for e in lynkflow_control.journal()] == ["/api/event/", "/api2/asset/list"]
        for c in (neighbour, n_vis, n_api2):
            c.close()
    finally:
        admin.delete_tenant(other["id"])
        admin.close()


def test_assert_called_passes_and_explains_a_miss(lynkflow_control, lynkflow_uplynk):
    lynkflow_uplynk.call("/api2/asset/get", id="0" * 32)
    matched = lynkflow_control.assert_called("/api2/asset/get", params={"id": "0" * 32}, times=1)
    assert matched[0]["error"] == 1 and "not found" in matched[0]["msg"]
    lynkflow_control.assert_called("/api2/asset/*", at_least=1, signature="valid")
    with pytest.raises(AssertionError) as err:
        lynkflow_control.assert_called("/api2/asset/get", params={"id": "1" * 32})
    assert "found 0" in str(err.value) and f"id is '{'0' * 32}'" in str(err.value)


@pytest.mark.slow
def test_a_tenant_holds_its_gifs_and_only_its_own(lynkflow_server, lynkflow_control, lynkflow_vis, short_clip):
    started = lynkflow_control.ingest(short_clip, target="vis", event_title="gif source")
    assert started["job"]["state"] == "done"
    lynkflow_control.set_lifecycle("gif", "manual")
    gif = {"name": "held", "width": 160, "fps": 10,
           "clip": {"eventId": started["visEventId"], "start": "00:00:00.400", "end": "00:00:01.400"}}
    held = lynkflow_vis.post("/api/asset/gif/", json=gif).json()
    assert held["stateString"] == "GENERATING"
    deadline = time.monotonic() + 60
    while not (jobs := lynkflow_control.jobs(state="held", kind="vis.gif")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # Another tenant's GIF from its own event runs to the end meanwhile.
    admin = ControlClient(lynkflow_server.base_url)
    other = admin.create_tenant()
    try:
        neighbour = ControlClient(lynkflow_server.base_url, tenant=other["id"])
        n_vis = VisClient(lynkflow_server.base_url, other["vis"]["apiKey"])
        source = neighbour.ingest(short_clip, target="vis", event_title="neighbour")
        made = n_vis.post("/api/asset/gif/", json={**gif, "clip": {**gif["clip"], "eventId": source["visEventId"]}})
        deadline = time.monotonic() + 60
        while (state := n_vis.get(f"/api/asset/{made.json()['id']}").json()["stateString"]) != "COMPLETED":
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        url = n_vis.get(f"/api/asset/{made.json()['id']}").json()["url"]
        assert httpx.get(url).content[:6] in (b"GIF89a", b"GIF87a")  # its default vuflow gives a real URL
        neighbour.close()
        n_vis.close()
    finally:
        admin.delete_tenant(other["id"])
        admin.close()
    assert lynkflow_vis.get(f"/api/asset/{held['id']}").json()["stateString"] == "GENERATING"
    lynkflow_control.complete_job(jobs[0]["id"])
    assert lynkflow_vis.get(f"/api/asset/{held['id']}").json()["stateString"] == "COMPLETED"


@pytest.mark.slow
def test_autoexpire_follows_the_tenants_own_clock(lynkflow_control, lynkflow_uplynk, short_clip):
    started = lynkflow_control.ingest(short_clip, target="uplynk", external_id="expiring")
    asset_id = started["uplynkAssetId"]
    now_ms = lynkflow_control.freeze()["nowMs"]
    ts = now_ms // 1000
    assert lynkflow_uplynk.call("/api2/asset/update", id=asset_id, autoexpire=now_ms + 3_600_000,
                                _timestamp=ts)["error"] == 0
    state = lynkflow_control.advance(3601)
    ts = state["nowMs"] // 1000
    assert await_deletes(lynkflow_uplynk, since_ms=now_ms + 1, ts=ts) == [[state["nowMs"], "delete", asset_id]]


def test_a_stub_through_the_kit_is_the_tenants_alone(lynkflow_server, lynkflow_control, lynkflow_uplynk):
    stuck = {"job": {"id": "j" * 32, "state": "slicing", "progress": 37}}
    lynkflow_control.add_stub("uplynk", "/api2/cloudslicer/jobs/get", stuck, params={"id": "j" * 32})
    assert lynkflow_uplynk.call("/api2/cloudslicer/jobs/get", id="j" * 32) == {**stuck, "error": 0}
    assert [s["route"] for s in lynkflow_control.stubs()] == ["/api2/cloudslicer/jobs/get"]
    lynkflow_control.assert_called("/api2/cloudslicer/jobs/get", times=1)
    admin = ControlClient(lynkflow_server.base_url)
    other = admin.create_tenant()
    try:
        n_api2 = UplynkClient(lynkflow_server.base_url, other["uplynk"]["owner"], other["uplynk"]["apiKey"])
        assert n_api2.call("/api2/cloudslicer/jobs/get", id="j" * 32)["error"] == 1
        n_api2.close()
    finally:
        admin.delete_tenant(other["id"])
        admin.close()
    lynkflow_control.clear_stubs()
    assert lynkflow_control.stubs() == []
