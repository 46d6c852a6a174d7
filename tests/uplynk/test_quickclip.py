"""`/api2/cloudslicer/jobs/quickclip`: a frame-accurate cut of a ready asset into a new asset, checked by
the frame numbers stamped in a synthetic clip (getframe and the poster), plus the refusals."""

from __future__ import annotations

import base64
import shutil

import pytest

from lynkflow.fixtures.framecode import read_frame_number_bytes
from tests.conftest import SYNTH_CACHE, UplynkCaller, wait_for
from tests.uplynk.conftest import make_asset, other_owner

FPS = 25


def _api(client) -> UplynkCaller:
    s = client.app.state.ctx.settings
    return UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)


def _job_done(api: UplynkCaller, job_id: str, timeout: float = 90) -> dict:
    def check():
        job = api.ok("cloudslicer/jobs/get", id=job_id)["job"]
        return job if job["state"] in ("done", "error", "cancelled") else None

    job = wait_for(check, timeout=timeout, interval=0.1)
    assert job["state"] == "done", job
    return job


def _frame(api: UplynkCaller, asset_id: str, ts: int) -> int:
    return read_frame_number_bytes(base64.b64decode(api.ok("asset/getframe", id=asset_id, ts=ts)["img"]))


@pytest.mark.slow
def test_quickclip_cuts_a_new_asset_frame_accurately(make_client) -> None:
    from lynkflow.fixtures.synth import make_clip

    client = make_client(inproc_workers=1)
    api = _api(client)
    ctx = client.app.state.ctx
    SYNTH_CACHE.mkdir(parents=True, exist_ok=True)
    clip = make_clip(SYNTH_CACHE / "quickclip_320x240_25.mp4", width=320, height=240, fps=FPS, seconds=4.0)
    media_dir = ctx.settings.resolved_media_dir
    media_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(clip, media_dir / "beam.mp4")
    beam = _job_done(api, api.ok("cloudslicer/jobs/create", source={"url": "beam.mp4"},
                                 args={"description": "Beam"})["job"]["id"])["asset"]

    args = {"beam_id": beam, "poster_ts": "00:00:00.400", "external_id": "clip-1", "meta": "genre=news"}
    job = api.ok("cloudslicer/jobs/quickclip", source={"trim": [2000, 1000]}, args=args)["job"]
    assert job["state"] in ("waiting", "assigned") and job["asset"] is None and job["finished"] == 0
    assert job["source"] == {"trim": [2000, 1000]} and job["args"] == args and job["owner"] == api.owner
    done = _job_done(api, job["id"])
    assert done["progress"] == "Finished successfully" and done["finished"] > 0 and done["asset"] != beam

    a = api.ok("asset/get", id=done["asset"])["asset"]
    assert a["state"] == "ready" and a["source"] == "clip" and a["job_type"] == "vod"
    assert abs(a["duration"] - 1.0) <= 1 / FPS, a["duration"]
    assert a["desc"] == "Clip of Beam" and a["external_id"] == "clip-1" and a["meta"] == {"genre": "news"}
    assert _frame(api, a["id"], 0) == 2 * FPS  # the beam's frame at 2.0 s
    assert _frame(api, a["id"], 960) == 2 * FPS + 24  # ... and its last frame, 24 frames later
    # The poster is the frame at poster_ts, relative to the clip start (2.4 s on the beam).
    poster = client.get(a["poster_url"].replace("http://testserver", ""))
    assert poster.status_code == 200 and read_frame_number_bytes(poster.content) == 2 * FPS + 10

    # A clip of the clip follows the clip's own timeline (not its original upload's); desc is given.
    again = api.ok("cloudslicer/jobs/quickclip", source='{"trim": [520, 200]}',
                   args={"beam_id": a["id"], "desc": "Short one"})["job"]
    b = api.ok("asset/get", id=_job_done(api, again["id"])["asset"])["asset"]
    assert b["desc"] == "Short one" and abs(b["duration"] - 0.2) <= 1 / FPS and "poster_url" not in b
    assert _frame(api, b["id"], 0) == 2 * FPS + 13

    assert [j["id"] for j in api.ok("cloudslicer/jobs/list")["jobs"]][:2] == [again["id"], job["id"]]
    assert _frame(api, beam, 2000) == 2 * FPS  # the beam is untouched


