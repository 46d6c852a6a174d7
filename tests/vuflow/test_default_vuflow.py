"""Every VIS key has a default vuflow (storageUrlPublic = lynkflow's VIS storage), used when an event
names none: the GIF asked for on an event made by `lynkflow ingest --event` downloads and decodes.
Its SYSTEM assets carry the id of the ingest job that made them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageSequence
from sqlalchemy import insert, select

from lynkflow.db.engine import make_engine
from lynkflow.db.migrate import downgrade, upgrade
from lynkflow.db.models import VisApiKey, VisVuflow
from lynkflow.domain.vis_vuflows import default_vuflow_id
from lynkflow.fixtures.framecode import read_frame_number
from tests.conftest import wait_for
from tests.vuflow.helpers import event_with_recording, gif_body

REPO = Path(__file__).resolve().parents[2]


def test_each_key_has_a_default_vuflow_that_a_reset_restores(client, vis_headers) -> None:
    key = vis_headers["API-KEY"]
    flows = client.get("/api/vuflow/", headers=vis_headers).json()
    assert [f["id"] for f in flows] == [default_vuflow_id(key)]
    assert json.loads(flows[0]["configurationJson"]) == {"storageUrlPublic": "{lynkflow}/storage/vis"}
    # A user may delete it like any vuflow; a reset of the key gives it back.
    assert client.delete(f"/api/vuflow/{flows[0]['id']}", headers=vis_headers).status_code == 200
    assert client.get("/api/vuflow/", headers=vis_headers).json() == []
    assert client.post("/_lynkflow/reset", json={"visKey": key}).status_code == 200
    assert [f["id"] for f in client.get("/api/vuflow/", headers=vis_headers).json()] == [default_vuflow_id(key)]


def test_an_event_naming_no_vuflow_uses_the_default(client, vis_headers, short_clip) -> None:
    eid = event_with_recording(client.app.state.ctx, vis_headers["API-KEY"], short_clip, vuflow_id=None)
    # What the client named stays; the default only supplies the asset URLs.
    assert client.get(f"/api/event/{eid}", headers=vis_headers).json()["vuflowId"] is None
    asset = client.post("/api/asset/gif/", json=gif_body(eid, name="Goal"), headers=vis_headers).json()
    assert asset["url"] == f"http://testserver/storage/vis/{eid}/assets/Goal.gif"


@pytest.mark.slow
def test_gif_of_a_cli_ingested_event_downloads(make_settings, synth_clips) -> None:
    settings = make_settings()
    clip = synth_clips["bars_320x240_24_noaudio.mp4"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LYNKFLOW_")}
    env.update(LYNKFLOW_DATA_DIR=str(settings.resolved_data_dir), LYNKFLOW_DATABASE_URL=settings.resolved_database_url)
    proc = subprocess.run([sys.executable, "-m", "lynkflow.cli", "ingest", str(clip), "--event-only"], env=env,
                          capture_output=True, text=True, timeout=180, cwd=REPO)
    assert proc.returncode == 0, proc.stderr

    from fastapi.testclient import TestClient

    from lynkflow.main import create_app

    with TestClient(create_app(make_settings(inproc_workers=1))) as client:
        h = {"API-KEY": settings.vuflow_api_key}
        [event] = client.get("/api/event/", headers=h).json()["results"]
        system = client.get(f"/api/asset/?eventId={event['id']}&types=SYSTEM", headers=h).json()
        assert system and all(a["url"].startswith("http://testserver/storage/vis/") for a in system), system
        # SYSTEM assets name the job that made them (the ingest), as a string like the seed's "9001".
        [ingest] = client.get("/_lynkflow/jobs", params={"kind": "ingest"}).json()["jobs"]
        assert {a["jobId"] for a in system} == {str(ingest["id"])}
        # Another event taking the ingested recording (mediaId extension) shows the same job.
        other = client.post("/api/event/", json={"title": "Replay", "mediaId": event["lynkflowMediaId"]},
                            headers=h).json()
        copied = client.get(f"/api/asset/?eventId={other['id']}&types=SYSTEM", headers=h).json()
        assert copied and {a["jobId"] for a in copied} == {str(ingest["id"])}
        made = client.post("/api/asset/gif/", json=gif_body(event["id"], "00:00:00", "00:00:01", fps=12),
                           headers=h).json()
        done = wait_for(lambda: (a := client.get(f"/api/asset/{made['id']}/", headers=h).json())["state"] != 0
                        and a, 90)
        assert done["stateString"] == "COMPLETED", done
        resp = client.get(done["url"].removeprefix("http://testserver"))
        assert resp.status_code == 200 and resp.headers["content-type"] == "image/gif"
        gif = Image.open(io.BytesIO(resp.content))
        frames = [read_frame_number(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
        assert len(frames) == 12 and frames[0] == 0 and frames == sorted(frames), frames


def test_migration_gives_existing_keys_their_default(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade(engine, "0004_control_state")
        with engine.begin() as conn:
            conn.execute(insert(VisApiKey.__table__).values(key="old-key", name="", created=0))
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(select(VisVuflow.id, VisVuflow.api_key, VisVuflow.configuration_json)).all()
        assert [(r.id, r.api_key) for r in rows] == [(default_vuflow_id("old-key"), "old-key")]
        assert json.loads(rows[0].configuration_json) == {"storageUrlPublic": "{lynkflow}/storage/vis"}
        downgrade(engine, "0004_control_state")
        with engine.connect() as conn:
            assert conn.execute(select(VisVuflow.id)).all() == []
    finally:
        engine.dispose()
