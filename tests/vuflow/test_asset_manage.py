"""GET/PUT/DELETE /asset/… and PUT /asset/sync/{event-id}."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from lynkflow import ids
from lynkflow.db.models import Job, VisAsset, VisEvent
from tests.vuflow.helpers import assert_vis_error, event_with_recording, gif_body, make_vuflow


def _add(ctx, event_id: str, file_name: str, *, type_: int, state: int, created: int, job_id: str | None = None,
         write: bool = False) -> str:
    """An asset row (and optionally its file) straight through the model: fast bulk setup."""
    with ctx.session() as db:
        event = db.get(VisEvent, event_id)
        folder = "vod" if type_ == 0 else "assets"
        rel = f"{event.content_id}/{folder}/{file_name}"
        if write:
            path = ctx.storage.vis_root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
        asset = VisAsset(id=ids.guid(), event_id=event_id, api_key=event.api_key, name=file_name, path=rel,
                         extension=file_name.rsplit(".", 1)[-1], state=state, type=type_, job_id=job_id,
                         content_id=event.content_id, params={}, created=created, modified=created)
        db.add(asset)
        return asset.id


@pytest.fixture
def setup(client, vis_headers, short_clip):
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    flow = make_vuflow(ctx, key)
    a = event_with_recording(ctx, key, short_clip, vuflow_id=flow, content_id="event-a")
    b = event_with_recording(ctx, key, short_clip, vuflow_id=flow, content_id="event-b")
    return ctx, a, b


def _names(resp) -> list[str]:
    assert resp.status_code == 200, resp.text
    return sorted(a["name"] for a in resp.json())


def test_filters(client, vis_headers, setup) -> None:
    ctx, a, b = setup
    _add(ctx, a, "one.gif", type_=3, state=1, created=10, job_id="71")
    _add(ctx, a, "two.jpg", type_=1, state=2, created=11, job_id="72")
    _add(ctx, a, "thumbs_sprite.jpg", type_=1, state=1, created=12)
    _add(ctx, b, "three.mp4", type_=2, state=0, created=13, job_id="73")
    h = vis_headers
    get = lambda q: _names(client.get(f"/api/asset/?{q}", headers=h))  # noqa: E731
    assert get(f"eventId={a}") == ["event-a.mp4", "one.gif", "thumbs_sprite.jpg", "two.jpg"]
    assert get("contentId=event-b") == ["event-b.mp4", "three.mp4"]
    assert get("jobId=72") == ["two.jpg"]
    assert get("name=one.gif") == ["one.gif"]
    assert get("states=COMPLETED") == ["event-a.mp4", "event-b.mp4", "one.gif", "thumbs_sprite.jpg"]
    assert get("states=2,0") == ["three.mp4", "two.jpg"]
    assert get("states=failed,GENERATING") == ["three.mp4", "two.jpg"]
    assert get("types=SYSTEM") == ["event-a.mp4", "event-b.mp4"]
    assert get("types=3,video") == ["one.gif", "three.mp4"]
    assert get("extensions=jpg") == ["thumbs_sprite.jpg", "two.jpg"]
    assert get("extensions=_sprite.jpg") == ["thumbs_sprite.jpg"]
    assert get("extensions=gif,.mp4") == ["event-a.mp4", "event-b.mp4", "one.gif", "three.mp4"]
    assert get(f"EventId={a}&Types=IMAGE&States=1&noCache=true") == ["thumbs_sprite.jpg"]
    assert get("name=nothing") == []
    assert_vis_error(client.get("/api/asset/?states=DONE", headers=h), 400, "InvalidAssetState")
    assert_vis_error(client.get("/api/asset/?types=9", headers=h), 400, "InvalidAssetType")
    assert_vis_error(client.get("/api/asset/?noCache=perhaps", headers=h), 400, "InvalidQuery")


def test_filter_values_are_bound_into_one_statement_per_shape(client, vis_headers, setup) -> None:
    """The page statement is prepared once per filter shape (vis_assets._filtered_page): list values bind
    one parameter each, and an extension matched against the path binds its LIKE-escaped text (a '_' or
    '%' in it is a literal character, as SQLAlchemy's autoescape made it)."""
    from lynkflow.domain import vis_assets

    ctx, a, b = setup
    _add(ctx, a, "x_y.gif", type_=3, state=1, created=10)
    _add(ctx, a, "xzy.gif", type_=3, state=1, created=11)
    _add(ctx, a, "p%q.gif", type_=3, state=2, created=12)
    _add(ctx, a, "pq.gif", type_=3, state=2, created=13)
    h = vis_headers
    get = lambda q: _names(client.get(f"/api/asset/?{q}", headers=h))  # noqa: E731
    assert get("extensions=x_y.gif") == ["x_y.gif"]
    assert get("extensions=%25q.gif") == ["p%q.gif"]
    assert get("extensions=/q.gif") == []
    assert get("states=1,COMPLETED,1&types=GIF") == ["x_y.gif", "xzy.gif"]
    assert get("states=FAILED,FAILED&types=GIF") == ["p%q.gif", "pq.gif"]
    first = vis_assets._filtered_page(*_shapes(vis_assets, states=[1], extensions=["a.gif"]))
    assert vis_assets._filtered_page(*_shapes(vis_assets, states=[2], extensions=["b.mp4"])) is first


def _shapes(vis_assets, **filters):  # noqa: ANN001, ANN202
    f = vis_assets.AssetFilter(**filters)
    return vis_assets._bound(f)[0], vis_assets._extension_shape(f.extensions)[0]


def test_pagination_over_250(client, vis_headers, setup) -> None:
    ctx, a, _ = setup
    made = [_add(ctx, a, f"g{i:03d}.gif", type_=3, state=1, created=1000 + i) for i in range(250)]
    pages = [client.get(f"/api/asset/?types=GIF&pageIndex={i}", headers=vis_headers).json() for i in range(4)]
    assert [len(p) for p in pages] == [100, 100, 50, 0]
    assert [x["id"] for p in pages for x in p] == made  # oldest first, no overlap, no gap
    assert [x["id"] for x in client.get("/api/asset/?types=GIF", headers=vis_headers).json()] == made[:100]
    assert isinstance(client.get("/api/asset/", headers=vis_headers).json(), list)  # a bare array


def test_get_and_rename(client, vis_headers, setup) -> None:
    ctx, a, _ = setup
    aid = _add(ctx, a, "one.gif", type_=3, state=1, created=10)
    got = client.get(f"/api/asset/{aid}/?noCache=true", headers=vis_headers)
    assert got.status_code == 200 and got.json()["name"] == "one.gif"
    assert client.get(f"/api/asset/{aid}", headers=vis_headers).json() == got.json()
    renamed = client.put(f"/api/asset/{aid}/?Name=Better name", headers=vis_headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Better name"
    assert renamed.json()["path"] == got.json()["path"]  # a rename does not move the file
    assert client.put(f"/api/asset/{aid}?name=lower", headers=vis_headers).json()["name"] == "lower"
    assert_vis_error(client.put(f"/api/asset/{aid}/", headers=vis_headers), 400, "MissingField")
    assert_vis_error(client.put(f"/api/asset/{aid}/?name=%20", headers=vis_headers), 400, "MissingField")
    missing = "0a0a0a0a-0000-4000-8000-000000000000"
    assert_vis_error(client.get(f"/api/asset/{missing}/", headers=vis_headers), 404, "AssetNotFound")
    assert_vis_error(client.put(f"/api/asset/{missing}/?name=x", headers=vis_headers), 404, "AssetNotFound")


def test_delete_one(client, vis_headers, setup) -> None:
    ctx, a, _ = setup
    user = _add(ctx, a, "one.gif", type_=3, state=1, created=10, write=True)
    path = ctx.storage.vis_root / "event-a/assets/one.gif"
    assert path.is_file()
    assert client.delete(f"/api/asset/{user}", headers=vis_headers).status_code == 200
    assert not path.exists()
    assert_vis_error(client.get(f"/api/asset/{user}/", headers=vis_headers), 404)
    assert_vis_error(client.delete(f"/api/asset/{user}", headers=vis_headers), 404)
    [system] = client.get(f"/api/asset/?eventId={a}&types=SYSTEM", headers=vis_headers).json()
    assert_vis_error(client.delete(f"/api/asset/{system['id']}", headers=vis_headers), 400, "SystemAssetNotDeletable")
    assert (ctx.storage.vis_root / system["path"]).is_file()


def test_delete_many(client, vis_headers, setup) -> None:
    ctx, a, b = setup
    _add(ctx, a, "one.gif", type_=3, state=1, created=10, write=True)
    _add(ctx, a, "two.jpg", type_=1, state=2, created=11)
    _add(ctx, b, "three.gif", type_=3, state=1, created=12, write=True)
    assert_vis_error(client.delete("/api/asset/", headers=vis_headers), 400, "NoDeleteFilter")
    assert_vis_error(client.delete("/api/asset/?extensions=gif", headers=vis_headers), 400, "NoDeleteFilter")
    assert client.delete(f"/api/asset/?eventId={a}", headers=vis_headers).status_code == 200
    assert _names(client.get(f"/api/asset/?eventId={a}", headers=vis_headers)) == ["event-a.mp4"]  # SYSTEM kept
    assert not (ctx.storage.vis_root / "event-a/assets/one.gif").exists()
    assert (ctx.storage.vis_root / "event-a/vod/event-a.mp4").is_file()
    assert (ctx.storage.vis_root / "event-b/assets/three.gif").is_file()
    assert client.delete("/api/asset/?types=GIF,SYSTEM", headers=vis_headers).status_code == 200
    assert _names(client.get("/api/asset/", headers=vis_headers)) == ["event-a.mp4", "event-b.mp4"]


def test_deleting_a_generating_asset_cancels_its_job(client, vis_headers, setup) -> None:
    ctx, a, _ = setup
    asset = client.post("/api/asset/gif/", json=gif_body(a), headers=vis_headers).json()
    assert client.delete(f"/api/asset/?jobId={asset['jobId']}", headers=vis_headers).status_code == 200
    with ctx.session() as db:
        assert db.get(Job, int(asset["jobId"])).state == "cancelled"


def test_sync(client, vis_headers, setup) -> None:
    ctx, a, _ = setup
    vod = ctx.storage.vis_root / "event-a" / "vod"
    sync = lambda: client.put(f"/api/asset/sync/{a}", headers=vis_headers)  # noqa: E731
    first = sync()
    assert first.status_code == 200
    assert first.json() == {"hasVodFileChanged": False, "createdAssetsCount": 0, "deletedAssetsCount": 0,
                            "pathEvaluated": "event-a/vod"}
    # Files added by hand get SYSTEM assets; a file outside the VOD folder with an asset stays.
    (vod / "thumbs").mkdir()
    (vod / "thumbs" / "t_sprite.jpg").write_bytes(b"jpg")
    (vod / "extra.ism").write_bytes(b"ism")
    (vod / ".hidden").write_bytes(b"skip")
    _add(ctx, a, "kept.gif", type_=3, state=1, created=10, write=True)
    _add(ctx, a, "pending.gif", type_=3, state=0, created=11)  # GENERATING: no file yet, not "missing"
    assert sync().json()["createdAssetsCount"] == 2
    listed = {x["path"]: x for x in client.get(f"/api/asset/?eventId={a}", headers=vis_headers).json()}
    sprite = listed["event-a/vod/thumbs/t_sprite.jpg"]
    assert (sprite["typeString"], sprite["stateString"], sprite["extension"]) == ("SYSTEM", "COMPLETED", "jpg")
    assert "event-a/assets/kept.gif" in listed and "event-a/assets/pending.gif" in listed
    assert sync().json()["createdAssetsCount"] == 0  # idempotent
    # Files removed by hand lose their assets; removing the VOD MP4 moves the VOD file to what is left.
    (vod / "extra.ism").unlink()
    (ctx.storage.vis_root / "event-a/assets/kept.gif").unlink()
    (vod / "event-a.mp4").unlink()
    result = sync().json()
    assert result == {"hasVodFileChanged": True, "createdAssetsCount": 0, "deletedAssetsCount": 3,
                      "pathEvaluated": "event-a/vod"}
    left = sorted(x["path"] for x in client.get(f"/api/asset/?eventId={a}", headers=vis_headers).json())
    assert left == ["event-a/assets/pending.gif", "event-a/vod/thumbs/t_sprite.jpg"]
    with ctx.session() as db:
        assert db.get(VisEvent, a).vod_file is None


def test_sync_moves_the_vod_file_to_another_mp4(client, vis_headers, setup) -> None:
    ctx, a, _ = setup
    vod = ctx.storage.vis_root / "event-a" / "vod"
    shutil.move(vod / "event-a.mp4", vod / "renamed.mp4")
    result = client.put(f"/api/asset/sync/{a}", headers=vis_headers).json()
    assert (result["hasVodFileChanged"], result["createdAssetsCount"], result["deletedAssetsCount"]) == (True, 1, 1)
    with ctx.session() as db:
        assert db.get(VisEvent, a).vod_file == "event-a/vod/renamed.mp4"
        assert db.scalar(select(VisAsset.path).where(VisAsset.event_id == a)) == "event-a/vod/renamed.mp4"


def test_sync_refusals(client, vis_headers, setup) -> None:
    fresh = client.post("/api/event/", json={"title": "no vod"}, headers=vis_headers).json()["id"]
    assert_vis_error(client.put(f"/api/asset/sync/{fresh}", headers=vis_headers), 409, "EventHasNoVod")
    assert_vis_error(client.put("/api/asset/sync/0c0c0c0c-0000-4000-8000-000000000000", headers=vis_headers),
                     404, "EventNotFound")


def test_event_id_filter_must_be_a_guid(client, vis_headers, setup) -> None:
    """The seed types eventId as a guid: a malformed one is a 400 naming it, not an empty list that
    reads as "this event has no assets" (GET) or a delete that quietly matches nothing (DELETE)."""
    for method in ("GET", "DELETE"):
        body = assert_vis_error(client.request(method, "/api/asset/?eventId=not-a-guid", headers=vis_headers),
                                400, "InvalidEventId")
        assert "not-a-guid" in body["exceptionMessage"] and "GUID" in body["exceptionMessage"]
    ctx, a, _ = setup
    upper = client.get(f"/api/asset/?eventId={a.upper()}", headers=vis_headers)
    assert upper.status_code == 200  # a well-formed GUID is a filter, whatever its case
