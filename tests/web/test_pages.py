"""The dashboard pages as a client sees them: empty data dir, real rows, failures, deletions."""

from __future__ import annotations

import html
import re

import pytest

PAGES = ["/", "/dashboard/assets", "/dashboard/events", "/dashboard/jobs", "/dashboard/journal",
         "/dashboard/assets?deleted=true", "/dashboard/events?deleted=true", "/dashboard/jobs?state=failed"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_an_empty_data_dir(client, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert 'class="empty"' in resp.text  # an empty state, not an empty table


def test_empty_jobs_json(client) -> None:
    resp = client.get("/dashboard/jobs.json")
    assert resp.status_code == 200
    doc = resp.json()
    assert doc["jobs"] == []
    assert doc["counts"] == {s: 0 for s in ("queued", "running", "held", "done", "failed", "cancelled")}


def test_overview_shows_the_configured_credentials(client) -> None:
    s = client.app.state.ctx.settings
    page = client.get("/").text
    for value in (s.uplynk_owner, s.uplynk_api_key, s.vuflow_api_key):
        assert value in page


def test_signed_example_on_the_overview_is_accepted_by_api2(client) -> None:
    """The curl line's msg and sig, pasted as they are, make a call the api2 face accepts."""
    page = html.unescape(client.get("/").text)
    msg = re.search(r"msg=([A-Za-z0-9+/=]+)", page).group(1)
    sig = re.search(r"sig=([0-9a-f]{64})", page).group(1)
    resp = client.post("/api2/asset/list", data={"msg": msg, "sig": sig})
    assert resp.status_code == 200
    doc = resp.json()
    assert doc.get("error", 0) == 0, doc
    # A tampered signature is refused, so the check above means something.
    bad = client.post("/api2/asset/list", data={"msg": msg, "sig": "0" * 64}).json()
    assert bad.get("error") == 1


def test_assets_page_shows_state_duration_rays_slices_and_thumbnail(client, rows) -> None:
    media = rows.media(thumbs=20)
    asset = rows.asset(desc="Bars at noon", media=media)
    page = client.get("/dashboard/assets").text
    row = re.search(rf'<tr class="asset" data-asset-id="{asset.id}".*?</tr>', page, re.S).group(0)
    assert 'data-state="ready"' in row
    assert "0:10.0" in row and ">1<" in row and ">3<" in row
    thumb = re.search(r'<img class="thumb" src="([^"]+)"', row).group(1)
    assert thumb == f"/storage/{media.output_dir}/thumbs/00002.png"  # about 10 % in
    got = client.get(thumb)
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert f"/player5/{rows.player_of(asset)}.html" in row and f"/player5/{asset.embed_player_id}.html" in row


def test_failed_job_and_failed_asset_show_their_reasons(client, rows) -> None:
    asset = rows.asset(desc="Broken upload", state="error", error="source has no video stream")
    job = rows.job(state="failed", error="source has no video stream", payload={"uplynk_asset_id": asset.id})
    overview = client.get("/").text
    assert "source has no video stream" in overview
    jobs = client.get("/dashboard/jobs?state=failed").text
    assert f'data-job-id="{job.id}" data-state="failed"' in jobs
    assert "source has no video stream" in jobs
    doc = client.get(f"/dashboard/jobs.json?limit=0&ids={job.id}").json()
    assert [j["id"] for j in doc["jobs"]] == [job.id]
    assert doc["jobs"][0]["lastError"] == "source has no video stream"
    assert doc["jobs"][0]["uplynkAssetId"] == asset.id
    assert doc["counts"]["failed"] == 1
    player = client.get(f"/player5/{rows.player_of(asset)}.html")
    assert player.status_code == 200
    assert 'id="not-playable"' in player.text and "source has no video stream" in player.text


def test_jobs_json_refuses_bad_ids(client) -> None:
    resp = client.get("/dashboard/jobs.json?ids=1,two")
    assert resp.status_code == 400
    assert "job numbers" in resp.json()["error"]


def test_deleted_asset_is_hidden_listed_on_request_and_its_player_is_gone(client, rows) -> None:
    media = rows.media()
    live = rows.asset(desc="Still here", media=media)
    gone = rows.asset(desc="Deleted one", media=media, deleted=True)
    page = client.get("/dashboard/assets").text
    assert live.id in page and gone.id not in page
    deleted_page = client.get("/dashboard/assets?deleted=true").text
    assert gone.id in deleted_page and live.id not in deleted_page
    assert "state-deleted" in deleted_page
    for pid in (rows.player_of(gone), gone.embed_player_id, gone.id):
        resp = client.get(f"/player5/{pid}.html")
        assert resp.status_code == 404
        assert "was deleted" in resp.text


def test_asset_whose_media_files_are_missing_still_renders(client, rows) -> None:
    media = rows.media(with_files=False)
    asset = rows.asset(desc="Files gone", media=media)
    assert client.get("/dashboard/assets").status_code == 200
    resp = client.get(f"/player5/{asset.id}.html")
    assert resp.status_code == 200  # the page itself; the browser shows the broken media


def test_player_resolves_test_embed_and_asset_ids(client, rows) -> None:
    media = rows.media(thumbs=4)
    asset = rows.asset(desc="Playable", media=media)
    test_page = client.get(f"/player5/{rows.player_of(asset)}.html").text
    assert 'id="player"' in test_page
    assert f'data-mp4="/storage/{media.output_dir}/download.mp4"' in test_page
    assert f'data-hls="/{asset.id}.m3u8"' in test_page  # the Uplynk-style playback URL
    assert f'poster="/storage/{media.output_dir}/poster.png"' in test_page
    assert test_page.count('alt="thumbnail ') == 4
    assert asset.id in test_page
    embed_page = client.get(f"/player5/{asset.embed_player_id}.html").text
    assert 'id="player"' in embed_page and 'class="embed"' in embed_page
    assert 'id="thumbs"' not in embed_page  # the bare player
    assert 'id="player"' in client.get(f"/player5/{asset.id.upper()}.html").text


def test_unknown_player_id_is_a_404_page(client) -> None:
    resp = client.get("/player5/nosuchplayer.html")
    assert resp.status_code == 404
    assert "There is no test player, embed player or asset" in resp.text


def test_slicing_asset_player_says_so(client, rows) -> None:
    asset = rows.asset(desc="Coming", state="slicing")
    page = client.get(f"/player5/{asset.id}.html").text
    assert 'id="not-playable"' in page and "slicing" in page


def test_events_show_assets_by_kind_and_failures(client, rows) -> None:
    event = rows.event(title="Match day")
    rows.vis_asset(event, name="goal", ext="gif", type_=3)
    rows.vis_asset(event, name="still", ext="jpg", type_=1)
    rows.vis_asset(event, name="replay", ext="mp4", type_=2)
    rows.vis_asset(event, name="broken", ext="gif", type_=3, state=2, failure="end is beyond the recording")
    failed = rows.event(title="Bad upload", state=16, extra={"lynkflowIngestError": "not a media file"})
    listing = client.get("/dashboard/events").text
    assert "Match day" in listing and "Bad upload" in listing and "not a media file" in listing
    page = client.get(f"/dashboard/events/{event.id}").text
    assert f'<img src="/storage/vis/{event.content_id}/assets/goal.gif"' in page
    assert f'<img src="/storage/vis/{event.content_id}/assets/still.jpg"' in page
    assert f'<video src="/storage/vis/{event.content_id}/assets/replay.mp4"' in page
    assert "end is beyond the recording" in page
    assert 'id="asset-form"' in page and f'data-api-key="{event.api_key}"' in page
    bad = client.get(f"/dashboard/events/{failed.id}").text
    assert 'id="asset-form"' not in bad and "not a media file" in bad
    fragment = client.get(f"/dashboard/events/{event.id}/assets")
    assert fragment.status_code == 200 and "<html" not in fragment.text and "goal.gif" in fragment.text


def test_deleted_and_unknown_events(client, rows) -> None:
    gone = rows.event(title="Removed event", deleted=True)
    assert "Removed event" not in client.get("/dashboard/events").text
    assert "Removed event" in client.get("/dashboard/events?deleted=true").text
    page = client.get(f"/dashboard/events/{gone.id}")
    assert page.status_code == 200 and "was deleted" in page.text and 'id="asset-form"' not in page.text
    missing = client.get("/dashboard/events/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert client.get("/dashboard/events/nope/assets").status_code == 404


def test_journal_lists_api_requests(client, vis_headers) -> None:
    assert client.get("/api/event/", headers=vis_headers).status_code == 200
    client.get("/api/event/", headers={"API-KEY": "wrong"})
    page = client.get("/dashboard/journal").text
    assert page.count("<td class=\"mono\">/api/event/</td>") == 2
    assert "status-4xx" in page
    assert "/api/event/" in client.get("/").text
    only_uplynk = client.get("/dashboard/journal?api=uplynk").text
    assert "/api/event/" not in only_uplynk


def test_unknown_owner_is_a_404_page(client) -> None:
    resp = client.get("/dashboard/assets?owner=ffffffffffffffffffffffffffffffff")
    assert resp.status_code == 404 and "no Uplynk owner" in resp.text


def test_static_files_and_no_escape(client) -> None:
    css = client.get("/dashboard/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/dashboard/static/dashboard.js").headers["content-type"].startswith("text/javascript")
    for bad in ("../routes.py", "..%2Froutes.py", "%2e%2e/templating.py", "nope.css"):
        assert client.get(f"/dashboard/static/{bad}").status_code == 404


def test_text_is_escaped(client, rows) -> None:
    rows.asset(desc="<script>alert(1)</script>")
    page = client.get("/dashboard/assets").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_paging_past_the_end_shows_the_last_page(client, rows) -> None:
    for i in range(3):
        rows.asset(desc=f"asset {i}", created=1_000_000 + i)
    page = client.get("/dashboard/assets?page=99").text
    assert page.count('<tr class="asset"') == 3
    assert client.get("/dashboard/assets?page=0").status_code == 422
