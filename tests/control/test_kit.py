"""The testing kit, used as a downstream project would: the `lynkflow_*` pytest fixtures against a
live `lynkflow serve` on a free port (started once per session by the package's plugin).

These tests use the `reset` isolation (the default accounts, the whole instance reset per test);
test_kit_tenants.py covers the default, a fresh tenant per test."""

from __future__ import annotations

import io
import threading
import time

import httpx
import pytest
from PIL import Image

from lynkflow.fixtures.framecode import read_frame_number
from lynkflow.testing.clients import ControlError
from tests.control.conftest import await_deletes


@pytest.fixture(scope="module")
def lynkflow_isolation() -> str:
    return "reset"


def test_fixtures_point_at_a_live_server(lynkflow_server, lynkflow_control, lynkflow_uplynk, lynkflow_vis):
    assert lynkflow_server.base_url.startswith("http://127.0.0.1:")
    assert lynkflow_control.ready()
    assert lynkflow_uplynk.call("/api2/asset/list")["error"] == 0
    assert lynkflow_vis.get("/api/event/").status_code == 200
    # State left behind for the next test, which must not see it.
    lynkflow_control.add_fault(api="vuflow", action="error", route="/nothing")
    lynkflow_control.set_lifecycle("gif", "manual")
    lynkflow_control.freeze(at=1_000)


def test_state_is_reset_between_tests(lynkflow_control, lynkflow_uplynk):
    assert lynkflow_control.faults() == []
    assert lynkflow_control.lifecycles()["lifecycles"]["gif"]["mode"] == "real"
    assert lynkflow_control.clock()["frozen"] is False
    # Only this test's own request is in the journal.
    lynkflow_uplynk.call("/api2/asset/list")
    assert [e["route"] for e in lynkflow_control.journal()] == ["/api2/asset/list"]


def test_fault_rule_with_count_2_hits_exactly_twice(lynkflow_control, lynkflow_uplynk):
    lynkflow_control.add_fault(api="uplynk", route="/api2/asset/list", action="error", count=2)
    answers = [lynkflow_uplynk.call("/api2/asset/list") for _ in range(5)]
    assert [a["error"] for a in answers] == [1, 1, 0, 0, 0]
    assert lynkflow_control.faults()[0]["hits"] == 2
    hits = [e for e in lynkflow_control.journal(api="uplynk") if e["fault"]]
    assert len(hits) == 2


def test_dropped_connection_is_a_transport_error(lynkflow_control, lynkflow_vis):
    with pytest.raises(httpx.TransportError):
        lynkflow_vis.get("/api/event/", fault="drop")
    lynkflow_control.add_fault(api="vuflow", action="drop", count=1)
    with pytest.raises(httpx.TransportError):
        lynkflow_vis.get("/api/event/")
    assert lynkflow_vis.get("/api/event/").status_code == 200  # the server is fine afterwards
    assert [e["fault"]["action"] for e in lynkflow_control.journal() if e["fault"]] == ["drop", "drop"]


def test_latency_does_not_hold_up_other_requests(lynkflow_server, lynkflow_control, lynkflow_vis):
    slow: dict[str, float] = {}

    def slow_call() -> None:
        t = time.perf_counter()
        with httpx.Client(base_url=lynkflow_server.base_url) as http:
            http.get("/api/event/", headers={"API-KEY": lynkflow_server.vuflow_api_key,
                                             "X-Lynkflow-Fault": "latency=1000"})
        slow["seconds"] = time.perf_counter() - t

    worker = threading.Thread(target=slow_call)
    worker.start()
    time.sleep(0.1)  # the slow request is in flight
    t = time.perf_counter()
    assert lynkflow_vis.get("/api/event/").status_code == 200
    fast = time.perf_counter() - t
    worker.join()
    assert slow["seconds"] >= 1.0 and fast < 0.5


def test_wait_for_requests_needs_no_sleeps(lynkflow_control, lynkflow_vis):
    def later() -> None:
        time.sleep(0.2)
        for _ in range(3):
            lynkflow_vis.get("/api/vuflow/")

    worker = threading.Thread(target=later)
    worker.start()
    entries = lynkflow_control.wait_for_requests(3, route="/api/vuflow/", timeout=10)
    worker.join()
    assert len(entries) == 3 and all(e["status"] == 200 for e in entries)
    with pytest.raises(ControlError) as err:
        lynkflow_control.wait_for_requests(4, route="/api/vuflow/", timeout=0.1)
    assert err.value.status == 408


