"""`lynkflow serve` as a real process answers with the bytes the app itself produces, and stops cleanly.

The HTTP server under `lynkflow serve` (uvicorn; docs/architecture.md says why not granian) must add
nothing to an answer but its own `date` and `server` headers: a signed asset/get, a VIS list and an
error answer are compared, body and headers, with the same requests made to the app in-process. A
SIGTERM (`docker stop`, `kill`) then ends the process within a bound, through the app's lifespan
(its presence lease on the database is gone).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from lynkflow.db.presence import live_processes
from lynkflow.domain import uplynk_assets, vis_events
from lynkflow.testing.signing import Signer

STOP_BOUND_S = 10.0
SERVER_HEADERS = ["date", "server"]  # what the HTTP server adds to every answer, and nothing else


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int, data_dir: Path, db_url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "LYNKFLOW_DATA_DIR": str(data_dir), "LYNKFLOW_DATABASE_URL": db_url,
           "LYNKFLOW_INPROC_WORKERS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "lynkflow.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_lynkflow/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.05)


def _app_headers(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    return [(k.lower(), v) for k, v in response.headers.raw if k.lower().decode() not in SERVER_HEADERS]


def test_serve_answers_with_the_apps_bytes_and_stops_on_sigterm(make_client, tmp_path: Path, db_url: str) -> None:
    app = make_client()  # the in-process app, on the same database and data dir as the server below
    ctx = app.app.state.ctx
    s = ctx.settings
    with ctx.session() as db:
        asset_id = uplynk_assets.create_asset(db, ctx, owner_id=s.uplynk_owner, media_id=None, external_id="bytes",
                                              desc="same bytes", meta={"k": "v"}).id
        vis_events.create_event(db, ctx, s.vuflow_api_key, title="same bytes")
    sign = Signer(s.uplynk_owner, s.uplynk_api_key)
    # Each request is made anew for each side (a signed pair is accepted once); the Host header is the
    # in-process client's, so URLs in answers name the same base.
    requests = [
        lambda: ("POST", "/api2/asset/get", {"data": sign({"id": asset_id})}),
        lambda: ("POST", "/api2/asset/get", {"data": sign({"id": "0" * 32})}),  # api2 error document
        lambda: ("GET", "/api/event/", {"headers": {"API-KEY": s.vuflow_api_key}}),
        lambda: ("GET", "/api/asset/", {}),  # VIS 401: no key
    ]
    port = _free_port()
    proc = _serve(port, tmp_path / "data", db_url)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"host": "testserver"}) as live:
            answers = []
            for make in requests:
                method, path, kw = make()
                want = app.request(method, path, **kw)
                method, path, kw = make()
                got = live.request(method, path, **kw)
                assert (got.status_code, got.content) == (want.status_code, want.content), path
                assert _app_headers(got) == _app_headers(want), path
                added = sorted(k.lower().decode() for k, _ in got.headers.raw)
                for k, _ in _app_headers(want):
                    added.remove(k.decode())
                assert added == SERVER_HEADERS, got.headers
                assert got.headers["server"] == "uvicorn"
                answers.append(got)
        # The four are what they claim to be: an asset, an api2 refusal, a list of one event, a 401.
        assert answers[0].json()["asset"]["id"] == asset_id and answers[0].json()["error"] == 0
        assert answers[1].json()["error"] == 1
        assert [e["title"] for e in answers[2].json()["results"]] == ["same bytes"], answers[2].text
        assert answers[3].status_code == 401
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=STOP_BOUND_S + 5)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # uvicorn re-raises the signal it handled once its shutdown is done (0.29+), as a shell expects
    # of a process a signal stopped: -SIGTERM is a clean stop, as 0 would be.
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert took < STOP_BOUND_S, f"SIGTERM took {took:.1f} s"
    assert "Traceback" not in out, out
    assert proc.pid not in {p.pid for p in live_processes(ctx.engine)}, "the lifespan did not run to its end"


def test_every_http_process_of_serve_workers_switches_threads_as_often(tmp_path: Path) -> None:
    """`serve --workers N` spawns fresh interpreters, which do not inherit the supervisor's 1 ms switch
    interval (cli.cmd_serve: what a loaded thread pool costs the event loop otherwise); each HTTP
    process's app sets it again."""
    from lynkflow.cli import SWITCH_INTERVAL

    env = {**os.environ, "LYNKFLOW_DATA_DIR": str(tmp_path)}
    env.pop("LYNKFLOW_DATABASE_URL", None)
    probe = "import sys; from lynkflow.serve_processes import worker_app; worker_app(); print(sys.getswitchinterval())"
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert SWITCH_INTERVAL != 0.005  # Python's default: what a process without the setting runs at
    assert float(out.stdout.split()[-1]) == SWITCH_INTERVAL
