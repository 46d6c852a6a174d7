"""The demo seed that `make run` loads: real assets, an event with its recording, a shared library."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import UplynkCaller, wait_for

REPO = Path(__file__).resolve().parents[2]
PARTNER = ("7061727472657231706172747265723a", "lynkflow-partner-api-key-fedcba9876543210")


@pytest.mark.slow
def test_demo_seed_end_to_end(make_client, synth_clips) -> None:
    client = make_client(inproc_workers=1, seed_file=REPO / "fixtures/demo/seed.json",
                         media_dir=next(iter(synth_clips.values())).parent)
    s = client.app.state.ctx.settings
    owner = UplynkCaller(client, s.uplynk_owner, s.uplynk_api_key)

    def assets() -> list[dict]:
        found = owner("/api2/asset/list", order="external_id")["assets"]
        return found if len(found) == 2 and all(a["state"] == "ready" for a in found) else []

    ready = wait_for(assets, timeout=180)
    assert [(a["external_id"], a["rays"]) for a in ready] == [("demo-bars-360", 2), ("demo-bars-720", 4)]
    thumb = client.get(urlsplit(ready[0]["thumb_url"]).path)
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"  # a JPEG

    partner = UplynkCaller(client, *PARTNER)
    shared = partner("/api2/asset/list")
    assert shared["assets"] == []
    assert [a["external_id"] for a in shared["shared_assets"]] == ["demo-bars-360"]

    headers = {"API-KEY": s.vuflow_api_key}
    event = wait_for(lambda: (e := client.get("/api/event/", headers=headers).json()["results"][0])
                     ["stateString"] == "VOD_PRIVATE" and e, timeout=60)
    names = sorted(a["extension"] for a in client.get("/api/asset/", params={"eventId": event["id"]},
                                                      headers=headers).json())
    assert names == ["jpg", "mp4"]
