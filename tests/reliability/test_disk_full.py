"""A full disk under the data dir (a 50 MB tmpfs holding the data dir and the SQLite database).

Writes are refused with a clear "no space left" in each API's shape, a job that runs out of space
fails with that reason at once (no retries), reads keep working, and once space is freed the
service works again without a restart.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lynkflow.storage.diskfull import NO_SPACE
from lynkflow.testing.signing import Signer
from lynkflow.uplynk.errors import INTERNAL_ERROR_HEADER
from tests.conftest import wait_for
from tests.vuflow.helpers import event_with_recording, gif_body

pytestmark = pytest.mark.slow

# Room left after filling: enough for a few small database pages, far too little for any media.
HEADROOM = 256 * 1024


@pytest.fixture
def small_disk(tmp_path: Path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=50m", "tmpfs", str(mount)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs here ({exc})")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)


def _fill(disk: Path, leave: int) -> Path:
    """Fill the disk, then give back `leave` bytes; returns the filler file."""
    filler = disk / "filler.bin"
    chunk = b"\0" * (1024 * 1024)
    with filler.open("wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError:
            pass
    size = filler.stat().st_size
    with filler.open("r+b") as out:
        out.truncate(max(0, size - leave))
    return filler


def _job(client, job_id: int) -> dict:
    return client.get(f"/_lynkflow/jobs/{job_id}").json()


def _ended(client, job_id: int) -> dict:
    return wait_for(lambda: (j := _job(client, job_id))["state"] in ("done", "failed", "cancelled") and j,
                    timeout=120)


def test_a_full_disk_refuses_writes_clearly_and_recovers(make_client, small_disk, synth_clips) -> None:
    client = make_client(data_dir=small_disk / "data", database_url=f"sqlite:///{small_disk}/lynkflow.db",
                         inproc_workers=1)
    ctx = client.app.state.ctx
    s = ctx.settings
    sign = Signer(s.uplynk_owner, s.uplynk_api_key)
    vis = {"API-KEY": s.vuflow_api_key}
    clip = synth_clips["bars_640x360_25.mp4"]
    inbox = s.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, inbox / "clip.mp4")
    event = event_with_recording(ctx, s.vuflow_api_key, clip)
    library = client.post("/api2/library/create", data=sign({"desc": "before"})).json()
    assert library["error"] == 0

    filler = _fill(small_disk, HEADROOM)

    # --- writes that need space are refused, each in its API's shape ---------------------------
    upload = client.post("/_lynkflow/ingest", data={"target": "media"},
                         files={"file": ("clip.mp4", clip.read_bytes())})
    assert upload.status_code == 507 and upload.json() == {"error": NO_SPACE}
    slicer = client.post("/api2/cloudslicer/jobs/create", data=sign({"source": {"url": "clip.mp4"}}))
    assert slicer.status_code == 200 and slicer.json() == {"error": 1, "msg": NO_SPACE}
    assert INTERNAL_ERROR_HEADER not in slicer.headers
    by_path = client.post("/api/event/", json={"title": "t", "sourcePath": "clip.mp4"}, headers=vis)
    assert by_path.status_code == 507
    assert by_path.json()["exceptionMessage"] == NO_SPACE
    assert by_path.json()["errorType"] == "InsufficientStorage"
    assert list((s.resolved_data_dir / "tmp").iterdir()) == []  # nothing half-written left behind

    # --- a job that runs out of space fails with that reason, once --------------------------------
    gif = client.post("/api/asset/gif/", json=gif_body(event, "00:00:00.000", "00:00:08.000", name="Big",
                                                       width=640), headers=vis)
    if gif.status_code == 507:  # the database itself had no room for the request
        assert gif.json()["exceptionMessage"] == NO_SPACE
    else:
        assert gif.status_code in (200, 201), gif.text
        job = _ended(client, int(gif.json()["jobId"]))
        assert job["state"] == "failed" and job["attempts"] == 1, job
        assert job["lastError"].startswith(NO_SPACE)
        asset = client.get(f"/api/asset/{gif.json()['id']}", headers=vis).json()
        assert asset["stateString"] == "FAILED"

    # --- reads keep working -------------------------------------------------------------------
    assert client.get(f"/api/event/{event}", headers=vis).status_code == 200
    listed = client.post("/api2/library/list", data=sign({})).json()
    assert listed["error"] == 0 and [lib["id"] for lib in listed["libraries"]] == [library["library"]["id"]]
    assert client.get("/_lynkflow/jobs").status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/_lynkflow/journal/count", params={"internalError": "true"}).json() == {"count": 0}

    # --- space freed: the same requests work, without a restart -------------------------------------
    filler.unlink()
    upload = client.post("/_lynkflow/ingest", data={"target": "media"},
                         files={"file": ("clip.mp4", clip.read_bytes())})
    assert upload.status_code == 202, upload.text
    assert client.post("/api2/cloudslicer/jobs/create", data=sign({"source": {"url": "clip.mp4"}})).json()[
        "error"] == 0
    gif = client.post("/api/asset/gif/", json=gif_body(event, "00:00:00.000", "00:00:02.000", name="Small",
                                                       width=320), headers=vis)
    assert gif.status_code in (200, 201), gif.text
    assert _ended(client, int(gif.json()["jobId"]))["state"] == "done"
    assert _ended(client, upload.json()["job"]["id"])["state"] == "done"
