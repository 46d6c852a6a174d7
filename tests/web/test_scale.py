"""The dashboard stays fast with 10 000 assets: every list is one page, never the whole table."""

from __future__ import annotations

import time

from sqlalchemy import insert

from lynkflow import ids
from lynkflow.db.models import Job, UplynkAsset, VisAsset

N_ASSETS = 10_000
N_VIS_ASSETS = 3_000
N_JOBS = 2_000
BUDGET_S = 0.5  # per page on this 2-core machine; measured 2-17 ms (SQLite and PostgreSQL)


def _timed_get(client, path: str) -> tuple[float, str]:
    client.get(path)  # warm caches (templates, statement cache) once
    started = time.perf_counter()
    resp = client.get(path)
    elapsed = time.perf_counter() - started
    assert resp.status_code == 200, resp.text[:500]
    return elapsed, resp.text


def test_pages_with_10k_assets_are_paged_and_fast(client, rows) -> None:
    ctx = client.app.state.ctx
    owner = ctx.settings.uplynk_owner
    event = rows.event(title="Busy event")
    base = 1_700_000_000_000
    with ctx.session() as db:
        db.execute(insert(UplynkAsset), [
            {"id": ids.hex32(), "owner_id": owner, "external_id": f"bulk-{i}", "desc": f"bulk asset {i}",
             "state": "ready", "job_type": "vod", "source": "file", "duration": 12.0, "rays": 4, "slices": 3,
             "audio_only": 0, "meta": {}, "break_offsets": [], "embed_player_id": ids.player_id(),
             "autoexpire": 0, "require_drm": 0, "require_studio_drm": 0, "created": base + i, "lastmod": base + i}
            for i in range(N_ASSETS)])
        db.execute(insert(VisAsset), [
            {"id": ids.guid(), "event_id": event.id, "api_key": event.api_key, "name": f"gif {i}",
             "path": f"{event.content_id}/assets/gif-{i}.gif", "extension": "gif", "state": 1, "type": 3,
             "content_id": event.content_id, "params": {}, "created": base + i, "modified": base + i}
            for i in range(N_VIS_ASSETS)])
        db.execute(insert(Job), [
            {"kind": "vis.gif", "payload": {}, "priority": 5, "state": "done", "attempts": 1, "max_attempts": 2,
             "progress": 100.0, "cancel_requested": False, "run_after": 0.0, "created": base + i}
            for i in range(N_JOBS)])

    timings = {}
    for path in ("/", "/dashboard/assets", "/dashboard/assets?page=200", "/dashboard/events",
                 f"/dashboard/events/{event.id}", f"/dashboard/events/{event.id}?page=60", "/dashboard/jobs",
                 "/dashboard/jobs?page=40", "/dashboard/jobs.json"):
        timings[path], text = _timed_get(client, path)
        if path.startswith("/dashboard/assets"):
            assert text.count('<tr class="asset"') == 50
        if path == "/dashboard/assets":
            assert "bulk asset 9999" in text and "bulk asset 9949" not in text  # newest first
            assert f"page 1 of {N_ASSETS // 50}" in text
        if path == "/dashboard/assets?page=200":
            assert "bulk asset 0<" in text
        if path == "/dashboard/events":
            assert text.count("data-vis-asset-id=") == 6  # previews only
            assert f"all {N_VIS_ASSETS} assets" in text
        if path.startswith(f"/dashboard/events/{event.id}"):
            assert text.count("data-vis-asset-id=") == 50
    print({p: round(t * 1000, 1) for p, t in timings.items()})  # ms per page, shown with -s
    slow = {p: round(t, 3) for p, t in timings.items() if t > BUDGET_S}
    assert not slow, f"pages slower than {BUDGET_S} s with {N_ASSETS} assets: {slow} (all: {timings})"
