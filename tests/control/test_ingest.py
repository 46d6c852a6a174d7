"""Ingest through POST /_lynkflow/ingest: real renditions from an upload, and bad input that ends
the job in its error state with a readable reason and nothing half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import pytest

from lynkflow.db.models import Media
from tests.conftest import wait_for


def _job(client, job_id: int) -> dict:
    from lynkflow.jobs.queue import get_job, job_to_dict

    return job_to_dict(get_job(client.app.state.ctx, job_id))


def _media(client, media_id: str) -> Media:
    with client.app.state.ctx.session() as db:
        return db.get(Media, media_id)


@pytest.mark.slow
def test_upload_is_ingested_into_a_ladder(make_client, synth_clips) -> None:
    client = make_client(inproc_workers=1)
    src = synth_clips["bars_640x360_25.mp4"]
    with src.open("rb") as f:
        r = client.post("/_lynkflow/ingest", data={"target": "media"}, files={"file": ("bars.mp4", f, "video/mp4")})
    assert r.status_code == 202, r.text
    body = r.json()
    job = wait_for(lambda: (j := _job(client, body["job"]["id"]))["state"] in ("done", "failed") and j, timeout=120)
    assert job["state"] == "done", job["lastError"]
    media = _media(client, body["mediaId"])
    assert media.state == "ready" and media.original_filename == "bars.mp4"
    out = client.app.state.ctx.storage.root / media.output_dir
    heights = []
    for ray in media.renditions["rays"]:
        with av.open(str(out / ray["mp4"])) as c:
            heights.append(c.streams.video[0].height)
    assert heights == [360, 234]
    assert media.renditions["slices"] == 3  # 10 s in ~4 s slices
    assert len(media.renditions["thumbs"]) == 3
    r = client.get(f"/storage/{media.output_dir}/{media.renditions['mp4']}", headers={"Range": "bytes=0-7"})
    assert r.status_code == 206 and r.content[4:8] == b"ftyp"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"this is not a video at all" * 100, "not"),
    ],
)
def test_bad_uploads_fail_with_a_reason_and_leave_nothing(make_client, content: bytes, reason: str) -> None:
    client = make_client(inproc_workers=1)
    r = client.post("/_lynkflow/ingest", data={"target": "media"}, files={"file": ("bad.mp4", content)})
    assert r.status_code == 202
    body = r.json()
    job = wait_for(lambda: (j := _job(client, body["job"]["id"]))["state"] in ("done", "failed") and j, timeout=60)
    assert job["state"] == "failed"
    assert reason in job["lastError"].lower()
    assert job["attempts"] == 1  # bad input is not retried
    media = _media(client, body["mediaId"])
    assert media.state == "error" and media.error == job["lastError"]
    root = client.app.state.ctx.storage.root
    assert not (root / "media" / body["mediaId"] / "out").exists()
    assert list((root / "tmp").iterdir()) == []


@pytest.mark.slow
def test_truncated_upload_fails(make_client, synth_clips, tmp_path: Path) -> None:
    client = make_client(inproc_workers=1)
    data = synth_clips["bars_320x240_24_noaudio.mp4"].read_bytes()
    r = client.post("/_lynkflow/ingest", data={"target": "media"}, files={"file": ("cut.mp4", data[: len(data) // 3])})
    job = wait_for(lambda: (j := _job(client, r.json()["job"]["id"]))["state"] in ("done", "failed") and j,
                   timeout=60)
    assert job["state"] == "failed" and job["lastError"]


def test_path_inside_the_media_folder(make_client, synth_clips) -> None:
    client = make_client()
    inbox = client.app.state.ctx.settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(synth_clips["bars_320x240_24_noaudio.mp4"], inbox / "clip.mp4")
    r = client.post("/_lynkflow/ingest", data={"target": "media", "path": "clip.mp4"})
    assert r.status_code == 202
    assert r.json()["job"]["state"] == "queued"
    assert _media(client, r.json()["mediaId"]).original_filename == "clip.mp4"


@pytest.mark.parametrize("path", ["../lynkflow.db", "/etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "missing.mp4"])
def test_paths_outside_the_media_folder_are_refused(client, path: str) -> None:
    r = client.post("/_lynkflow/ingest", data={"target": "media", "path": path})
    assert r.status_code == 400
    assert "media folder" in r.json()["error"]


@pytest.mark.parametrize(("path", "fragment"), [("x" * 300, "name longer than 255 bytes"),
                                                ("y" * 5000, "limit is 4096")])
def test_unusable_path_names_are_refused(client, path: str, fragment: str) -> None:
    r = client.post("/_lynkflow/ingest", data={"target": "media", "path": path})
    assert r.status_code == 400
    assert fragment in r.json()["error"]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [({"target": "media"}, "exactly one"), ({"target": "nowhere", "path": "x"}, "target"),
     ({"target": "media", "path": "x", "priority": "11"}, "priority"),
     ({"target": "uplynk", "path": "x", "meta": "[1]"}, "meta")],
)
def test_bad_requests(client, data: dict, fragment: str) -> None:
    r = client.post("/_lynkflow/ingest", data=data)
    assert r.status_code == 400
    assert fragment in r.json()["error"]
