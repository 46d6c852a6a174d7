"""Asset visibility follows the job lifecycle policy (real / manual), and deletes during a hold."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from lynkflow.fixtures.framecode import read_frame_number
from lynkflow.jobs import queue
from lynkflow.jobs.lifecycle import Lifecycle
from lynkflow.jobs.workers import finish_job, lifecycles
from tests.conftest import wait_for
from tests.vuflow.helpers import event_with_recording, gif_body, make_vuflow

pytestmark = pytest.mark.slow


def test_manual_lifecycle_holds_completion(make_client, short_clip) -> None:
    client = make_client(inproc_workers=1)
    ctx = client.app.state.ctx
    key = ctx.settings.vuflow_api_key
    h = {"API-KEY": key}
    lifecycles(ctx).set("image", Lifecycle("manual"))
    eid = event_with_recording(ctx, key, short_clip, vuflow_id=make_vuflow(ctx, key))

    held = client.post("/api/asset/image/", json={"eventId": eid, "name": "held", "time": "00:00:00.5"},
                       headers=h).json()
    job_id = int(held["jobId"])
    wait_for(lambda: queue.get_job(ctx, job_id).state == queue.HELD, 30)
    # The media is made, but the asset reads GENERATING until the hold is released.
    assert client.get(f"/api/asset/{held['id']}/", headers=h).json()["stateString"] == "GENERATING"
    assert (ctx.storage.vis_root / held["path"]).is_file()
    finish_job(ctx, job_id)
    done = client.get(f"/api/asset/{held['id']}/", headers=h).json()
    assert done["stateString"] == "COMPLETED" and done["dateModified"] >= done["dateCreated"]
    jpeg = client.get(done["url"].removeprefix("http://testserver")).content
    assert read_frame_number(Image.open(io.BytesIO(jpeg))) == 12  # the frame covering 0.5 s at 25 fps

    # Deleting an asset whose job is held cancels the job and removes the file already made.
    lifecycles(ctx).set("gif", Lifecycle("manual"))
    gone = client.post("/api/asset/gif/", json=gif_body(eid, "00:00:00", "00:00:00.5", name="gone"),
                       headers=h).json()
    wait_for(lambda: queue.get_job(ctx, int(gone["jobId"])).state == queue.HELD, 30)
    assert (ctx.storage.vis_root / gone["path"]).is_file()
    assert client.delete(f"/api/asset/{gone['id']}", headers=h).status_code == 200
    assert queue.get_job(ctx, int(gone["jobId"])).state == queue.CANCELLED
    assert not (ctx.storage.vis_root / gone["path"]).exists()
