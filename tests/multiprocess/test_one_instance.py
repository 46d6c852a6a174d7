"""Many processes are one lynkflow: two `lynkflow serve` (no in-process workers) and two
`lynkflow worker`, as real subprocesses on one database, checked through HTTP on both API processes.

On PostgreSQL (the documented multi-process deployment) they share a schema of their own in the
test database; on SQLite they share one database file on this host.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from lynkflow.testing.clients import ControlClient, UplynkClient, VisClient
from lynkflow.testing.server import LynkflowServer
from lynkflow.testing.signing import Signer
from tests.conftest import BACKEND, postgres_schema_url

SCHEMA = "lynkflow_multi"
FLOW = "5eed0000-0000-4000-8000-00000000f10e"


class Instance:
    """Two API processes (a, b) and two workers on one database and one data dir."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.env = {"LYNKFLOW_DATABASE_URL": database_url, "LYNKFLOW_INPROC_WORKERS": "0",
                    "LYNKFLOW_JOB_LEASE": "10"}
        self.a = LynkflowServer(self.data_dir, env=self.env, name="api-a")
        self.b = LynkflowServer(self.data_dir, env=self.env, name="api-b")
        self.workers: list[subprocess.Popen[bytes]] = []
        self._signer = Signer(self.a.uplynk_owner, self.a.uplynk_api_key)

    def start(self) -> None:
        self.a.start()
        self.b.start()
        child_env = self.a.child_env()
        for i in range(2):
            log = (self.root / f"worker-{i}.log").open("wb")
            self.workers.append(subprocess.Popen([sys.executable, "-m", "lynkflow.cli", "worker"], env=child_env,
                                                 stdout=log, stderr=subprocess.STDOUT))
            log.close()

    def stop(self) -> None:
        for proc in self.workers:
            proc.terminate()
        for proc in self.workers:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.a.stop()
        self.b.stop()

    def control(self, server: LynkflowServer) -> ControlClient:
        return ControlClient(server.base_url)

    def uplynk(self, server: LynkflowServer) -> UplynkClient:
        client = UplynkClient(server.base_url, server.uplynk_owner, server.uplynk_api_key)
        # One signer for every client of the default key: two signers would make the same msg in
        # the same second, which any process now refuses as a replay.
        client.signer = self._signer
        return client

    def vis(self, server: LynkflowServer) -> VisClient:
        return VisClient(server.base_url, server.vuflow_api_key)


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory, db_url: str) -> Iterator[Instance]:
    """Depends on db_url so these tests also run in the PostgreSQL pass (in a schema of their own)."""
    root = tmp_path_factory.mktemp("multi")
    url = postgres_schema_url(SCHEMA) if BACKEND == "postgres" else f"sqlite:///{root / 'shared.db'}"
    inst = Instance(root, url)
    inst.start()
    try:
        yield inst
    finally:
        inst.stop()


@pytest.fixture
def a_b(instance: Instance) -> Iterator[tuple[ControlClient, ControlClient]]:
    a, b = instance.control(instance.a), instance.control(instance.b)
    a.reset()
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _wait(predicate, timeout: float = 30.0, what: str = "condition"):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_clock_frozen_on_a_is_frozen_on_b(a_b) -> None:
    a, b = a_b
    frozen = a.freeze(at="2030-01-02T03:04:05Z")
    assert b.clock() == frozen and frozen["frozen"] is True
    a.advance(60)
    assert b.clock()["nowMs"] == frozen["nowMs"] + 60_000
    b.resume()
    assert a.clock()["frozen"] is False


def test_a_count_1_fault_fires_once_across_both_processes(instance, a_b) -> None:
    a, _ = a_b
    a.add_fault(api="uplynk", route="/api2/asset/list", action="error", count=1, message="once only")
    clients = [instance.uplynk(instance.a), instance.uplynk(instance.b)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: clients[i % 2].call("/api2/asset/list"), range(20)))
    assert sorted(x["error"] for x in answers) == [0] * 19 + [1], [x for x in answers if x["error"]]
    assert [x["msg"] for x in answers if x["error"]] == ["once only"]
    assert a.faults()[0]["hits"] == 1 and a.faults()[0]["count"] == 0


def test_a_request_served_by_a_is_refused_as_a_replay_by_b(instance, a_b) -> None:
    up_a = instance.uplynk(instance.a)
    pair = up_a.signer({"limit": 1})
    first = httpx.post(f"{instance.a.base_url}/api2/asset/list", data=pair).json()
    again = httpx.post(f"{instance.b.base_url}/api2/asset/list", data=pair).json()
    assert first["error"] == 0 and again["error"] == 1 and "replayed" in again["msg"]


def test_the_journal_of_a_shows_what_b_served(instance, a_b) -> None:
    a, _ = a_b
    vis_b = instance.vis(instance.b)
    for _ in range(3):
        assert vis_b.get("/api/event/").status_code == 200
    instance.uplynk(instance.b).call("/api2/asset/list")
    seen = a.wait_for_requests(4, timeout=5)
    assert [e["route"] for e in seen] == ["/api/event/"] * 3 + ["/api2/asset/list"]
    assert a.journal_count(api="vuflow") == 3


