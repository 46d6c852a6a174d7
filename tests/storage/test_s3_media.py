"""Media on an S3-compatible object store (moto's server, a real subprocess): the same user-visible
behaviour as on the data dir — ingest, HLS over /storage, getframe, export, VIS GIF, HTTP Range — with
every output an object in the bucket, none left by a failed job, and the data dir only a cache."""

from __future__ import annotations

import io
import os
import shutil
import time

import av
import pytest

from lynkflow.fixtures.framecode import read_frame_number, read_frame_number_bytes
from lynkflow.storage.s3 import S3Storage
from tests.conftest import wait_for
from tests.uplynk.test_media import _api, _job_done, _path
from tests.vuflow.helpers import gif_body, make_vuflow
from tests.vuflow.test_media_outputs import _done, _fetch, _gif_frames

pytestmark = pytest.mark.slow


def _slice(client, api, clip, name: str) -> str:
    inbox = client.app.state.ctx.settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, inbox / name)
    job = api.ok("cloudslicer/jobs/create", source={"url": name}, args={"external_id": name})["job"]
    return _job_done(api, job["id"])["asset"]


def test_ingest_plays_getframe_export_and_range_from_the_bucket(s3_client, s3, short_clip) -> None:
    client, api = s3_client, _api(s3_client)
    ctx = client.app.state.ctx
    aid = _slice(client, api, short_clip, "match.mp4")

    # The outputs are objects in the bucket, under the same names as in a data dir.
    keys = s3.keys("media/")
    assert any(k.endswith("/out/master.m3u8") for k in keys), keys
    assert any(k.endswith("/out/ray0/index.m3u8") for k in keys) and any(k.endswith(".ts") for k in keys)
    assert any(k.endswith("/out/download.mp4") for k in keys) and any("/source." in k for k in keys)

    # The data dir is only a cache: with it emptied, everything still comes from the bucket.
    shutil.rmtree(ctx.storage.root / "media")

    # HLS plays over HTTP: master -> ray playlist -> a segment that decodes to frames 0, 1, ...
    master = client.get(f"/{aid}.m3u8")
    assert master.status_code == 200, master.text
    ray_url = next(x for x in master.text.splitlines() if x and not x.startswith("#"))
    ray = client.get(_path(ray_url))
    assert ray.status_code == 200 and ray.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    segment = next(x for x in ray.text.splitlines() if x and not x.startswith("#"))
    seg = client.get(_path(segment) if segment.startswith("http") else _path(ray_url).rsplit("/", 1)[0] + "/" + segment)
    assert seg.status_code == 200 and seg.headers["content-type"] == "video/mp2t"
    with av.open(io.BytesIO(seg.content)) as container:
        frames = [read_frame_number(f.to_image()) for _, f in zip(range(3), container.decode(video=0), strict=False)]
    assert frames == [0, 1, 2]

    # getframe by frame number: 25 fps, frame n covers [n/25, (n+1)/25); the MP4 came from the bucket.
    import base64

    for ts, frame in ((0, 0), (1000, 25), (1999, 49)):
        png = base64.b64decode(api.ok("asset/getframe", id=aid, ts=ts)["img"])
        assert read_frame_number_bytes(png) == frame, ts
    imgs = api.ok("asset/getthumbs", id=aid, start=1000, stop=1120)["imgs"]
    assert [read_frame_number_bytes(base64.b64decode(i)) for i in imgs] == [25, 26, 27]

    # Export: an MP4 object, served through /storage and decoded.
    export = api.ok("cloudslicer/jobs/create_export", asset=aid)["job"]
    url = _job_done(api, export["id"])["hd_exported_url"]
    rel = _path(url).removeprefix("/storage/")
    assert rel in s3.keys("uplynk/")
    full = client.get(_path(url))
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(full.content)) as c:
        assert abs(c.duration / 1_000_000 - 2.0) < 0.1
        assert read_frame_number(next(c.decode(video=0)).to_image()) == 0
    size = len(full.content)

    # HTTP Range through /storage, passed to GetObject.
    part = client.get(_path(url), headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == full.content[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{size}" and part.headers["content-length"] == "1000"
    tail = client.get(_path(url), headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == full.content[-500:]
    beyond = client.get(_path(url), headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    head = client.head(_path(url))
    assert head.status_code == 200 and head.headers["content-length"] == str(size) and head.content == b""
    assert head.headers["accept-ranges"] == "bytes"
    assert client.get("/storage/uplynk/nothing-here.mp4").status_code == 404
    assert client.get("/storage/tmp/x").status_code == 404

    # Resetting the owner removes its objects (and the media's) from the bucket.
    assert client.post("/_lynkflow/reset", json={"owner": api.owner}).status_code == 200
    assert s3.keys("uplynk/") == [] and s3.keys("media/") == []


def test_vis_gif_is_an_object_and_decodes(s3_client, s3, short_clip) -> None:
    client = s3_client
    ctx = client.app.state.ctx
    h = {"API-KEY": ctx.settings.vuflow_api_key}
    inbox = ctx.settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(short_clip, inbox / "match.mp4")
    event = client.post("/api/event/", json={"title": "Match", "vuflowId": make_vuflow(ctx, h["API-KEY"])},
                        headers=h).json()
    eid = event["id"]
    assert client.patch(f"/api/event/{eid}", json={"sourcePath": "match.mp4"}, headers=h).status_code == 200
    ready = wait_for(lambda: (e := client.get(f"/api/event/{eid}", headers=h).json())["state"] != 9 and e, 90)
    assert ready["stateString"] == "VOD_PRIVATE", ready
    assert f"vis/{eid}/vod/{eid}.mp4" in s3.keys("vis/")

    # The GIF is cut from the recording fetched out of the bucket (the local cache is emptied first).
    shutil.rmtree(ctx.storage.root / "media")
    shutil.rmtree(ctx.storage.root / "vis")
    gif = client.post("/api/asset/gif/", json=gif_body(eid, "00:00:00.400", "00:00:01.400", name="Goal", fps=25,
                                                       width=160), headers=h).json()
    done = _done(client, h, gif["id"])
    assert done["stateString"] == "COMPLETED", done
    assert f"vis/{done['path']}" in s3.keys("vis/")
    numbers, durations, size = _gif_frames(_fetch(client, done["url"]))
    assert size == (160, 120) and set(durations) == {40} and numbers == list(range(10, 35))

    # Sync reads the VOD folder from the bucket: the SYSTEM assets are all there.
    synced = client.put(f"/api/asset/sync/{eid}", headers=h)
    assert synced.status_code == 200, synced.text
    system = client.get(f"/api/asset/?eventId={eid}&types=SYSTEM", headers=h).json()
    assert sorted(a["path"] for a in system) == [f"{eid}/vod/{eid}.mp4", f"{eid}/vod/thumbnail.jpg"]


def test_a_failed_job_leaves_no_object(s3_client, s3, tmp_path) -> None:
    client, api = s3_client, _api(s3_client)
    inbox = client.app.state.ctx.settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 but not a video at all" * 50)
    job = api.ok("cloudslicer/jobs/create", source={"url": "broken.mp4"})["job"]
    failed = wait_for(lambda: (j := api.ok("cloudslicer/jobs/get", id=job["id"])["job"])["state"] == "error" and j,
                      timeout=60)
    assert failed["state"] == "error"
    assert s3.keys() == []


def test_the_local_cache_is_bounded_and_refills_from_the_bucket(s3, tmp_path) -> None:
    store = S3Storage(tmp_path / "data", bucket=s3.bucket, prefix=s3.prefix, endpoint_url=s3.endpoint,
                      cache_bytes=3000)
    store.ensure()
    old = time.time() - 3600
    for i in range(3):
        path = store.root / "vis" / "e" / f"f{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes([i]) * 1500)
        store.publish(f"vis/e/f{i}.bin")
        os.utime(path, (old + i, old + i))  # f0 least recently used
        store._last_trim = 0.0
    store._trim()
    cached = sorted(p.name for p in (store.root / "vis" / "e").iterdir())
    assert cached == ["f2.bin"]  # trimmed to 80% of 3000 bytes, oldest first
    assert s3.keys("vis/") == ["vis/e/f0.bin", "vis/e/f1.bin", "vis/e/f2.bin"]
    assert store.local_file("vis/e/f0.bin").read_bytes() == b"\x00" * 1500  # fetched again
    assert store.list_files("vis/e") == ["vis/e/f0.bin", "vis/e/f1.bin", "vis/e/f2.bin"]
    with pytest.raises(FileNotFoundError):
        store.local_file("vis/e/missing.bin")
    store.remove_tree("vis/e")
    assert s3.keys("vis/") == [] and not (store.root / "vis" / "e").exists()


def test_snapshot_round_trip_carries_the_objects(s3_client, s3, short_clip) -> None:
    from tests.control.test_snapshot import check_snapshot_round_trip

    check_snapshot_round_trip(s3_client, short_clip)
    assert any(k.endswith(".gif") for k in s3.keys("vis/")) and s3.keys("media/")


def test_an_unreachable_store_is_a_503_on_storage_not_a_500(make_client, s3) -> None:
    client = make_client(storage_url=f"s3://{s3.bucket}/x", s3_endpoint_url="http://127.0.0.1:9")  # nothing listens
    resp = client.get("/storage/media/abc/out/master.m3u8")
    assert resp.status_code == 503 and "object store" in resp.text and s3.bucket in resp.text