def test_explain_through_the_kit(lynkflow_control, lynkflow_uplynk):
    pair = lynkflow_uplynk.signer({"id": "x"})
    report = lynkflow_control.explain(pair["msg"], pair["sig"])
    assert report["sig_valid"] is True and report["decoded"]["id"] == "x"


@pytest.mark.slow
def test_manual_gif_is_held_in_generating_until_completed(lynkflow_control, lynkflow_vis, short_clip):
    flow = "5eed0000-0000-4000-8000-00000000c0de"
    lynkflow_control.seed({"format": 1, "vis": {"vuflows": [
        {"id": flow, "name": "kit flow", "configuration": {"storageUrlPublic": "{lynkflow}/storage/vis"}}]}})
    started = lynkflow_control.ingest(short_clip, target="vis", event_title="gif source", vuflow_id=flow)
    assert started["job"]["state"] == "done"
    lynkflow_control.set_lifecycle("gif", "manual")
    resp = lynkflow_vis.post("/api/asset/gif/", json={
        "name": "held gif", "width": 160, "fps": 10,
        "clip": {"eventId": started["visEventId"], "start": "00:00:00.400", "end": "00:00:01.400"}})
    assert resp.status_code == 200, resp.text
    asset = resp.json()
    assert asset["stateString"] == "GENERATING"
    deadline = time.monotonic() + 60
    while not (held := lynkflow_control.jobs(state="held", kind="vis.gif")):
        assert time.monotonic() < deadline, lynkflow_control.jobs(kind="vis.gif")
        time.sleep(0.05)
    job = held[0]
    assert job["progress"] == 100.0 and job["attempts"] == 1
    time.sleep(1.2)  # housekeeping passes: a manual job is never released on its own
    assert lynkflow_vis.get(f"/api/asset/{asset['id']}").json()["stateString"] == "GENERATING"
    assert lynkflow_control.job(job["id"])["state"] == "held"

    assert lynkflow_control.complete_job(job["id"])["state"] == "done"
    done = lynkflow_vis.get(f"/api/asset/{asset['id']}").json()
    assert done["stateString"] == "COMPLETED"
    # The GIF is real: 10 frames of the clip from frame 10 (0.4 s at 25 fps), 160 px wide.
    gif = Image.open(io.BytesIO(httpx.get(done["url"]).content))
    assert gif.format == "GIF" and gif.size[0] == 160 and gif.n_frames == 10
    gif.seek(0)
    assert abs(read_frame_number(gif.convert("RGB")) - 10) <= 1


@pytest.mark.slow
def test_autoexpire_and_skew_follow_an_advanced_clock(lynkflow_control, lynkflow_uplynk, short_clip):
    started = lynkflow_control.ingest(short_clip, target="uplynk", external_id="expiring")
    asset_id = started["uplynkAssetId"]
    now_ms = lynkflow_control.freeze()["nowMs"]
    assert lynkflow_uplynk.call("/api2/asset/update", id=asset_id, autoexpire=now_ms + 3_600_000)["error"] == 0
    state = lynkflow_control.advance(3601)
    # A client on real time is now an hour behind lynkflow: refused for skew.
    stale = lynkflow_uplynk.call("/api2/asset/get", id=asset_id)
    assert stale["error"] == 1 and "_timestamp" in stale["msg"]
    # On lynkflow's time, the asset has expired (the housekeeping pass runs about once a second).
    ts = state["nowMs"] // 1000
    assert await_deletes(lynkflow_uplynk, since_ms=now_ms + 1, ts=ts) == [[state["nowMs"], "delete", asset_id]]


@pytest.mark.slow
def test_snapshot_round_trip_through_the_kit(lynkflow_control, lynkflow_uplynk, lynkflow_vis, short_clip, tmp_path):
    started = lynkflow_control.ingest(short_clip, target="both", external_id="kept", desc="kept")
    before = (lynkflow_uplynk.call("/api2/asset/get", id=started["uplynkAssetId"]),
              lynkflow_vis.get(f"/api/event/{started['visEventId']}").json())
    archive = lynkflow_control.export_snapshot(tmp_path / "snap.tar.gz")
    with pytest.raises(ControlError) as err:
        lynkflow_control.import_snapshot(archive)
    assert err.value.status == 409
    lynkflow_control.reset()
    assert lynkflow_uplynk.call("/api2/asset/get", id=started["uplynkAssetId"])["error"] == 1
    lynkflow_control.import_snapshot(archive)
    after = (lynkflow_uplynk.call("/api2/asset/get", id=started["uplynkAssetId"]),
             lynkflow_vis.get(f"/api/event/{started['visEventId']}").json())
    assert after == before
    assert httpx.get(before[0]["asset"]["thumb_url"]).status_code == 200
