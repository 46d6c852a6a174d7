"""The Event `video` object: playable URLs for an event's ingested recording, and its player page."""

from __future__ import annotations

import io
import shutil
from urllib.parse import urljoin

import av
import pytest
from sqlalchemy import event as sa_event

from tests.conftest import wait_for
from tests.vuflow.helpers import assert_vis_error

BASE = "http://testserver"


def _path(url: str) -> str:
    assert url.startswith(BASE + "/"), url
    return url.removeprefix(BASE)


def _playlist_uris(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _ingested_event(client, headers, clip, name: str = "match.mp4") -> dict:
    """An event whose recording went through a real ingest (PATCH sourcePath), once it is VOD_PRIVATE."""
    ctx = client.app.state.ctx
    inbox = ctx.settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, inbox / name)
    eid = client.post("/api/event/", json={"title": "Match"}, headers=headers).json()["id"]
    resp = client.patch(f"/api/event/{eid}", json={"sourcePath": name}, headers=headers)
    assert resp.status_code == 200, resp.text
    # While the ingest runs there is no playable recording yet.
    assert resp.json()["video"] is None
    return wait_for(lambda: (e := client.get(f"/api/event/{eid}", headers=headers).json())["state"] != 9 and e, 90)


@pytest.mark.slow
def test_video_of_an_ingested_event(make_client, short_clip) -> None:
    client = make_client(inproc_workers=1)
    h = {"API-KEY": client.app.state.ctx.settings.vuflow_api_key}
    event = _ingested_event(client, h, short_clip)
    assert event["stateString"] == "VOD_PRIVATE", event
    eid = event["id"]
    video = event["video"]
    assert set(video) == {"playerUrl", "embedCode", "scriptablePlayerUrl", "liveUrls", "vodUrls", "currentStateUrls"}
    assert video["liveUrls"] == []
    assert len(video["vodUrls"]) == 1 and video["currentStateUrls"] == video["vodUrls"]
    hls = video["vodUrls"][0]
    assert {k: v for k, v in hls.items() if k != "url"} == {
        "streamProtocol": 0, "streamProtocolString": "HLS", "streamSource": 0, "streamSourceString": "ORIGIN"}
    assert hls["url"].startswith(f"{BASE}/storage/") and hls["url"].endswith(".m3u8"), hls

    # The master playlist, one variant playlist and its first segment are served, and the segment decodes.
    master = client.get(_path(hls["url"]))
    assert master.status_code == 200 and master.text.startswith("#EXTM3U"), master.text
    variants = _playlist_uris(master.text)
    assert variants and all(v.endswith(".m3u8") for v in variants), master.text
    variant_url = urljoin(hls["url"], variants[0])
    variant = client.get(_path(variant_url))
    assert variant.status_code == 200, variant_url
    segments = _playlist_uris(variant.text)
    assert segments, variant.text
    segment = client.get(_path(urljoin(variant_url, segments[0])))
    assert segment.status_code == 200
    with av.open(io.BytesIO(segment.content)) as container:
        frame = next(container.decode(video=0))
    assert frame.height > 0 and frame.width * 3 == frame.height * 4  # the 4:3 source, at some rung

    # The player page plays that recording; the embed code is an iframe of its bare form.
    assert video["playerUrl"] == video["scriptablePlayerUrl"] == f"{BASE}/vis/player/{eid}.html"
    page = client.get(_path(video["playerUrl"]))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'data-hls="{_path(hls["url"])}"' in page.text and 'data-mp4="/storage/' in page.text
    assert video["embedCode"].startswith(f'<iframe src="{BASE}/vis/player/{eid}.html?embed=true"')
    embed = client.get(f"/vis/player/{eid}.html?embed=true")
    assert embed.status_code == 200 and 'class="embed"' in embed.text and "data-hls=" in embed.text
    mp4 = client.get(page.text.split('data-mp4="', 1)[1].split('"', 1)[0])
    assert mp4.status_code == 200 and mp4.headers["content-type"] == "video/mp4"

    # ProcessVideo turns it off (any case of the name); a list leaves it null unless asked.
    for query in ("ProcessVideo=false", "processvideo=FALSE", "PROCESSVIDEO=0"):
        assert client.get(f"/api/event/{eid}?{query}", headers=h).json()["video"] is None, query
    assert client.get(f"/api/event/{eid}?ProcessVideo=true", headers=h).json()["video"] == video
    assert client.get(f"/event/{eid}", headers=h).json()["video"] == video  # the root mount too
    listed = client.get("/api/event/", headers=h).json()["results"]
    assert [e["video"] for e in listed if e["id"] == eid] == [None]

    # A list with ProcessVideo=true fills it from one batched media query, however many events it holds.
    for i in range(3):
        resp = client.post("/api/event/", json={"title": f"Replay {i}", "mediaId": event["lynkflowMediaId"]},
                           headers=h)
        assert resp.status_code == 200, resp.text
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001 - SQLAlchemy event signature
        statements.append(statement)

    engine = client.app.state.ctx.engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        listed = client.get("/api/event/?processVideo=true", headers=h).json()["results"]
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert len(listed) == 4 and all(e["video"] is not None for e in listed)
    assert all(e["video"]["vodUrls"] == video["vodUrls"] for e in listed if e["video"])
    assert sum(1 for s in statements if "FROM media" in s) == 1, statements

    # A soft-deleted event has no video and no player page.
    assert client.delete(f"/api/event/{eid}", headers=h).status_code in (200, 204)
    deleted = client.get("/api/event/deleted/?ProcessVideo=true", headers=h).json()["results"]
    assert [e["video"] for e in deleted] == [None]
    assert client.get(f"/vis/player/{eid}.html").status_code == 404


def test_no_recording_means_no_video(client, vis_headers) -> None:
    event = client.post("/api/event/", json={"title": "Later"}, headers=vis_headers).json()
    assert event["video"] is None and event["stateString"] == "PRE_VOD"
    for query in ("", "?ProcessVideo=true"):
        got = client.get(f"/api/event/{event['id']}{query}", headers=vis_headers)
        assert got.status_code == 200 and got.json()["video"] is None, got.text
    # The player page of an event without a recording says so instead of failing.
    page = client.get(f"/vis/player/{event['id']}.html")
    assert page.status_code == 200 and 'id="not-playable"' in page.text and "<video" not in page.text


def test_process_video_refuses_non_booleans(client, vis_headers) -> None:
    eid = client.post("/api/event/", json={"title": "x"}, headers=vis_headers).json()["id"]
    body = assert_vis_error(client.get(f"/api/event/{eid}?ProcessVideo=maybe", headers=vis_headers), 400,
                            "InvalidQuery")
    assert "ProcessVideo" in body["exceptionMessage"]
    assert_vis_error(client.get("/api/event/?processvideo=yes please", headers=vis_headers), 400, "InvalidQuery")
    # Blank means the default.
    assert client.get(f"/api/event/{eid}?ProcessVideo=", headers=vis_headers).status_code == 200


def test_player_page_of_unknown_event_is_404(client) -> None:
    for event_id in ("00000000-0000-0000-0000-000000000000", "not-a-guid", "x" * 200):
        resp = client.get(f"/vis/player/{event_id}.html")
        assert resp.status_code == 404 and 'id="not-found"' in resp.text, event_id
