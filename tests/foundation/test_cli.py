"""The `lynkflow` commands a person runs: ingest (with its progress bar), seed, reset, wait, --version,
--help, and serve on a busy port."""

from __future__ import annotations

import json
import os
import pty
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from lynkflow import __version__
from lynkflow.context import build_context
from lynkflow.db.models import Media, UplynkAsset, VisEvent, VisVuflow
from lynkflow.testing.server import LynkflowServer, free_port

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("serve", "worker", "migrate", "seed", "reset", "ingest", "export", "import", "wait")


def _lynkflow(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """The command as a user runs it, with a LYNKFLOW_* environment of the test's choosing only."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LYNKFLOW_")}
    return subprocess.run([sys.executable, "-m", "lynkflow.cli", *args], env={**clean, **env}, capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


def _run(args: list[str], settings, timeout: float = 180) -> subprocess.CompletedProcess:
    return _lynkflow(args, {"LYNKFLOW_DATA_DIR": str(settings.resolved_data_dir),
                            "LYNKFLOW_DATABASE_URL": settings.resolved_database_url}, timeout=timeout)


def _target_line(settings) -> str:
    """What every state-changing command prints first: the database and the data dir it acts on."""
    return f"data dir {settings.resolved_data_dir}"


@pytest.mark.slow
def test_ingest_makes_an_asset_and_an_event(settings, synth_clips) -> None:
    clip = synth_clips["bars_320x240_24_noaudio.mp4"]
    proc = _run(["ingest", str(clip), "--event", "--external-id", "cli-clip", "--desc", "From the CLI"], settings)
    assert proc.returncode == 0, proc.stderr
    assert _target_line(settings) in proc.stdout
    # Not a terminal (a CI log): no bar redrawn with carriage returns, one line for the file.
    assert "\r" not in proc.stderr and "%" not in proc.stderr, proc.stderr
    results = [line for line in proc.stdout.splitlines() if line.startswith(clip.name)]
    assert len(results) == 1 and "done" in results[0] and "asset" in results[0] and "event" in results[0]
    ctx = build_context(settings)
    try:
        with ctx.session() as db:
            asset = db.scalars(select(UplynkAsset).where(UplynkAsset.external_id == "cli-clip")).one()
            assert (asset.state, asset.desc, asset.rays) == ("ready", "From the CLI", 1)  # 240p: the 234 rung only
            event = db.scalars(select(VisEvent)).one()
            assert event.title == "From the CLI" and event.state == 10  # VOD_PRIVATE
    finally:
        ctx.engine.dispose()


@pytest.mark.slow
def test_ingest_of_a_bad_file_exits_non_zero_with_the_reason(settings, tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    proc = _run(["ingest", str(bad)], settings)
    assert proc.returncode == 1
    assert "failed" in proc.stdout and "notes.mp4" in proc.stdout


def test_ingest_refuses_missing_files(settings, tmp_path: Path) -> None:
    proc = _run(["ingest", str(tmp_path / "nope.mp4")], settings, timeout=60)
    assert proc.returncode == 2 and "not a file" in proc.stderr


def test_seed_and_reset(settings, tmp_path: Path) -> None:
    doc = json.loads((REPO / "fixtures/demo/seed.json").read_text())
    doc["media"] = []
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps(doc))
    proc = _run(["seed", str(seed)], settings, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "vuflows=1" in proc.stdout and _target_line(settings) in proc.stdout
    bad = _run(["seed", str(tmp_path / "missing.json")], settings, timeout=60)
    assert bad.returncode == 2 and "not found" in bad.stderr
    proc = _run(["reset"], settings, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _target_line(settings) in proc.stdout
    ctx = build_context(settings)
    try:
        with ctx.session() as db:
            # Only the default key's own default vuflow is back (app/domain/vis_vuflows.py).
            assert db.scalar(select(VisVuflow.name)) == "lynkflow storage"
            assert db.scalar(select(func.count()).select_from(VisVuflow)) == 1
            assert db.scalar(select(func.count()).select_from(Media)) == 0
    finally:
        ctx.engine.dispose()


@pytest.mark.slow
def test_ingest_draws_its_bar_on_a_terminal(settings, synth_clips) -> None:
    clip = synth_clips["bars_320x240_24_noaudio.mp4"]
    controller, terminal = pty.openpty()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LYNKFLOW_")},
           "LYNKFLOW_DATA_DIR": str(settings.resolved_data_dir),
           "LYNKFLOW_DATABASE_URL": settings.resolved_database_url}
    proc = subprocess.Popen([sys.executable, "-m", "lynkflow.cli", "ingest", str(clip)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=terminal, text=True)
    os.close(terminal)
    drawn = bytearray()

    def read_terminal() -> None:  # drained while the command runs, so the bar never blocks on a full pty
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the command closed its end
                return
            if not chunk:
                return
            drawn.extend(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=180)
    reader.join(timeout=10)
    os.close(controller)
    assert proc.returncode == 0, out
    assert b"\r[" in drawn and b"%" in drawn, bytes(drawn)
    assert f"{clip.name}: done" in out


def test_version() -> None:
    proc = _lynkflow(["--version"], {})
    assert proc.returncode == 0 and proc.stdout.strip() == f"lynkflow {__version__}"


def test_every_command_help_shows_its_defaults() -> None:
    helps = {}
    for command in COMMANDS:
        proc = _lynkflow([command, "--help"], {})
        assert proc.returncode == 0, (command, proc.stderr)
        helps[command] = " ".join(proc.stdout.split())  # argparse wraps lines
    assert "(default: 127.0.0.1)" in helps["serve"] and "(default: 8080)" in helps["serve"]
    assert "(default: 1)" in helps["worker"]
    assert "(default: http://127.0.0.1:8080)" in helps["wait"] and "(default: 60.0)" in helps["wait"]
    assert "(default: None)" not in " ".join(helps.values())  # "not given" is no default worth showing


def test_wait_default_url_follows_lynkflow_public_url() -> None:
    proc = _lynkflow(["wait", "--help"], {"LYNKFLOW_PUBLIC_URL": "http://lynkflow.test:9999"})
    assert "(default: http://lynkflow.test:9999)" in " ".join(proc.stdout.split())


def test_serve_on_a_busy_port_says_so_in_one_line_without_banner(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _lynkflow(["serve", "--port", str(port)], {"LYNKFLOW_DATA_DIR": str(tmp_path / "data")})
    assert proc.returncode == 1
    assert "lynkflow is up" not in proc.stdout + proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(port) in lines[0] and "already in use" in lines[0], proc.stderr
    assert not (tmp_path / "data" / "lynkflow.db").exists()  # refused before touching any state


def test_wait_gives_up_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    started = time.monotonic()
    proc = _lynkflow(["wait", "--url", url, "--timeout", "1"], {})
    assert proc.returncode == 1
    assert time.monotonic() - started < 15
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "gave up after 1 s" in lines[0] and url in lines[0], proc.stderr
    bad = _lynkflow(["wait", "--timeout", "-3"], {})
    assert bad.returncode == 2 and "more than 0 seconds" in bad.stderr


def test_state_commands_hide_the_database_password(tmp_path: Path) -> None:
    url = "postgresql://lynkuser:s3cret-pw@127.0.0.1:1/nowhere"  # nothing listens on port 1
    proc = _lynkflow(["reset"], {"LYNKFLOW_DATA_DIR": str(tmp_path / "data"), "LYNKFLOW_DATABASE_URL": url})
    assert proc.returncode == 1
    assert "lynkuser:***@127.0.0.1:1/nowhere" in proc.stdout and "s3cret-pw" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lynkflow: cannot use the database"), proc.stderr


def test_reset_asks_for_yes_while_a_server_uses_the_database(settings, tmp_path: Path) -> None:
    server = LynkflowServer(tmp_path / "served", env={"LYNKFLOW_DATABASE_URL": settings.resolved_database_url})
    with server:
        proc = _lynkflow(["wait", "--url", server.base_url, "--timeout", "30"], {})
        assert proc.returncode == 0 and "is ready" in proc.stdout, proc.stderr
        proc = _lynkflow(["wait", "--url", server.base_url, "--seeded", "--timeout", "30"], {})
        assert proc.returncode == 1 and "applied no seed" in proc.stderr

        refused = _run(["reset"], settings, timeout=60)
        assert refused.returncode == 1
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "live lynkflow serve" in lines[0] and f":{server.port}" in lines[0], lines
        assert "--yes" in lines[0]
        assert _target_line(settings) in refused.stdout
        forced = _run(["reset", "--yes"], settings, timeout=60)
        assert forced.returncode == 0, forced.stderr
        # The server's lease survives the reset it was told about.
        assert _run(["reset"], settings, timeout=60).returncode == 1
    # Stopped cleanly: its lease is gone at once.
    after = _run(["reset"], settings, timeout=60)
    assert after.returncode == 0, after.stderr


def test_reset_asks_for_yes_while_a_worker_uses_the_database(settings) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LYNKFLOW_")},
           "LYNKFLOW_DATA_DIR": str(settings.resolved_data_dir),
           "LYNKFLOW_DATABASE_URL": settings.resolved_database_url}
    worker = subprocess.Popen([sys.executable, "-m", "lynkflow.cli", "worker"], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().startswith("lynkflow worker:")  # printed once its lease is written
        refused = _run(["reset"], settings, timeout=60)
        assert refused.returncode == 1 and "live lynkflow worker" in refused.stderr, refused.stderr
    finally:
        worker.terminate()  # SIGTERM, as `docker stop` sends: the worker removes its lease
        worker.wait(timeout=30)
    assert _run(["reset"], settings, timeout=60).returncode == 0


def _seeded_server(tmp_path: Path, settings, media_path: Path, **env: str) -> LynkflowServer:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"format": 1, "media": [
        {"path": str(media_path), "uplynk": {"owner": "default", "external_id": "waited-for"}}]}))
    return LynkflowServer(tmp_path / "served", env={"LYNKFLOW_DATABASE_URL": settings.resolved_database_url,
                                                    "LYNKFLOW_SEED_FILE": str(seed), **env})


@pytest.mark.slow
def test_wait_seeded_returns_once_the_seed_media_is_ingested(settings, tmp_path: Path, synth_clips) -> None:
    # No in-process worker: the seed's job stays queued until the test starts one.
    clip = synth_clips["bars_320x240_24_noaudio.mp4"]
    with _seeded_server(tmp_path, settings, clip, LYNKFLOW_INPROC_WORKERS="0") as server:
        public = {"LYNKFLOW_PUBLIC_URL": server.base_url}
        early = _lynkflow(["wait", "--seeded", "--timeout", "2"], public)
        assert early.returncode == 1
        assert "gave up after 2 s" in early.stderr and "1 of 1 job(s) not done yet" in early.stderr, early.stderr
        worker = subprocess.Popen([sys.executable, "-m", "lynkflow.cli", "worker"], cwd=REPO,
                                  env={**server.child_env(), "LYNKFLOW_DATA_DIR": str(server.data_dir)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc = _lynkflow(["wait", "--seeded", "--timeout", "180"], public, timeout=200)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        assert proc.returncode == 0, proc.stderr
        assert "seed media done (1 job(s))" in proc.stdout
        seed = httpx.get(f"{server.base_url}/_lynkflow/ready").json()["seed"]
        assert seed == {"applied": True, "mediaJobs": 1, "pending": 0, "failed": []}
        jobs = httpx.get(f"{server.base_url}/_lynkflow/jobs").json()["jobs"]
        assert [j["state"] for j in jobs] == ["done"]


@pytest.mark.slow
def test_wait_seeded_fails_when_a_seed_media_job_fails(settings, tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    with _seeded_server(tmp_path, settings, bad) as server:
        proc = _lynkflow(["wait", "--url", server.base_url, "--seeded", "--timeout", "120"], {}, timeout=150)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "seed media job(s)" in lines[0] and "failed" in lines[0], proc.stderr
