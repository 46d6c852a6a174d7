"""POST /asset/gif|video|image/: the answer, the queued job, and every refusal (nothing written)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lynkflow.db.models import Job, Media, VisAsset, VisEvent
from lynkflow.jobs import queue
from tests.vuflow.helpers import assert_vis_error, event_with_recording, gif_body, make_vuflow


@pytest.fixture
def recorded(client, vis_headers, short_clip):
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    return event_with_recording(ctx, key, short_clip, vuflow_id=make_vuflow(ctx, key))


def _jobs(ctx) -> list[Job]:
    with ctx.session() as db:
        return list(db.scalars(select(Job).order_by(Job.id)))


def test_gif_answer_and_job(client, vis_headers, recorded) -> None:
    ctx = client.app.state.ctx
    resp = client.post("/api/asset/gif/", json=gif_body(recorded, "00:00:00.500", "00:00:01.5", name="Goal!"),
                       headers=vis_headers)
    assert resp.status_code == 200, resp.text
    asset = resp.json()
    content = client.get(f"/api/event/{recorded}", headers=vis_headers).json()["contentId"]
    assert asset["eventId"] == recorded and asset["contentId"] == content
    assert (asset["state"], asset["stateString"], asset["type"], asset["typeString"]) == (0, "GENERATING", 3, "GIF")
    assert (asset["extension"], asset["path"]) == ("gif", f"{content}/assets/Goal!.gif")
    assert asset["url"] == f"http://testserver/storage/vis/{content}/assets/Goal%21.gif"
    [job] = _jobs(ctx)
    assert asset["jobId"] == str(job.id) and isinstance(asset["jobId"], str)
    assert (job.kind, job.priority, job.state) == ("vis.gif", 5, "queued")
    # Defaults the page leaves open follow the Task Engine: fps 12, height 480, loop forever.
    p = job.payload
    assert (p["fps"], p["width"], p["height"], p["playback_speed"], p["playback_repeats"], p["reverse"]) == \
        (12, None, 480.0, 1.0, 0, False)
    assert (p["start"], p["end"]) == (0.5, 1.5)


def test_gif_options_and_filename(client, vis_headers, recorded) -> None:
    body = gif_body(recorded, name="Example GIF", fps=18, width=200, height=None, playbackSpeed=0.5,
                    playbackRepeats=-1, reverse=True, filename="goal.gif", priority=2)
    asset = client.post("/gif/".join(["/asset", ""]), json=body, headers=vis_headers).json()
    assert asset["path"].endswith("/assets/goal.gif") and asset["name"] == "Example GIF"
    [job] = _jobs(client.app.state.ctx)
    assert job.priority == 2
    assert (job.payload["fps"], job.payload["width"], job.payload["height"]) == (18, 200.0, None)
    assert (job.payload["playback_speed"], job.payload["playback_repeats"], job.payload["reverse"]) == (0.5, -1, True)


def test_video_and_image_answers(client, vis_headers, recorded) -> None:
    video = client.post("/api/asset/video/", json={
        "clip": {"eventId": recorded, "start": "00:00:00", "end": "00:00:01", "filter": "(type==\"video\")"},
        "name": "Example Video", "mezzanine": 1, "frameAccurate": False, "copyTs": True, "priority": None,
        "filename": None}, headers=vis_headers)
    assert video.status_code == 200, video.text
    assert (video.json()["type"], video.json()["typeString"], video.json()["extension"]) == (2, "VIDEO", "mp4")
    image = client.post("/api/asset/image/", json={"eventId": recorded, "name": "JPEG from 1 second in",
                                                   "time": "00:00:01"}, headers=vis_headers)
    assert image.status_code == 200, image.text
    assert (image.json()["type"], image.json()["typeString"], image.json()["extension"]) == (1, "IMAGE", "jpg")
    assert image.json()["path"].endswith("/assets/JPEG from 1 second in.jpg")
    vjob, ijob = _jobs(client.app.state.ctx)
    assert (vjob.kind, ijob.kind) == ("vis.video", "vis.image")
    assert (vjob.payload["mezzanine"], vjob.payload["frame_accurate"], vjob.payload["copy_ts"]) == (True, False, True)
    assert vjob.payload["filter"] == "(type==\"video\")"
    assert (ijob.payload["start"], ijob.payload["end"]) == (1.0, None)


def test_url_is_empty_without_storage_url(client, vis_headers, short_clip) -> None:
    ctx = client.app.state.ctx
    key = vis_headers["API-KEY"]
    eid = event_with_recording(ctx, key, short_clip, vuflow_id=make_vuflow(ctx, key, storage_url=None))
    asset = client.post("/api/asset/gif/", json=gif_body(eid), headers=vis_headers).json()
    assert asset["url"] == ""


def test_public_url_setting_wins(make_client, short_clip) -> None:
    client = make_client(public_url="https://lynkflow.example:9000")
    ctx = client.app.state.ctx
    key = ctx.settings.vuflow_api_key
    eid = event_with_recording(ctx, key, short_clip, vuflow_id=make_vuflow(ctx, key))
    asset = client.post("/api/asset/gif/", json=gif_body(eid), headers={"API-KEY": key}).json()
    assert asset["url"].startswith("https://lynkflow.example:9000/storage/vis/")


REFUSALS = [
    # (route, body change, status, errorType)
    ("gif", {"clip": {"eventId": "0f0f0f0f-0000-4000-8000-000000000000", "start": "00:00:00", "end": "00:00:01"}},
     404, "EventNotFound"),
    ("gif", {"clip": {"start": "00:00:00", "end": "00:00:01"}}, 400, "MissingField"),
    ("gif", {"clip": None}, 400, "MissingField"),
    ("gif", {"name": ""}, 400, "MissingField"),
    ("gif", {"clip.start": "00:00:01", "clip.end": "00:00:01"}, 400, "ClipEndNotAfterStart"),
    ("gif", {"clip.start": "00:00:01.5", "clip.end": "00:00:01"}, 400, "ClipEndNotAfterStart"),
    ("gif", {"clip.end": "00:00:03"}, 400, "ClipOutOfRange"),
    ("gif", {"clip.start": "00:00:05", "clip.end": "00:00:06"}, 400, "ClipOutOfRange"),
    ("gif", {"clip.start": "0:1"}, 400, "InvalidTime"),
    ("gif", {"clip.end": "00:00:99"}, 400, "InvalidTime"),
    ("gif", {"clip.end": 2}, 400, "MissingField"),
    ("gif", {"clip.start": "2024-05-01T12:00:00Z"}, 400, "InvalidTime"),  # no wall-clock start
    ("gif", {"priority": 0}, 400, "InvalidField"),
    ("gif", {"priority": 11}, 400, "InvalidField"),
    ("gif", {"priority": 2.5}, 400, "InvalidField"),
    ("gif", {"priority": "high"}, 400, "InvalidField"),
    ("gif", {"priority": True}, 400, "InvalidField"),
    ("gif", {"fps": 0}, 400, "InvalidField"),
    ("gif", {"fps": 61}, 400, "InvalidField"),
    ("gif", {"width": -5}, 400, "InvalidField"),
    ("gif", {"playbackSpeed": -1}, 400, "InvalidField"),
    ("gif", {"playbackRepeats": -2}, 400, "InvalidField"),
    ("gif", {"reverse": "sometimes"}, 400, "InvalidField"),
    ("gif", {"filename": "../../escape"}, 400, "InvalidFilename"),
    ("gif", {"filename": "sub/dir"}, 400, "InvalidFilename"),
    ("gif", {"filename": "..\\win"}, 400, "InvalidFilename"),
    ("gif", {"filename": ".."}, 400, "InvalidFilename"),
    ("gif", {"filename": "%2e%2e%2fx"}, 400, "InvalidFilename"),
    ("gif", {"filename": "nul\x00byte"}, 400, "InvalidText"),  # refused for every field before any parsing
    ("gif", {"name": "../../../etc/passwd"}, 400, "InvalidFilename"),
    ("gif", {"filename": 7}, 400, "InvalidField"),
    ("video", {"clip.end": "00:00:09"}, 400, "ClipOutOfRange"),
    ("video", {"mezzanine": "yes"}, 400, "InvalidField"),
    ("image", {"time": "00:00:02.5"}, 400, "ClipOutOfRange"),
    ("image", {"time": "soon"}, 400, "InvalidTime"),
    ("image", {"eventId": None}, 400, "MissingField"),
    ("image", {"filename": "/abs"}, 400, "InvalidFilename"),
]


def _body(kind: str, event_id: str, change: dict) -> dict:
    if kind == "image":
        body = {"eventId": event_id, "name": "Still", "time": "00:00:01"}
    else:
        body = gif_body(event_id, "00:00:00", "00:00:01")
    for key, value in change.items():
        if key.startswith("clip."):
            body["clip"][key[5:]] = value
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(("kind", "change", "status", "error_type"), REFUSALS)
def test_refusals_write_and_queue_nothing(client, vis_headers, recorded, kind, change, status, error_type) -> None:
    ctx = client.app.state.ctx
    resp = client.post(f"/api/asset/{kind}/", json=_body(kind, recorded, change), headers=vis_headers)
    assert_vis_error(resp, status, error_type)
    assert _jobs(ctx) == []
    with ctx.session() as db:
        assert db.scalar(select(func.count()).select_from(VisAsset).where(VisAsset.type != 0)) == 0
    assert not any(p.is_file() for p in ctx.storage.vis_root.rglob("*") if "/assets/" in p.as_posix())
    assert not (ctx.storage.root / "etc").exists()


def test_event_without_recording_and_name_clash(client, vis_headers, recorded) -> None:
    fresh = client.post("/api/event/", json={"title": "empty"}, headers=vis_headers).json()["id"]
    assert_vis_error(client.post("/api/asset/gif/", json=gif_body(fresh), headers=vis_headers),
                     409, "EventHasNoRecording")
    assert client.post("/api/asset/gif/", json=gif_body(recorded, name="dup"), headers=vis_headers).status_code == 200
    body = assert_vis_error(client.post("/api/asset/gif/", json=gif_body(recorded, filename="dup.GIF"),
                                        headers=vis_headers), 409, "AssetPathInUse")
    assert body["data"]["path"].endswith("/assets/dup.gif")  # "dup.GIF" names the same file
    assert len(_jobs(client.app.state.ctx)) == 1


def test_iso_times_with_a_wall_clock_recording(client, vis_headers, recorded) -> None:
    ctx = client.app.state.ctx
    start_ms = 1_714_564_800_000  # 2024-05-01T12:00:00Z
    with ctx.session() as db:
        event = db.get(VisEvent, recorded)
        media = Media(id="ab" * 16, original_filename="rec.mp4", source_path=f"vis/{event.vod_file}",
                      state="ready", recording_start_ms=start_ms, created=0, updated=0)
        db.add(media)
        db.flush()
        event.media_id = media.id
    resp = client.post("/api/asset/video/", json={
        "clip": {"eventId": recorded, "start": "2024-05-01T12:00:00.400Z", "end": "2024-05-01T14:00:01.2+02:00"},
        "name": "wall"}, headers=vis_headers)
    assert resp.status_code == 200, resp.text
    [job] = _jobs(ctx)
    assert job.payload["start"] == pytest.approx(0.4) and job.payload["end"] == pytest.approx(1.2)
    # Offsets still work, and an ISO time before the recording is refused.
    assert client.post("/api/asset/image/", json={"eventId": recorded, "name": "i", "time": "00:00:01"},
                       headers=vis_headers).status_code == 200
    assert_vis_error(client.post("/api/asset/image/", json={"eventId": recorded, "name": "early",
                                                            "time": "2024-05-01T11:59:59Z"}, headers=vis_headers),
                     400, "ClipOutOfRange")


def test_jobs_are_claimed_in_priority_order(client, vis_headers, recorded) -> None:
    ctx = client.app.state.ctx
    order = [5, 1, 10, None, 1, 3]
    made = []
    for i, prio in enumerate(order):
        body = gif_body(recorded, name=f"p{i}")
        if prio is not None:
            body["priority"] = prio
        made.append(client.post("/api/asset/gif/", json=body, headers=vis_headers).json()["jobId"])
    claimed = []
    while (job := queue.claim(ctx, "test-worker", 30)) is not None:
        claimed.append(str(job.id))
    # 1 (FIFO among equals), 1, 3, 5, 5 (default), 10
    assert claimed == [made[1], made[4], made[5], made[0], made[3], made[2]]
