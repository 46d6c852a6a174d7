"""Real outputs: ingest a clip into an event, then decode the GIF, MP4 and JPEG assets it makes."""

from __future__ import annotations

import io
import shutil

import av
import pytest
from PIL import Image, ImageSequence

from lynkflow.fixtures.framecode import read_frame_number
from lynkflow.jobs import queue
from tests.conftest import wait_for
from tests.vuflow.helpers import assert_vis_error, gif_body, make_vuflow

pytestmark = pytest.mark.slow


def _asset(client, headers, asset_id: str) -> dict:
    return client.get(f"/api/asset/{asset_id}/", headers=headers).json()


def _done(client, headers, asset_id: str, timeout: float = 60.0) -> dict:
    return wait_for(lambda: (a := _asset(client, headers, asset_id))["state"] != 0 and a, timeout)


def _gif_frames(data: bytes) -> tuple[list[int], list[int], tuple[int, int]]:
    """(frame numbers, frame durations in ms, size) of an animated GIF."""
    img = Image.open(io.BytesIO(data))
    numbers, durations = [], []
    for frame in ImageSequence.Iterator(img):  # the iterator reuses one image: read each frame as it comes
        numbers.append(read_frame_number(frame.convert("RGB")))
        durations.append(frame.info["duration"])
    return numbers, durations, img.size


def _fetch(client, url: str) -> bytes:
    assert url.startswith("http://testserver/storage/vis/"), url
    resp = client.get(url.removeprefix("http://testserver"))
    assert resp.status_code == 200, url
    return resp.content


def test_ingest_then_gif_video_image(make_client, short_clip) -> None:
    client = make_client(inproc_workers=1)
    ctx = client.app.state.ctx
    key = ctx.settings.vuflow_api_key
    h = {"API-KEY": key}
    inbox = ctx.settings.resolved_media_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(short_clip, inbox / "match.mp4")

    # PRE_VOD → (recording attached, lynkflow extension) VOD_INGESTING → VOD_PRIVATE
    event = client.post("/api/event/", json={"title": "Match", "vuflowId": make_vuflow(ctx, key)}, headers=h).json()
    assert event["stateString"] == "PRE_VOD"
    eid = event["id"]
    assert_vis_error(client.patch(f"/api/event/{eid}", json={"sourcePath": "../outside.mp4"}, headers=h),
                     400, "InvalidSourcePath")
    ingesting = client.patch(f"/api/event/{eid}", json={"sourcePath": "match.mp4"}, headers=h)
    assert ingesting.status_code == 200, ingesting.text
    assert ingesting.json()["stateString"] == "VOD_INGESTING"
    ready = wait_for(lambda: (e := client.get(f"/api/event/{eid}", headers=h).json())["state"] != 9 and e, 90)
    assert (ready["stateString"], ready["mp4StateString"]) == ("VOD_PRIVATE", "AVAILABLE"), ready

    # SYSTEM assets for the files the ingest wrote into the VOD folder, served at their url.
    system = client.get(f"/api/asset/?eventId={eid}&types=SYSTEM", headers=h).json()
    assert sorted(a["path"] for a in system) == [f"{eid}/vod/{eid}.mp4", f"{eid}/vod/thumbnail.jpg"]
    thumb = next(a for a in system if a["extension"] == "jpg")
    assert Image.open(io.BytesIO(_fetch(client, thumb["url"]))).format == "JPEG"

    gif = client.post("/api/asset/gif/", json=gif_body(eid, "00:00:00.400", "00:00:01.400", name="Goal",
                                                       fps=25, width=320), headers=h).json()
    rev = client.post("/api/asset/gif/", json=gif_body(eid, "00:00:00.400", "00:00:01.400", name="Back",
                                                       reverse=True), headers=h).json()
    video = client.post("/api/asset/video/", json={"clip": {"eventId": eid, "start": "00:00:00.400",
                                                            "end": "00:00:01.400"}, "name": "Clip",
                                                   "frameAccurate": True}, headers=h).json()
    image = client.post("/api/asset/image/", json={"eventId": eid, "name": "Still", "time": "00:00:01.000"},
                        headers=h).json()

    # GIF: 25 frames at 25 fps, source size, frames 10..34 in order.
    done = _done(client, h, gif["id"])
    assert done["stateString"] == "COMPLETED", done
    numbers, durations, size = _gif_frames(_fetch(client, done["url"]))
    assert size == (320, 240) and set(durations) == {40}
    assert numbers == list(range(10, 35))

    # Reverse GIF with the defaults: fps 12, height 480 (width keeps the aspect), last frame first.
    done = _done(client, h, rev["id"])
    assert done["stateString"] == "COMPLETED", done
    numbers, durations, size = _gif_frames(_fetch(client, done["url"]))
    assert size == (640, 480) and abs(sum(durations) - 1000) <= 40
    assert numbers == [10 + (25 * k) // 12 for k in range(12)][::-1]

    # MP4: one second within one frame, starting on frame 10.
    done = _done(client, h, video["id"])
    assert done["stateString"] == "COMPLETED", done
    with av.open(io.BytesIO(_fetch(client, done["url"]))) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else container.duration / 1e6
        first = next(container.decode(video=0)).to_image()
    assert abs(duration - 1.0) <= 1 / 25 + 1e-6
    assert read_frame_number(first) == 10

    # JPEG: the frame covering 1.000 s is frame 25.
    done = _done(client, h, image["id"])
    assert done["stateString"] == "COMPLETED", done
    jpeg = Image.open(io.BytesIO(_fetch(client, done["url"])))
    assert jpeg.format == "JPEG" and jpeg.size == (320, 240) and read_frame_number(jpeg) == 25

    # Another event can take the already-ingested recording at once (mediaId extension).
    other = client.post("/api/event/", json={"title": "Replay", "mediaId": ready["lynkflowMediaId"]}, headers=h)
    assert other.status_code == 200 and other.json()["stateString"] == "VOD_PRIVATE", other.text
    assert_vis_error(client.post("/api/event/", json={"mediaId": "f" * 32}, headers=h), 404, "MediaNotFound")

    # A recording that turns unreadable: the job fails, the asset says FAILED, the job says why.
    for path in (ctx.storage.root / "media").rglob("source.*"):
        path.write_bytes(b"not a video at all")
    (ctx.storage.vis_root / eid / "vod" / f"{eid}.mp4").write_bytes(b"not a video either")
    failing = client.post("/api/asset/gif/", json=gif_body(eid, name="Broken"), headers=h).json()
    done = _done(client, h, failing["id"])
    assert done["stateString"] == "FAILED"
    # The asset's FAILED is committed just before the job reads as ended (a client that sees the job
    # end sees the outcome too, not the other way round): wait for the job's own end.
    job = wait_for(lambda: (j := queue.get_job(ctx, int(failing["jobId"]))).state != "running" and j, timeout=10)
    assert job.state == "failed" and job.last_error
    assert not (ctx.storage.vis_root / failing["path"]).exists()
