"""Real media through the api2 face: cloud-slicer jobs that ingest synthetic clips, then getframe /
getthumbs pixels (frame numbers decoded from the pictures), playback playlists, and MP4 export."""

from __future__ import annotations

import base64
import functools
import http.server
import io
import shutil
import threading

import av
import pytest
from PIL import Image

from lynkflow.fixtures.framecode import read_frame_number_bytes
from tests.conftest import UplynkCaller, wait_for

pytestmark = pytest.mark.slow


def _api(client) -> UplynkCaller:
    s = client.app.state.ctx.settings
    return UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)


def _job_done(api: UplynkCaller, job_id: str, timeout: float = 90) -> dict:
    states = []

    def check():
        job = api.ok("cloudslicer/jobs/get", id=job_id)["job"]
        states.append(job["state"])
        return job if job["state"] in ("done", "error", "cancelled") else None

    job = wait_for(check, timeout=timeout, interval=0.1)
    assert job["state"] == "done", job
    assert set(states) <= {"waiting", "assigned", "done"}
    return job


def _path(url: str) -> str:
    return url.replace("http://testserver", "")


def test_slice_getframe_getthumbs_playback_export(make_client, synth_clips) -> None:
    client = make_client(inproc_workers=1)
    api = _api(client)
    ctx = client.app.state.ctx
    media_dir = ctx.settings.resolved_media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(synth_clips["bars_640x360_25.mp4"], media_dir / "bars.mp4")

    created = api.ok("cloudslicer/jobs/create", source={"url": "bars.mp4"},
                     args={"external_id": "bars-1", "description": "Bars and tone",
                           "meta": "genre=action,,,license=open_source"})["job"]
    assert created["state"] in ("waiting", "assigned") and created["finished"] == 0
    assert created["source"] == {"url": "bars.mp4"} and created["owner"] == api.owner
    job = _job_done(api, created["id"])
    assert job["finished"] > 0 and job["progress"] == "Finished successfully" and job["attempts"] == 1
    aid = job["asset"]

    a = api.ok("asset/get", external_id="bars-1")["asset"]
    assert a["id"] == aid and a["state"] == "ready" and a["desc"] == "Bars and tone"
    assert a["meta"] == {"genre": "action", "license": "open_source"}
    assert a["rays"] == 2 and a["slices"] == 3 and abs(a["duration"] - 10.0) < 0.1
    assert a["orig_filename"] == "bars.mp4"
    for key in ("mp4_url", "thumb_url", "ttml_url", "default_poster_url"):
        resp = client.get(_path(a[key]))
        assert resp.status_code == 200, (key, a[key])
    assert client.get(_path(a["thumb_url"])).headers["content-type"] == "image/jpeg"
    assert b"<tt" in client.get(_path(a["ttml_url"])).content

    # getframe: highest ray (360p), PNG, frame-accurate (25 fps: frame n covers [n/25, (n+1)/25)).
    for ts, frame in ((0, 0), (1000, 25), ("00:00:02.040", 51), ("00:04.999", 124), (9999, 249)):
        png = base64.b64decode(api.ok("asset/getframe", id=aid, ts=ts)["img"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert Image.open(io.BytesIO(png)).size == (640, 360)
        assert read_frame_number_bytes(png) == frame, ts
    for ts in (10000, 60000):
        assert "outside the asset" in api.err("asset/getframe", id=aid, ts=ts)
    assert "ts must be" in api.err("asset/getframe", id=aid, ts="soon")
    assert "missing required parameter ts" in api.err("asset/getframe", id=aid)

    # getthumbs: lowest ray (234p), every frame of [start, stop), default stop = start + 1 s.
    imgs = api.ok("asset/getthumbs", id=aid, start=1000)["imgs"]
    numbers = [read_frame_number_bytes(base64.b64decode(i)) for i in imgs]
    assert numbers == list(range(25, 50))
    assert Image.open(io.BytesIO(base64.b64decode(imgs[0]))).size[1] == 234
    imgs = api.ok("asset/getthumbs", external_id="bars-1", start="00:09.800", stop="00:09.880")["imgs"]
    assert [read_frame_number_bytes(base64.b64decode(i)) for i in imgs] == [245, 246]
    assert "at most 1000 ms" in api.err("asset/getthumbs", id=aid, start=0, stop=1001)
    assert "must be after start" in api.err("asset/getthumbs", id=aid, start=500, stop=500)
    assert "outside the asset" in api.err("asset/getthumbs", id=aid, start=10000)

    # Playback: master playlists by ID and by external ID, then a ray playlist and a slice.
    for url in (f"/{aid}.m3u8", f"/ext/{api.owner}/bars-1.m3u8"):
        resp = client.get(url)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/vnd.apple.mpegurl")
        lines = [x for x in resp.text.splitlines() if x and not x.startswith("#")]
        assert len(lines) == 2 and all(x.startswith("http://testserver/storage/") for x in lines)
        assert "RESOLUTION=640x360" in resp.text
    ray = client.get(_path(lines[0]))
    assert ray.status_code == 200
    segment = next(x for x in ray.text.splitlines() if x and not x.startswith("#"))
    seg = client.get(_path(lines[0]).rsplit("/", 1)[0] + "/" + segment)
    assert seg.status_code == 200 and seg.content[:1] == b"\x47"  # MPEG-TS sync byte
    assert client.get(f"/{'0' * 32}.m3u8").status_code == 404
    assert client.get(f"/ext/{api.owner}/nope.m3u8").status_code == 404

    # Export: an MP4 of the asset, served from storage.
    export = api.ok("cloudslicer/jobs/create_export", asset=aid, aaclc="1")["job"]
    assert export["args"] == {"export_mp4": True, "aaclc": "1"} and export["source"] == {}
    assert export["asset"] == aid and export["hd_exported_url"] is None
    export = _job_done(api, export["id"])
    url = export["hd_exported_url"]
    assert "/storage/uplynk/" in url and "/exports/" in url and url.endswith(".mp4")
    data = client.get(_path(url)).content
    with av.open(io.BytesIO(data)) as c:
        assert abs(float(c.duration / 1_000_000) - 10.0) < 0.2
        assert c.streams.video[0].height == 360
    assert "Asset not found" in api.err("cloudslicer/jobs/create_export", asset="0" * 32)

    listed = api.ok("cloudslicer/jobs/list", limit=10)["jobs"]
    assert [j["id"] for j in listed] == [export["id"], job["id"]]
    assert [j["id"] for j in api.ok("cloudslicer/jobs/list", limit=1, skip=1)["jobs"]] == [job["id"]]
    out = api.ok("cloudslicer/jobs/delete", ids=[export["id"], "1234"])
    assert out["actions"] == [[export["id"], "deleted"], ["1234", "Not found"]]
    assert "Job not found" in api.err("cloudslicer/jobs/get", id=export["id"])
    assert "already done" in api.err("cloudslicer/jobs/cancel", id=job["id"])


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


def test_http_source_trim_cancel_and_refusals(make_client, synth_clips, tmp_path) -> None:
    client = make_client(inproc_workers=1)
    api = _api(client)
    ctx = client.app.state.ctx
    served = tmp_path / "www"
    served.mkdir()
    shutil.copy(synth_clips["bars_320x240_24_noaudio.mp4"], served / "small.mp4")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/small.mp4"
        job = api.ok("cloudslicer/jobs/create", source={"url": url}, args={"trim": "1000,3000", "external_id": "t"})
        done = _job_done(api, job["job"]["id"])
        a = api.ok("asset/get", id=done["asset"])["asset"]
        assert abs(a["duration"] - 2.0) < 0.1 and a["orig_filename"] == "small.mp4"
        png = base64.b64decode(api.ok("asset/getframe", id=a["id"], ts=0)["img"])
        assert read_frame_number_bytes(png) == 24  # the trimmed asset starts one second (24 frames) in

        missing = api.ok("cloudslicer/jobs/create", source={"url": url.replace("small", "gone")})["job"]
        failed = wait_for(lambda: (j := api.ok("cloudslicer/jobs/get", id=missing["id"])["job"])["state"] == "error"
                          and j, timeout=30)
        assert "404" in failed["last_error"]
    finally:
        server.shutdown()

    # Cancel a job that has not run yet (workers are busy with nothing, so hold it with a paused pool).
    pool = ctx.workers
    pool.stop()
    media_dir = ctx.settings.resolved_media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(synth_clips["bars_320x240_24_noaudio.mp4"], media_dir / "c.mp4")
    job = api.ok("cloudslicer/jobs/create", source={"url": str(media_dir / "c.mp4")})["job"]
    assert job["state"] == "waiting"
    cancelled = api.ok("cloudslicer/jobs/cancel", id=job["id"])["job"]
    assert cancelled["state"] == "cancelled" and cancelled["finished"] > 0
    assert "already cancelled" in api.err("cloudslicer/jobs/cancel", id=job["id"])
    assert api.ok("cloudslicer/jobs/delete", ids=job["id"])["actions"] == [[job["id"], "deleted"]]

    outside = tmp_path / "outside.mp4"
    shutil.copy(synth_clips["bars_320x240_24_noaudio.mp4"], outside)
    for source, fragment in (
        ({"url": str(outside)}, "outside the allowed media folder"),
        ({"url": "../outside.mp4"}, "outside the allowed media folder"),
        ({"url": "nope.mp4"}, "not found"),
        ({"url": "http://example.com/a.mp4"}, "not allowed"),
        ({"url": "s3://bucket/key.mp4"}, "not supported"),
        ({}, "missing source"),
    ):
        assert fragment in api.err("cloudslicer/jobs/create", source=source), source
    assert "args.trim" in api.err("cloudslicer/jobs/create", source={"url": "c.mp4"}, args={"trim": "5"})
    assert "args.meta" in api.err("cloudslicer/jobs/create", source={"url": "c.mp4"}, args={"meta": "novalue"})
