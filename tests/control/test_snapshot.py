"""Snapshots: export the whole state, reset, import, and get everything back byte-for-byte."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select

from lynkflow.db.models import Job, UplynkChange
from lynkflow.domain.ingest import ingest_file
from lynkflow.domain.snapshot import stored_files, table_rows
from lynkflow.jobs import queue
from lynkflow.storage.urls import storage_url
from lynkflow.testing.signing import Signer
from tests.conftest import wait_for


def _files(ctx) -> dict[str, bytes]:
    return {rel: ctx.storage.local_file(rel).read_bytes() for rel in stored_files(ctx)}


def _make_state(client, clip: Path) -> dict[str, str]:
    """An ingested clip as an Uplynk asset and a VIS event, plus a GIF asset of that event."""
    ctx = client.app.state.ctx
    s = ctx.settings
    started = ingest_file(ctx, clip, uplynk={"owner": s.uplynk_owner, "external_id": "snap", "desc": "snapshot me",
                                             "meta": {"genre": "test"}},
                          vis={"api_key": s.vuflow_api_key, "title": "snapshot event"})
    wait_for(lambda: client.get(f"/_lynkflow/jobs/{started.job.id}").json()["state"] == "done", timeout=60)
    headers = {"API-KEY": s.vuflow_api_key}
    gif = client.post("/api/asset/gif/", headers=headers, json={
        "name": "snap gif", "width": 160, "fps": 5,
        "clip": {"eventId": started.vis_event_id, "start": "00:00:00.000", "end": "00:00:01.000"}})
    assert gif.status_code == 200, gif.text
    gif_id = gif.json()["id"]
    wait_for(lambda: client.get(f"/api/asset/{gif_id}", headers=headers).json()["stateString"] == "COMPLETED",
             timeout=60)
    # The asset reads COMPLETED just before its job row reads done: wait for that too, or the rows
    # compared after the import may hold the job a moment before it ended.
    wait_for(lambda: client.get(f"/_lynkflow/jobs/{_gif_job(ctx, gif_id)}").json()["state"] == "done", timeout=30)
    return {"asset": started.uplynk_asset_id, "event": started.vis_event_id, "gif": gif_id}


def _gif_job(ctx, asset_id: str) -> str:
    from lynkflow.db.models import VisAsset

    with ctx.session() as db:
        return db.get(VisAsset, asset_id).job_id


def _views(client, ids: dict[str, str], signer: Signer) -> dict[str, object]:
    headers = {"API-KEY": client.app.state.ctx.settings.vuflow_api_key}
    return {
        "asset": client.post("/api2/asset/get", data=signer({"id": ids["asset"]})).json(),
        "event": client.get(f"/api/event/{ids['event']}", headers=headers).json(),
        "gif": client.get(f"/api/asset/{ids['gif']}", headers=headers).json(),
    }


@pytest.mark.slow
def test_export_reset_import_gives_everything_back_byte_for_byte(make_client, short_clip):
    check_snapshot_round_trip(make_client(inproc_workers=1), short_clip)


def check_snapshot_round_trip(client, short_clip: Path) -> None:
    """Export, reset, import: the same rows, files, answers and served bytes (tests/storage runs it on S3)."""
    ctx = client.app.state.ctx
    signer = Signer(ctx.settings.uplynk_owner, ctx.settings.uplynk_api_key)
    ids = _make_state(client, short_clip)
    before_rows, before_files, before_views = table_rows(ctx), _files(ctx), _views(client, ids, signer)
    assert before_views["asset"]["asset"]["state"] == "ready"
    assert any(rel.endswith(".gif") for rel in before_files) and any(rel.endswith(".ts") for rel in before_files)

    resp = client.get("/_lynkflow/snapshot")
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/gzip"
    archive = resp.content
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        manifest = json.load(tar.extractfile("lynkflow-snapshot.json"))
    assert manifest["format_version"] == 1 and manifest["alembic_revision"]

    assert client.post("/_lynkflow/reset").status_code == 200
    assert client.post("/api2/asset/get", data=signer({"id": ids["asset"]})).json()["error"] == 1
    assert not any(rel.startswith(("media/", "vis/")) for rel in stored_files(ctx))

    resp = client.post("/_lynkflow/snapshot", content=archive, headers={"Content-Type": "application/gzip"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["imported"]["files"] == len(before_files)

    assert table_rows(ctx) == before_rows
    after_files = _files(ctx)
    assert sorted(after_files) == sorted(before_files)
    for rel, data in before_files.items():
        assert after_files[rel] == data, rel
    assert _views(client, ids, signer) == before_views
    # Served files are the same bytes too.
    gif_rel = next(rel for rel in before_files if rel.endswith(".gif"))
    served = client.get(storage_url("", gif_rel))
    assert served.status_code == 200 and served.content == before_files[gif_rel]

    # New rows get fresh ids (PostgreSQL sequences were moved past the imported ones).
    with ctx.session() as db:
        top_job = db.scalar(select(Job.id).order_by(Job.id.desc()).limit(1))
        job = queue.enqueue(db, ctx, "control-nothing", {})
        assert job.id > top_job
    updated = client.post("/api2/asset/update", data=signer({"id": ids["asset"], "desc": "after import"})).json()
    assert updated["error"] == 0
    with ctx.session() as db:
        assert db.scalar(select(UplynkChange).order_by(UplynkChange.id.desc()).limit(1)).asset_id == ids["asset"]

    again = client.post("/_lynkflow/snapshot", content=archive)
    assert again.status_code == 409 and "empty instance" in again.json()["error"]


def _archive(members: dict[str, bytes], manifest: dict | None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        if manifest is not None:
            members = {"lynkflow-snapshot.json": json.dumps(manifest).encode(), **members}
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_import_refuses_bad_archives_without_writing(client):
    ctx = client.app.state.ctx
    with tarfile.open(fileobj=io.BytesIO(client.get("/_lynkflow/snapshot").content)) as good:
        manifest = json.load(good.extractfile("lynkflow-snapshot.json"))
    evil = hashlib.sha256(b"x").hexdigest()
    cases = [
        (b"", "send the snapshot archive"),
        (b"not a tarball at all", "not a readable"),
        (_archive({"x.txt": b"x"}, None), "has no lynkflow-snapshot.json"),
        (_archive({}, {**manifest, "format_version": 99}), "format_version 99"),
        (_archive({}, {**manifest, "alembic_revision": "0000_other"}), "schema revision"),
        (_archive({}, {**manifest, "tables": {"secrets": []}}), "unknown table"),
        (_archive({"files/../../escape.txt": b"x"},
                  {**manifest, "files": [{"path": "../../escape.txt", "size": 1, "sha256": evil}]}), "unsafe path"),
        (_archive({"files/media/a.txt": b"y"},
                  {**manifest, "files": [{"path": "media/a.txt", "size": 1, "sha256": evil}]}), "damaged"),
        (_archive({}, {**manifest, "files": [{"path": "media/b.txt", "size": 1, "sha256": evil}]}), "missing 1 file"),
    ]
    for body, words in cases:
        resp = client.post("/_lynkflow/snapshot", content=body)
        assert resp.status_code == 400, (words, resp.text)
        assert words in resp.json()["error"], (words, resp.json())
    assert not (ctx.storage.root.parent / "escape.txt").exists()
    assert not any(rel.startswith("media/") for rel in stored_files(ctx))
    assert [p.name for p in ctx.storage.tmp.iterdir()] == []  # no staging or upload left behind


def test_multipart_upload_and_cli_export_import(client, make_settings, monkeypatch, tmp_path):
    ctx = client.app.state.ctx
    client.post("/api/vuflow/", json={"name": "cli flow", "configurationJson": "{}"},
                headers={"API-KEY": ctx.settings.vuflow_api_key})
    (ctx.storage.root / "uplynk" / "note.txt").write_bytes(b"\x00\x01binary")
    before = table_rows(ctx)

    from lynkflow.cli import main

    s = ctx.settings
    monkeypatch.setenv("LYNKFLOW_DATA_DIR", str(s.resolved_data_dir))
    monkeypatch.setenv("LYNKFLOW_DATABASE_URL", s.resolved_database_url)
    out = tmp_path / "state.tar.gz"
    assert main(["export", str(out)]) == 0
    assert main(["import", str(out)]) == 1  # not empty
    assert main(["reset"]) == 1  # the app of this test is a live lynkflow on the same database
    assert main(["reset", "--yes"]) == 0
    assert main(["import", str(out)]) == 0
    assert table_rows(ctx) == before
    assert (ctx.storage.root / "uplynk" / "note.txt").read_bytes() == b"\x00\x01binary"
    assert main(["import", str(tmp_path / "absent.tar.gz")]) == 2

    client.post("/_lynkflow/reset")
    with out.open("rb") as f:
        resp = client.post("/_lynkflow/snapshot", files={"file": ("state.tar.gz", f, "application/gzip")})
    assert resp.status_code == 200, resp.text
    assert table_rows(ctx) == before
