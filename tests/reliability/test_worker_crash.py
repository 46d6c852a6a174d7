"""kill -9 of a `lynkflow worker` in the middle of an ingest and of a GIF, with real processes.

No ffmpeg may outlive its worker, the job must complete on another worker once the lease runs out,
and no work file may stay anywhere in the data dir.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.vuflow.helpers import event_with_recording, gif_body

LEASE_SECONDS = "2"
# Every name a work file or folder can have (tagged or not); none may be left at the end.
WORK_FILE = re.compile(r"(\.ingest\.|\.old\.|\.tmp$|\.part$|\.partial$|@)")

pytestmark = pytest.mark.slow


def _start_worker(settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LYNKFLOW_DATA_DIR": str(settings.resolved_data_dir),
           "LYNKFLOW_DATABASE_URL": settings.resolved_database_url, "LYNKFLOW_JOB_LEASE": LEASE_SECONDS,
           "LYNKFLOW_INPROC_WORKERS": "0"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "lynkflow.cli", "worker"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(command name, parent pid, state) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    state, ppid = text[text.rindex(")") + 2:].split()[:2]
    return name, int(ppid), state


def _running(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[2] != "Z"


def _ffmpeg_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st is not None and st[1] == parent and st[0].startswith("ffmpeg") and st[2] != "Z":
                found.append(int(entry.name))
    return found


def _processes_using(folder: Path) -> list[int]:
    """Live processes whose command line or working directory lies in `folder`."""
    needle = str(folder)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid() or not _running(int(entry.name)):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if needle in cmdline or cwd.startswith(needle):
            found.append(int(entry.name))
    return found


def _work_files(data: Path) -> list[str]:
    return sorted(str(p.relative_to(data)) for p in data.rglob("*")
                  if WORK_FILE.search(p.name) and not p.name.startswith("lynkflow.db"))


def _kill_mid_ffmpeg(worker: subprocess.Popen[bytes], data: Path, work_glob: str) -> None:
    """Wait until the worker's ffmpeg writes its work file, then kill -9 the worker; its ffmpeg must die."""
    wait_for(lambda: any(data.glob(work_glob)), timeout=60, interval=0.01)
    # The ffmpeg running now, after the work file exists: an ingest runs several in turn, and the
    # first seen may already have ended (on a busy machine the file shows up late).
    ffmpeg = wait_for(lambda: [p for p in _ffmpeg_children(worker.pid) if _running(p)], timeout=30, interval=0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    deadline = time.monotonic() + 5
    while any(_running(pid) for pid in ffmpeg) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(_running(pid) for pid in ffmpeg), "ffmpeg outlived its killed worker"
    assert _processes_using(data) == []
    # The dead worker's work file is still there: only a sweep can remove it.
    assert list(data.glob(work_glob))


def _job(client, job_id: int) -> dict:
    return client.get(f"/_lynkflow/jobs/{job_id}").json()


def _done(client, job_id: int) -> dict:
    return wait_for(lambda: (j := _job(client, job_id))["state"] in ("done", "failed") and j, timeout=180)


def test_killed_worker_leaves_no_ffmpeg_and_no_work_files(client, settings, synth_clips, tmp_path) -> None:
    ctx = client.app.state.ctx
    data = ctx.storage.root
    log = tmp_path / "workers.log"
    inbox = settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(synth_clips["bars_640x360_25.mp4"], inbox / "long.mp4")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        # --- an ingest -----------------------------------------------------------------------
        started = client.post("/_lynkflow/ingest", data={"path": "long.mp4", "target": "uplynk"})
        assert started.status_code == 202, started.text
        job_id, media_id = started.json()["job"]["id"], started.json()["mediaId"]
        workers.append(_start_worker(settings, log))
        _kill_mid_ffmpeg(workers[-1], data, f"media/{media_id}/.out.ingest.*")
        workers.append(_start_worker(settings, log))
        job = _done(client, job_id)
        assert job["state"] == "done" and job["attempts"] == 2, (job, log.read_text()[-2000:])
        assert (data / "media" / media_id / "out" / "master.m3u8").is_file()
        assert _work_files(data) == []

        # --- a GIF, on the worker that finished the ingest ---------------------------------------
        key = ctx.settings.vuflow_api_key
        event = event_with_recording(ctx, key, synth_clips["bars_640x360_25.mp4"])
        gif = client.post("/api/asset/gif/", json=gif_body(event, "00:00:00.000", "00:00:08.000", name="Long",
                                                           fps=25, width=640), headers={"API-KEY": key})
        assert gif.status_code in (200, 201, 202), gif.text
        _kill_mid_ffmpeg(workers[-1], data, "vis/*/assets/.*.gif.*.tmp")
        workers.append(_start_worker(settings, log))
        job = _done(client, int(gif.json()["jobId"]))
        assert job["state"] == "done" and job["attempts"] == 2, (job, log.read_text()[-2000:])
        asset = client.get(f"/api/asset/{gif.json()['id']}", headers={"API-KEY": key}).json()
        assert asset["stateString"] == "COMPLETED"
        assert _work_files(data) == []
    finally:
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
                try:
                    w.wait(10)
                except subprocess.TimeoutExpired:
                    w.kill()
    assert not any(_running(w.pid) for w in workers)


def test_a_starting_worker_sweeps_only_work_files_of_dead_processes_of_its_host(ctx) -> None:
    from lynkflow.jobs.workers import WorkerPool
    from lynkflow.storage.workfiles import owner_tag

    host = owner_tag().split("@", 1)[1]
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = subprocess.Popen(["sleep", "60"])
    assets = ctx.storage.root / "vis" / "content" / "assets"
    media = ctx.storage.root / "media" / "m1"
    assets.mkdir(parents=True)
    media.mkdir(parents=True)
    orphan_file = assets / f".a.gif.{dead.pid}@{host}.1.tmp"
    orphan_dir = media / f".out.ingest.{dead.pid}@{host}.x1"
    busy = assets / f".b.gif.{live.pid}@{host}.1.tmp"
    elsewhere = assets / f".c.gif.{dead.pid}@another-host.1.tmp"
    finished = assets / "d.gif"
    for f in (orphan_file, busy, elsewhere, finished):
        f.write_bytes(b"x")
    orphan_dir.mkdir()
    (orphan_dir / "ray0").mkdir()
    pool = WorkerPool(ctx, count=0)
    try:
        pool.start()
        wait_for(lambda: not orphan_file.exists() and not orphan_dir.exists(), timeout=10)
        assert busy.exists() and elsewhere.exists() and finished.exists()
    finally:
        pool.stop()
        live.kill()
        live.wait()
