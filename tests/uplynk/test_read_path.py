"""The Uplynk face's read path: reads never wait for SQLite's write lock, and the rendered-asset
cache never serves a rendering of a row the database no longer holds."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import text

from tests.conftest import BACKEND, UplynkCaller
from tests.uplynk.conftest import make_asset

# A read that waited for the lock would wait for SQLite's busy timeout (30 s).
PROMPT = 3.0


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's single write lock is what a read must not take")
def test_reads_answer_while_another_connection_holds_the_write_lock(make_client) -> None:
    # Signature checking off: a signed call also remembers its msg (the replay guard, a write),
    # which is not what is measured here.
    client = make_client(signature_mode="off")
    ctx = client.app.state.ctx
    api = UplynkCaller(client, ctx.settings.uplynk_owner, ctx.settings.uplynk_api_key)
    ready = make_asset(ctx, desc="ready one", external_id="r1")
    slicing = make_asset(ctx, desc="still slicing", state="slicing")
    api.ok("library/create", desc="shelf")

    holder = sqlite3.connect(ctx.settings.resolved_database_url.split("///", 1)[1], timeout=1)
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long write elsewhere would hold it
    try:
        reads = {
            "asset/get": lambda: api.ok("asset/get", id=ready)["asset"]["desc"] == "ready one",
            "asset/get by ids": lambda: len(api.ok("asset/get", ids=[ready, slicing])["assets"]) == 2,
            "asset/list": lambda: len(api.ok("asset/list")["assets"]) == 2,
            "asset/changes": lambda: len(api.ok("asset/changes", start=0)["changes"]) >= 2,
            "asset/getframe": lambda: "not ready" in api.err("asset/getframe", id=slicing, ts=0),
            "library/list": lambda: len(api.ok("library/list")["libraries"]) == 1,
            "cloudslicer/jobs/list": lambda: api.ok("cloudslicer/jobs/list")["jobs"] == [],
            "subowners/list": lambda: api.ok("subowners/list")["subowners"] == [],
            "assetinfo": lambda: client.get(f"/player/assetinfo/{ready}.json").json()["asset"] == ready,
            "playlist": lambda: client.get(f"/{slicing}.m3u8").status_code == 404,
            "ext playlist": lambda: client.get(f"/ext/{api.owner}/r1.m3u8").status_code == 404,
            "segment playlist": lambda: client.get(f"/segment/0/{ready}.m3u8").status_code == 404,
            "multiple": lambda: client.get(f"/{ready},{slicing}/multiple.m3u8").status_code == 409,
        }
        for name, check in reads.items():
            started = time.monotonic()
            assert check(), name
            assert time.monotonic() - started < PROMPT, f"{name} waited for the write lock"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_row_changed_behind_the_cache_is_rendered_fresh(client, api) -> None:
    """Another process may change a row without moving lastmod (a frozen clock, a direct SQL update):
    the cached rendering of the old row must not be served for it."""
    ctx = client.app.state.ctx
    asset_id = make_asset(ctx, desc="before", meta={"k": "v1"})
    first = api.ok("asset/get", id=asset_id)["asset"]
    assert first["desc"] == "before" and first["meta"] == {"k": "v1"}
    assert api.ok("asset/get", id=asset_id)["asset"] == first  # the cached rendering, same row
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE uplynk_assets SET \"desc\" = 'after', meta = :meta WHERE id = :id"),
                     {"meta": '{"k": "v2"}', "id": asset_id})
    again = api.ok("asset/get", id=asset_id)["asset"]
    assert again["lastmod"] == first["lastmod"]
    assert again["desc"] == "after" and again["meta"] == {"k": "v2"}
    listed = {a["id"]: a for a in api.ok("asset/list")["assets"]}
    assert listed[asset_id]["desc"] == "after"


def test_asset_get_by_id_renders_what_the_batch_path_renders(client, api) -> None:
    """asset/get by ID reads the asset and, on a cache miss, its players, libraries and media on a
    path of its own (no session); its answer must equal the batch rendering (`ids=`) field for field."""
    from lynkflow.db.models import Media, UplynkAsset

    ctx = client.app.state.ctx
    asset_id = make_asset(ctx, desc="with everything", meta={"k": "v"})
    media_id = "ee" * 16
    now = ctx.clock.now_ms()
    with ctx.session() as db:
        db.add(Media(id=media_id, original_filename="clip.mp4", source_path=f"media/{media_id}/source.mp4",
                     size_bytes=1, state="ready", output_dir=f"media/{media_id}/out", created=now, updated=now,
                     renditions={"mp4": "clip.mp4", "thumbs": [f"t{i}.jpg" for i in range(12)],
                                 "poster": "poster.jpg"}))
        db.flush()
        db.get(UplynkAsset, asset_id).media_id = media_id
    api.ok("asset/update", id=asset_id, test_player_url=1)
    api.ok("asset/update", id=asset_id, test_player_url=1)
    for desc in ("shelf b", "shelf a"):
        lib = api.ok("library/create", desc=desc)["library"]["id"]
        api.ok("library/add", id=lib, asset_ids=[asset_id])

    ctx.caches.reset()  # both answers rendered from the database, not from the cache
    by_id = api.ok("asset/get", id=asset_id)["asset"]
    ctx.caches.reset()
    batch = api.ok("asset/get", ids=[asset_id])["assets"][0]
    assert by_id == batch
    assert len(by_id["test_players"]) == 3 and len(by_id["libraries"]) == 2
    assert by_id["libraries"] == sorted(by_id["libraries"])
    assert by_id["mp4_url"].endswith(f"media/{media_id}/out/clip.mp4") and by_id["thumb_url"].endswith("t1.jpg")
