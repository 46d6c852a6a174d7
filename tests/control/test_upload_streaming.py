"""Uploads stream into the data dir once; a failed ingest leaves no source behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.conftest import wait_for

UPLOAD_BYTES = 8 * 1024 * 1024


def _written_by_this_process() -> int:
    """Bytes this process has passed to write()/sendfile() so far (Linux /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def _job(client, job_id: int) -> dict:
    return client.get(f"/_lynkflow/jobs/{job_id}").json()


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io to count writes")
def test_an_upload_is_written_once_inside_the_data_dir(client, monkeypatch, tmp_path) -> None:
    # A system temp folder that cannot be used: a spooling form parser would fail here.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-system-tmp"))
    body = os.urandom(UPLOAD_BYTES)
    before = _written_by_this_process()
    r = client.post("/_lynkflow/ingest", data={"target": "media"}, files={"file": ("big.mp4", body)})
    written = _written_by_this_process() - before
    assert r.status_code == 202, r.text
    root = client.app.state.ctx.storage.root
    [source] = (root / "media" / r.json()["mediaId"]).glob("source.*")
    assert source.read_bytes() == body
    assert written < 1.25 * UPLOAD_BYTES, f"{written} bytes written for a {UPLOAD_BYTES}-byte upload"
    assert list((root / "tmp").iterdir()) == []


@pytest.mark.slow
def test_a_failed_ingest_removes_its_source(make_client) -> None:
    client = make_client(inproc_workers=1)
    r = client.post("/_lynkflow/ingest", data={"target": "uplynk"},
                    files={"file": ("junk.mp4", b"not a video" * 100_000)})
    assert r.status_code == 202
    media_dir = client.app.state.ctx.storage.root / "media" / r.json()["mediaId"]
    assert any(media_dir.glob("source.*"))
    job = wait_for(lambda: (j := _job(client, r.json()["job"]["id"]))["state"] in ("done", "failed") and j,
                   timeout=60)
    assert job["state"] == "failed" and job["lastError"]
    assert not media_dir.exists()
    # The asset reports the reason; nothing of the 1 MB source is left in the data dir.
    root = client.app.state.ctx.storage.root
    assert [p for p in root.rglob("*") if p.is_file() and not p.name.startswith("lynkflow.db")] == []


@pytest.mark.parametrize(("body", "ctype", "status", "fragment"), [
    (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nxx",
     "multipart/form-data; boundary=b", 400, "ended before its closing boundary"),
    (b"garbage", "multipart/form-data; boundary=b", 400, "cannot be read"),
    (b"{}", "application/json", 400, "send a form"),
    (b"--b\r\nContent-Disposition: form-data; name=\"other\"; filename=\"a\"\r\n\r\nxx\r\n--b--\r\n",
     "multipart/form-data; boundary=b", 400, "multipart field 'file'"),
])
def test_unreadable_forms_are_refused_and_leave_nothing(client, body: bytes, ctype: str, status: int,
                                                        fragment: str) -> None:
    r = client.post("/_lynkflow/ingest", content=body, headers={"Content-Type": ctype})
    assert r.status_code == status and fragment in r.json()["error"], r.text
    assert list((client.app.state.ctx.storage.root / "tmp").iterdir()) == []


def test_priority_must_be_a_number_in_range(client) -> None:
    for value in ("abc", "0", "11", ""):
        r = client.post("/_lynkflow/ingest", data={"target": "media", "path": "x", "priority": value})
        assert r.status_code == 400 and "priority" in r.json()["error"]


def test_the_ingest_form_is_in_the_openapi_document(client) -> None:
    op = client.get("/openapi.json").json()["paths"]["/_lynkflow/ingest"]["post"]
    schema = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["file"]["format"] == "binary" and "priority" in schema["properties"]