def test_a_key_added_through_a_signs_on_b_and_a_disabled_one_stops_at_once(instance, a_b) -> None:
    up_a, up_b = instance.uplynk(instance.a), instance.uplynk(instance.b)
    added = up_a.call("/api2/owners/api-key/add")
    assert added["error"] == 0, added
    fresh_b = UplynkClient(instance.b.base_url, instance.b.uplynk_owner, added["new_api_key"])
    assert fresh_b.call("/api2/asset/list")["error"] == 0  # B has never seen this key
    # Disabling it through A refuses it on B at once (B had it cached a moment ago).
    toggled = up_a.call("/api2/owners/api-key/toggle", key_to_toggle=added["new_key_id"], is_enabled=0)
    assert toggled["error"] == 0, toggled
    refused = fresh_b.call("/api2/asset/list")
    assert refused["error"] == 1 and "sig" in refused["msg"].lower()
    assert up_b.call("/api2/asset/list")["error"] == 0


def test_a_vis_list_on_a_shows_at_once_what_b_or_another_process_committed(instance, a_b) -> None:
    """A keeps list answers while nothing is committed (kept_answers.py): a commit by B or straight
    into the database from this process is in A's very next list."""
    import sqlalchemy as sa

    from lynkflow.db.engine import make_engine
    from lynkflow.db.models import VisAsset

    vis_a, vis_b = instance.vis(instance.a), instance.vis(instance.b)

    def on_a(path: str) -> list[dict]:
        vis_a.get(path)  # asked twice: the second may be the kept answer
        answer = vis_a.get(path).json()
        return answer["results"] if isinstance(answer, dict) else answer

    assert on_a("/api/event/") == []
    event = vis_b.post("/api/event/", json={"title": "made on b"}).json()
    assert [e["title"] for e in on_a("/api/event/")] == ["made on b"]
    assert vis_b.request("PATCH", f"/api/event/{event['id']}", json={"title": "renamed on b"}).status_code == 200
    assert [e["title"] for e in on_a("/api/event/")] == ["renamed on b"]

    assert on_a("/api/asset/") == []
    engine = make_engine(instance.env["LYNKFLOW_DATABASE_URL"])
    try:
        row = {"id": "5eed0000-0000-4000-8000-0000000a55e7", "event_id": event["id"], "api_key": vis_a.api_key,
               "name": "from outside", "path": f"{event['contentId']}/assets/x.gif", "extension": "gif", "state": 1,
               "type": 3, "content_id": event["contentId"], "params": {}, "created": 1, "modified": 1}
        with engine.begin() as conn:
            conn.execute(sa.insert(VisAsset).values(**row))
        assert [a["name"] for a in on_a("/api/asset/")] == ["from outside"]
        with engine.begin() as conn:
            conn.execute(sa.update(VisAsset).where(VisAsset.id == row["id"]).values(state=2))
        assert [a["stateString"] for a in on_a("/api/asset/")] == ["FAILED"]
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_manual_lifecycle_set_on_a_holds_a_gif_made_by_a_worker_and_b_releases_it(instance, a_b, short_clip):
    a, b = a_b
    a.seed({"format": 1, "vis": {"vuflows": [
        {"id": FLOW, "name": "multi flow", "configuration": {"storageUrlPublic": "{lynkflow}/storage/vis"}}]}})
    started = a.ingest(short_clip, target="vis", event_title="multi source", vuflow_id=FLOW)
    assert started["job"]["state"] == "done", started
    a.set_lifecycle("gif", "manual")
    vis_b = instance.vis(instance.b)
    asset = vis_b.post("/api/asset/gif/", json={
        "name": "held", "width": 160, "fps": 10,
        "clip": {"eventId": started["visEventId"], "start": "00:00:00.400", "end": "00:00:01.400"}}).json()
    held = _wait(lambda: b.jobs(state="held", kind="vis.gif"), what="a held GIF job")
    assert vis_b.get(f"/api/asset/{asset['id']}").json()["stateString"] == "GENERATING"
    assert b.complete_job(held[0]["id"])["state"] == "done"
    vis_a = instance.vis(instance.a)
    assert vis_a.get(f"/api/asset/{asset['id']}").json()["stateString"] == "COMPLETED"


@pytest.mark.slow
def test_a_frozen_clock_drives_delay_lifecycles_and_autoexpire_in_the_workers(instance, a_b, short_clip):
    a, b = a_b
    frozen = a.freeze()
    a.set_lifecycle("ingest", "delay", 3600)
    started = b.ingest(short_clip, target="uplynk", external_id="expiring", wait=False)
    job = _wait(lambda: [j for j in b.jobs(state="held") if j["id"] == started["job"]["id"]], what="held ingest")[0]
    assert job["state"] == "held"
    time.sleep(1.5)  # housekeeping passes in both workers: on the frozen clock nothing is due
    assert b.job(job["id"])["state"] == "held"
    a.advance(3601)  # the workers see the shared clock move past the release time
    _wait(lambda: b.job(job["id"])["state"] == "done", what="the delayed job's release")

    asset_id = started["uplynkAssetId"]
    now = b.clock()["nowMs"]
    up_b = instance.uplynk(instance.b)
    ts = now // 1000
    assert up_b.call("/api2/asset/update", id=asset_id, autoexpire=now + 60_000, _timestamp=ts)["error"] == 0
    a.advance(61)
    ts = a.clock()["nowMs"] // 1000
    _wait(lambda: up_b.call("/api2/asset/get", id=asset_id, _timestamp=ts)["error"] == 1,
          what="autoexpire on the shared clock")
    assert frozen["frozen"] is True


def test_worker_processes_are_running(instance) -> None:
    assert all(p.poll() is None for p in instance.workers), [
        (instance.root / f"worker-{i}.log").read_text()[-2000:] for i in range(2)]
    assert os.path.isdir(instance.data_dir)
    assert httpx.get(f"{instance.b.base_url}/_lynkflow/ready").status_code == 200