def _refusal_assets(api: UplynkCaller, client) -> dict[str, str]:
    ctx = client.app.state.ctx
    deleted = make_asset(ctx, desc="gone", duration=10.0)
    api.ok("asset/delete", ids=[deleted])
    return {
        "ready": make_asset(ctx, desc="no media", duration=5.0),
        "slicing": make_asset(ctx, desc="busy", duration=5.0, state="slicing"),
        "theirs": make_asset(ctx, owner=other_owner(client).owner, desc="theirs", duration=5.0),
        "deleted": deleted,
    }


@pytest.mark.parametrize(("source", "args", "fragment"), [
    ({"trim": [0, 1000]}, {}, "missing args.beam_id"),
    ({"trim": [0, 1000]}, {"beam_id": ""}, "missing args.beam_id"),
    ({"trim": [0, 1000]}, {"beam_id": ["x"]}, "args.beam_id must be a string"),
    ({}, {"beam_id": "ready"}, "missing source.trim"),
    ({"trim": "0,1000"}, {"beam_id": "ready"}, "two non-negative integers"),
    ({"trim": [0]}, {"beam_id": "ready"}, "two non-negative integers"),
    ({"trim": [0, 1000, 5]}, {"beam_id": "ready"}, "two non-negative integers"),
    ({"trim": [-1, 1000]}, {"beam_id": "ready"}, "two non-negative integers"),
    ({"trim": [0.5, 1000]}, {"beam_id": "ready"}, "two non-negative integers"),
    ({"trim": [True, 1000]}, {"beam_id": "ready"}, "two non-negative integers"),
    ({"trim": [0, 0]}, {"beam_id": "ready"}, "duration must be greater than 0"),
    ("not json", {"beam_id": "ready"}, "source must be a dictionary"),
    ({"trim": [0, 1000]}, "[1]", "args must be a dictionary"),
    ({"trim": [0, 1000]}, {"beam_id": "0" * 32}, "Asset not found"),
    ({"trim": [0, 1000]}, {"beam_id": "theirs"}, "Asset not found"),
    ({"trim": [0, 1000]}, {"beam_id": "deleted"}, "Asset not found"),
    ({"trim": [0, 1000]}, {"beam_id": "slicing"}, "is slicing; only ready assets can be clipped"),
    ({"trim": [4500, 501]}, {"beam_id": "ready"}, "goes beyond the end"),
    ({"trim": [6000, 1]}, {"beam_id": "ready"}, "which is 5000 ms long"),
    ({"trim": [0, 1000]}, {"beam_id": "ready", "poster_ts": 1000}, "poster_ts 1000 ms is outside the clip"),
    ({"trim": [0, 1000]}, {"beam_id": "ready", "poster_ts": "soon"}, "args.poster_ts must be"),
    ({"trim": [0, 1000]}, {"beam_id": "ready", "meta": "novalue"}, "args.meta"),
    ({"trim": [0, 1000]}, {"beam_id": "ready"}, "has no video to clip"),
])
def test_quickclip_refusals(api, client, source, args, fragment) -> None:
    assets = _refusal_assets(api, client)
    if isinstance(args, dict) and isinstance(args.get("beam_id"), str) and args["beam_id"] in assets:
        args = {**args, "beam_id": assets[args["beam_id"]]}
    before = api.ok("asset/list")["assets"]
    assert fragment in api.err("cloudslicer/jobs/quickclip", source=source, args=args)
    # Nothing was written: no job, no asset.
    assert api.ok("cloudslicer/jobs/list")["jobs"] == []
    assert api.ok("asset/list")["assets"] == before
