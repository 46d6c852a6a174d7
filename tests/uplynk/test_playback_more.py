"""More Uplynk playback URLs (reference §6.1): multiple.m3u8, segment playlists and the AssetInfo
document, over real ingested clips (frame numbers decoded from the pictures) and over bare asset rows
for the refusals."""

from __future__ import annotations

import io
import shutil

import av
import pytest

from lynkflow.fixtures.framecode import read_frame_number, read_frame_number_bytes
from tests.conftest import LiveServer, UplynkCaller, wait_for
from tests.uplynk.conftest import other_owner

M3U8 = "application/vnd.apple.mpegurl"


def _uris(text: str) -> list[str]:
    return [x for x in text.splitlines() if x and not x.startswith("#")]


def _path(url: str) -> str:
    return url.replace("http://testserver", "")


def _first_frame(client, segment_url: str) -> tuple[int, int]:
    """(frame number, height) of the first picture in a .ts slice fetched through the app."""
    data = client.get(_path(segment_url)).content
    with av.open(io.BytesIO(data)) as c:
        frame = next(c.decode(video=0))
        return read_frame_number(frame.to_image()), frame.height


def _ingest(api: UplynkCaller, clips: dict[str, str]) -> dict[str, str]:
    """Slice each clip (external ID → media file name); wait for all; external ID → asset ID."""
    jobs = {eid: api.ok("cloudslicer/jobs/create", source={"url": name}, args={"external_id": eid})["job"]["id"]
            for eid, name in clips.items()}

    def done() -> dict[str, str] | None:
        out = {}
        for eid, jid in jobs.items():
            job = api.ok("cloudslicer/jobs/get", id=jid)["job"]
            assert job["state"] not in ("error", "cancelled"), job
            if job["state"] != "done":
                return None
            out[eid] = job["asset"]
        return out

    return wait_for(done, timeout=120, interval=0.1)


@pytest.mark.slow
def test_multiple_segment_and_assetinfo_over_real_media(make_client, synth_clips) -> None:
    client = make_client(inproc_workers=1)
    ctx = client.app.state.ctx
    s = ctx.settings
    api = UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)
    media_dir = s.resolved_media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(synth_clips["bars_640x360_25.mp4"], media_dir / "a.mp4")  # 10 s, 25 fps, rays 360 + 234
    shutil.copy(synth_clips["bars_320x240_24_noaudio.mp4"], media_dir / "b.mp4")  # 6 s, 24 fps, ray 234
    ids = _ingest(api, {"first": "a.mp4", "second": "b.mp4"})
    a, b = ids["first"], ids["second"]

    # multiple.m3u8 by asset IDs and by external IDs: one variant per ray of the first asset.
    for url in (f"/{a},{b}/multiple.m3u8", f"/ext/{api.owner}/first,second/multiple.m3u8"):
        resp = client.get(url)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(M3U8), resp.text
        assert _uris(resp.text) == [f"http://testserver/multiple/{a},{b}/ray{n}.m3u8" for n in (0, 1)]
        assert "RESOLUTION=640x360" in resp.text and "RESOLUTION=416x234" in resp.text
    ray0 = client.get(f"/multiple/{a},{b}/ray0.m3u8")
    assert ray0.status_code == 200 and ray0.headers["content-type"].startswith(M3U8)
    segments = _uris(ray0.text)
    assert len(segments) == 3 + 2 and all(u.startswith("http://testserver/storage/") for u in segments)
    assert ray0.text.count("#EXT-X-DISCONTINUITY") == 1 and ray0.text.rstrip().endswith("#EXT-X-ENDLIST")
    lines = ray0.text.splitlines()
    assert lines[lines.index("#EXT-X-DISCONTINUITY") + 2] == segments[3]
    # Each asset's first slice starts at that asset's frame 0; the second asset plays its only (234p) ray.
    assert _first_frame(client, segments[0]) == (0, 360)
    assert _first_frame(client, segments[3]) == (0, 234)
    assert _first_frame(client, segments[1])[0] == 100  # slice 1 of a 25 fps asset starts at 4 s
    assert _uris(client.get(f"/multiple/{a},{b}/ray1.m3u8").text)[3:] == segments[3:]
    assert "rays 0 to 1" in client.get(f"/multiple/{a},{b}/ray2.m3u8").text

    # PyAV plays the whole variant over HTTP: every frame of the first asset, then the second from frame 0.
    with LiveServer(client.app) as live, av.open(f"{live}/multiple/{a},{b}/ray0.m3u8") as c:
        frames = [f.to_image() for f in c.decode(video=0)]
    assert len(frames) == 250 + 144
    assert [read_frame_number(frames[i]) for i in (0, 249, 250, 393)] == [0, 249, 0, 143]
    assert frames[249].size == (640, 360) and frames[250].height == 234

    # Segment playlists: only slice n (0-based) of each ray.
    for url in (f"/segment/2/{a}.m3u8", f"/segment/2/ext/{api.owner}/first.m3u8"):
        resp = client.get(url)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith(M3U8)
        assert _uris(resp.text) == [f"http://testserver/segment/2/{a}/ray{r}.m3u8" for r in (0, 1)]
    one = client.get(f"/segment/2/{a}/ray0.m3u8").text
    assert len(_uris(one)) == 1 and _uris(one)[0] == _uris(client.get(f"/multiple/{a}/ray0.m3u8").text)[2]
    assert _first_frame(client, _uris(one)[0]) == (200, 360)
    gone = client.get(f"/segment/3/{a}.m3u8")
    assert gone.status_code == 404 and "slices 0 to 2" in gone.text
    assert client.get(f"/segment/2/ext/{api.owner}/second.m3u8").status_code == 404
    assert client.get(f"/segment/0/{a}/ray2.m3u8").status_code == 404

    # AssetInfo: what lynkflow knows of the asset, with working thumbnail and poster URLs.
    info = client.get(f"/player/assetinfo/{a}.json")
    assert info.status_code == 200 and info.headers["access-control-allow-origin"] == "*"
    doc = info.json()
    assert doc["asset"] == a and doc["external_id"] == "first" and doc["owner"] == api.owner
    assert abs(doc["duration"] - 10.0) < 0.1 and doc["max_slice"] == 2 and doc["slice_dur"] == 4.0
    assert doc["error"] == 0 and doc["is_ad"] == 0 and doc["audio_only"] == 0
    assert doc["tv_rating"] == -1 and doc["movie_rating"] == -1 and doc["rating_flags"] == 0
    assert len(doc["rates"]) == 2 and doc["rates"] == sorted(doc["rates"]) and doc["rates"][0] > 0
    thumb = client.get(_path(doc["thumb_prefix"] + "00000001.jpg"))
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert read_frame_number_bytes(thumb.content) == 100  # the thumbnail of slice 1 is its first frame
    assert client.get(_path(doc["default_poster_url"])).status_code == 200
    assert client.get(f"/player/assetinfo/{b}.json").json()["max_slice"] == 1


