"""`lynkflow serve` with LYNKFLOW_WORKERS=2: one port, a supervisor and two HTTP processes, as real
processes on one database (a schema of their own on PostgreSQL, a file on SQLite).

Connections are spread over the HTTP processes by the kernel, so each check below opens a new
connection per request and sends enough of them, concurrently, to reach both processes.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from lynkflow.db.engine import make_engine
from lynkflow.db.presence import live_processes
from lynkflow.testing.clients import ControlClient
from lynkflow.testing.server import LynkflowServer
from lynkflow.testing.signing import Signer
from tests.conftest import BACKEND, postgres_schema_url, wait_for

SCHEMA = "lynkflow_workers"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, db_url: str) -> Iterator[LynkflowServer]:
    """Depends on db_url so it also runs in the PostgreSQL pass."""
    root = tmp_path_factory.mktemp("workers")
    url = postgres_schema_url(SCHEMA) if BACKEND == "postgres" else f"sqlite:///{root / 'shared.db'}"
    srv = LynkflowServer(root / "data", env={"LYNKFLOW_DATABASE_URL": url, "LYNKFLOW_WORKERS": "2",
                                             "LYNKFLOW_INPROC_WORKERS": "1"}, name="workers")
    srv.start()
    srv.database_url = url  # type: ignore[attr-defined]
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def signer(server: LynkflowServer) -> Signer:
    """One signer for the module: two Signers make the same msg for the same call in the same second, and
    the server refuses the second one as a replay (a test signing what the previous one signed failed so)."""
    return Signer(server.uplynk_owner, server.uplynk_api_key)


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        out.update(int(c) for c in (task / "children").read_text().split())
    return out


def _serving(server: LynkflowServer) -> list[int]:
    """The pids of the serve processes that hold a presence lease on the server's database."""
    engine = make_engine(server.database_url)  # type: ignore[attr-defined]
    try:
        return sorted(p.pid for p in live_processes(engine) if p.role == "serve")
    finally:
        engine.dispose()


@pytest.fixture
def control(server: LynkflowServer) -> Iterator[ControlClient]:
    client = ControlClient(server.base_url)
    client.reset()
    try:
        yield client
    finally:
        client.close()


def test_the_supervisor_and_two_http_processes_serve_one_port(server: LynkflowServer) -> None:
    assert server.pid is not None
    # Ready once the first HTTP process answers; the second may still be importing.
    serving = wait_for(lambda: len(_serving(server)) == 3 and _serving(server), timeout=60)
    # The supervisor (it runs the job workers) and its two HTTP processes, each with a lease.
    assert len(serving) == 3 and server.pid in serving, serving
    assert set(serving) - {server.pid} <= _children(server.pid)
    assert httpx.get(f"{server.base_url}/_lynkflow/ready").json()["ready"] is True


def test_a_count_1_fault_fires_once_across_the_processes(server: LynkflowServer, control: ControlClient,
                                                        signer: Signer) -> None:
    control.add_fault(api="uplynk", route="/api2/asset/list", action="error", count=1, message="once only")
    pairs = [signer({"limit": 1}) for _ in range(24)]

    def call(pair: dict[str, str]) -> dict:
        return httpx.post(f"{server.base_url}/api2/asset/list", data=pair).json()  # a new connection each

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, pairs))
    assert sorted(a["error"] for a in answers) == [0] * 23 + [1], [a for a in answers if a["error"]]
    assert control.faults()[0]["hits"] == 1


def test_a_signed_request_is_refused_as_a_replay_on_every_connection(server: LynkflowServer, control: ControlClient,
                                                                     signer: Signer) -> None:
    pair = signer({"limit": 1})
    url = f"{server.base_url}/api2/asset/list"
    assert httpx.post(url, data=pair).json()["error"] == 0
    with ThreadPoolExecutor(8) as pool:
        again = list(pool.map(lambda _: httpx.post(url, data=pair).json(), range(16)))
    assert all(a["error"] == 1 and "replayed" in a["msg"] for a in again), again


@pytest.mark.parametrize(("op", "params"), [("owners/api-key/add", {}), ("asset/list", {"limit": 1})])
def test_a_signed_call_sent_many_times_at_once_runs_once(server: LynkflowServer, signer: Signer, op: str,
                                                         params: dict) -> None:
    """The same signed write or read, never seen before, from 16 connections at once, spread over the HTTP
    processes: one runs, every other one is refused as a replay before it runs (on SQLite a write's check
    is not in its own transaction: the replay memory is a file of its own; reads' checks are batched,
    on PostgreSQL in one statement)."""
    pair = signer(params)
    url = f"{server.base_url}/api2/{op}"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: httpx.post(url, data=pair).json(), range(16)))
    assert sorted(a["error"] for a in answers) == [0] + [1] * 15, answers
    assert all("replayed" in a["msg"] for a in answers if a["error"]), answers


def test_a_frozen_clock_holds_on_every_connection(server: LynkflowServer, control: ControlClient) -> None:
    frozen = control.freeze(at="2031-05-06T07:08:09Z")
    try:
        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(lambda _: httpx.get(f"{server.base_url}/_lynkflow/clock").json()["nowMs"],
                                 range(16)))
        assert set(seen) == {frozen["nowMs"]}
    finally:
        control.resume()


def test_the_supervisor_runs_the_jobs(server: LynkflowServer, control: ControlClient, short_clip: Path) -> None:
    started = control.ingest(short_clip, target="uplynk", external_id="by-the-supervisor")
    assert started["job"]["state"] == "done", started


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_stopping_the_supervisor_stops_its_http_processes(tmp_path: Path, db_url: str) -> None:
    url = f"sqlite:///{tmp_path / 'stop.db'}"  # its own database: the module's server keeps running
    srv = LynkflowServer(tmp_path / "data", env={"LYNKFLOW_DATABASE_URL": url, "LYNKFLOW_WORKERS": "2",
                                                 "LYNKFLOW_INPROC_WORKERS": "0"}, name="stop")
    srv.start()
    srv.database_url = url  # type: ignore[attr-defined]
    assert srv.pid is not None
    supervisor = srv.pid
    serving = wait_for(lambda: len(_serving(srv)) == 3 and _serving(srv), timeout=60)
    children = _children(supervisor)
    assert set(serving) - {supervisor} <= children
    srv.stop()
    # The HTTP processes are gone (and multiprocessing's helper follows its parent within moments).
    assert not [c for c in serving if _alive(c)]
    wait_for(lambda: not [c for c in children if _alive(c)], timeout=10)
    engine = make_engine(url)
    try:
        assert live_processes(engine) == []
    finally:
        engine.dispose()
