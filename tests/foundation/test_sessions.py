"""The session rule, seen from outside: a write is committed before its answer leaves the server,
a refused request leaves no partial write, and reads never wait for SQLite's write lock."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKEND, LiveServer


def test_a_write_is_committed_before_its_answer_is_sent(client, vis_headers, db_url) -> None:
    # Over real HTTP, another connection reads the row the moment the answer arrives: a commit
    # that ran after the response was sent would lose this race now and then, so try it many times.
    other = create_engine(db_url)
    try:
        with LiveServer(client.app) as base, httpx.Client(base_url=base, headers=vis_headers) as http:
            for i in range(40):
                made = http.post("/api/vuflow/", json={"name": f"flow {i}"})
                assert made.status_code == 200, made.text
                with other.connect() as conn:
                    found = conn.execute(text("SELECT name FROM vis_vuflows WHERE id = :id"),
                                         {"id": made.json()["id"]}).scalar()
                assert found == f"flow {i}", f"write {i} was not committed when its answer arrived"
                # The controlled path too: the next request (another pooled connection) sees it.
                assert http.get(f"/api/vuflow/{made.json()['id']}").json()["name"] == f"flow {i}"
    finally:
        other.dispose()


def test_a_refused_request_leaves_no_partial_write(client, vis_headers) -> None:
    # The event row is written first, then the unknown media id is refused: nothing may remain.
    resp = client.post("/api/event/", json={"title": "half", "mediaId": "0" * 32}, headers=vis_headers)
    assert resp.status_code == 404, resp.text
    listing = client.get("/api/event/", headers=vis_headers).json()
    assert listing["totalCount"] == 0, listing


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's database-wide write lock")
def test_reads_do_not_wait_for_the_write_lock(client, vis_headers, db_url) -> None:
    flow = client.post("/api/vuflow/", json={"name": "locked"}, headers=vis_headers).json()
    holder = create_engine(db_url, connect_args={"isolation_level": None})
    conn = holder.raw_connection()
    try:
        conn.driver_connection.execute("BEGIN IMMEDIATE")  # another process is writing, and stays
        with LiveServer(client.app) as base, httpx.Client(base_url=base, headers=vis_headers, timeout=5) as http:
            for path in ("/api/vuflow/", f"/api/vuflow/{flow['id']}", "/api/event/", "/api/asset/",
                         "/api/event/reference/unique/?refId=x", "/_lynkflow/jobs"):
                resp = http.get(path)
                assert resp.status_code == 200, (path, resp.text)
    finally:
        conn.driver_connection.execute("ROLLBACK")
        conn.close()
        holder.dispose()


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's database-wide write lock")
@pytest.mark.parametrize("how", ["create", "patch"])
def test_a_recording_is_copied_before_the_write_lock_is_taken(client, vis_headers, db_url, monkeypatch,
                                                              how: str) -> None:
    # While lynkflow copies a sourcePath recording (gigabytes, for a real one), another writer must
    # be able to take SQLite's write lock at once: the copy may not run inside the route's transaction.
    import shutil

    from lynkflow.domain import media as media_domain

    ctx = client.app.state.ctx
    inbox = ctx.settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "big.mp4").write_bytes(b"not a real recording; the ingest job has not run yet")
    # A short wait, not none: the journal flusher and other writers take the lock for moments too. If the
    # route held it during the copy, this would wait the full 2 s and fail (the copy waits for us).
    other = create_engine(db_url, connect_args={"isolation_level": None, "timeout": 2})
    seen: list[str] = []
    real_copy = shutil.copyfile

    def copy_while_another_writer_locks(src, dst, *args, **kwargs):  # noqa: ANN001, ANN202
        conn = other.raw_connection()
        try:
            conn.driver_connection.execute("BEGIN IMMEDIATE")  # fails if the route holds the lock
            conn.driver_connection.execute("ROLLBACK")
            seen.append("free")
        finally:
            conn.close()
        return real_copy(src, dst, *args, **kwargs)

    monkeypatch.setattr(media_domain.shutil, "copyfile", copy_while_another_writer_locks)
    try:
        if how == "create":
            resp = client.post("/api/event/", json={"title": "Rec", "sourcePath": "big.mp4"}, headers=vis_headers)
        else:
            made = client.post("/api/event/", json={"title": "Rec"}, headers=vis_headers).json()
            resp = client.patch(f"/api/event/{made['id']}", json={"sourcePath": "big.mp4"}, headers=vis_headers)
        assert resp.status_code == 200, resp.text
        assert resp.json()["stateString"] == "VOD_INGESTING"
        assert seen == ["free"]
        # A refusal after the copy leaves no copied file behind.
        before = sorted(p.name for p in ctx.storage.root.joinpath("media").iterdir())
        bad = client.post("/api/event/", json={"title": "dup", "sourcePath": "big.mp4", "id": resp.json()["id"]},
                          headers=vis_headers)
        assert bad.status_code == 409, bad.text
        assert sorted(p.name for p in ctx.storage.root.joinpath("media").iterdir()) == before
    finally:
        other.dispose()