def test_multiple_segment_assetinfo_refusals(client, api, asset_factory) -> None:
    ctx = client.app.state.ctx
    owner = ctx.settings.uplynk_owner
    r1 = asset_factory(external_id="r1", duration=10.0)
    r2 = asset_factory(external_id="r2", duration=10.0)
    slicing = asset_factory(external_id="s", state="slicing")
    long1 = asset_factory(duration=9 * 3600.0)
    long2 = asset_factory(duration=7 * 3600.0)
    theirs = asset_factory(owner=other_owner(client).owner, duration=10.0)
    missing = "0" * 32

    def refused(url: str, status: int, fragment: str) -> None:
        resp = client.get(url)
        assert resp.status_code == status, (url, resp.text)
        assert resp.headers["content-type"].startswith("text/plain") and fragment in resp.text, (url, resp.text)

    refused(f"/{r1},{r1}/multiple.m3u8", 400, "listed twice")
    refused(f"/ext/{owner}/r1,r1/multiple.m3u8", 400, "listed twice")
    refused(f"/{r1},,{r2}/multiple.m3u8", 400, "empty asset ID")
    refused(f"/{r1},{theirs}/multiple.m3u8", 400, "different owners")
    refused(f"/{long1},{long2}/multiple.m3u8", 400, "under 16 h")
    refused(f"/{r1},{slicing}/multiple.m3u8", 409, f"asset {slicing} is slicing")
    refused(f"/ext/{owner}/r1,s/multiple.m3u8", 409, "is slicing")
    refused(f"/{r1},{missing}/multiple.m3u8", 404, "no such asset")
    refused(f"/{r1},NOPE/multiple.m3u8", 404, "32 lowercase hex")
    refused(f"/ext/{owner}/r1,nope/multiple.m3u8", 404, "no asset with external ID 'nope'")
    refused(f"/multiple/{r1},{r2}/rayX.m3u8", 400, "whole number")
    # Ready rows without ingest outputs pass every rule but have nothing to play.
    refused(f"/{r1},{r2}/multiple.m3u8", 404, "has no playlists")
    refused(f"/{','.join([r1] * 101)}/multiple.m3u8", 400, "at most 100")

    refused(f"/segment/0/{slicing}.m3u8", 404, "is slicing")
    refused(f"/segment/0/{missing}.m3u8", 404, "no such asset")
    refused(f"/segment/0/ext/{owner}/nope.m3u8", 404, "no such asset")
    refused(f"/segment/-1/{r1}.m3u8", 400, "whole number")
    refused(f"/segment/0/{r1}/ray0.m3u8", 404, "has no playlists")

    gone = asset_factory(external_id="gone", duration=10.0)
    api.ok("asset/delete", ids=gone)
    refused(f"/{r1},{gone}/multiple.m3u8", 404, f"no such asset {gone}")
    for bad in (missing, "NOPE", gone):
        resp = client.get(f"/player/assetinfo/{bad}.json")
        assert resp.status_code == 404 and resp.json()["error"] == 1 and resp.json()["msg"], resp.text
    doc = client.get(f"/player/assetinfo/{slicing}.json").json()
    assert doc["error"] == 0 and doc["asset"] == slicing and doc["rates"] == [] and doc["max_slice"] == -1
    assert "thumb_prefix" not in doc and "default_poster_url" not in doc
