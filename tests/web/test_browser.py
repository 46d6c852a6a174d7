"""End to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

One live lynkflow for the module, seeded with a synthetic clip ingested into an Uplynk asset and a
VIS event. The tests use the pages as a person would: thumbnails load, an upload becomes ready, a
GIF requested from an event appears, and the test player's video really plays.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lynkflow.config import DEFAULT_VUFLOW_API_KEY
from lynkflow.testing.server import LynkflowServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="headless tests need Debian's chromium at /usr/bin/chromium "
                                                     "(apt-get install chromium; .ci/run installs it)"),
]

PARTNER = "7061727472657231706172747265723a"
NATURAL_WIDTH_OK = "els => els.length > 0 && els.every(e => e.complete && e.naturalWidth > 0)"


def _wait_jobs_done(base: str, timeout: float = 120.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = httpx.get(f"{base}/dashboard/jobs.json?limit=50").json()["jobs"]
        if jobs and all(j["state"] in ("done", "failed", "cancelled") for j in jobs):
            return jobs
        time.sleep(0.2)
    pytest.fail(f"seeded ingest jobs not finished within {timeout} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, synth_clips: dict[str, Path]) -> Iterator[LynkflowServer]:
    root = tmp_path_factory.mktemp("web-e2e")
    seed = {"format": 1, "uplynk": {"owners": [{"id": PARTNER, "name": "Partner", "api_keys": ["partner-key"]}]},
            "media": [{
        "path": str(synth_clips["bars_640x360_25.mp4"]),
        "uplynk": {"owner": "default", "external_id": "e2e-bars", "desc": "E2E bars"},
        "vis": {"apiKey": "default", "title": "E2E event"},
    }]}
    seed_file = root / "seed.json"
    seed_file.write_text(json.dumps(seed))
    with LynkflowServer(root / "data", env={"LYNKFLOW_SEED_FILE": str(seed_file)}) as srv:
        jobs = _wait_jobs_done(srv.base_url)
        assert [j["state"] for j in jobs] == ["done"], jobs
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def _event_id(base: str) -> str:
    doc = httpx.get(f"{base}/api/event/", headers={"API-KEY": DEFAULT_VUFLOW_API_KEY}).json()
    results = doc.get("results") or doc.get("Results")
    return next(e["id"] for e in results if e["title"] == "E2E event")


def test_dashboard_shows_seeded_assets_with_loaded_thumbnails(server, page) -> None:
    page.goto(f"{server.base_url}/")
    row = page.locator("tr.asset", has_text="E2E bars")
    assert row.get_attribute("data-state") == "ready"
    page.wait_for_function(f"({NATURAL_WIDTH_OK})([...document.querySelectorAll('tr.asset img.thumb')])")
    # The event's SYSTEM thumbnail and the recording are shown too.
    page.wait_for_function(f"({NATURAL_WIDTH_OK})([...document.querySelectorAll('#events figure img')])")
    page.goto(f"{server.base_url}/dashboard/assets")
    widths = page.eval_on_selector_all("tr.asset img.thumb", "els => els.map(e => e.naturalWidth)")
    assert widths and all(w > 0 for w in widths), widths


def test_upload_a_file_and_watch_it_become_ready(server, page, synth_clips) -> None:
    page.goto(f"{server.base_url}/")
    page.set_input_files("#upload-form input[name=file]", str(synth_clips["bars_320x240_24_noaudio.mp4"]))
    page.select_option("#upload-form select[name=target]", "both")
    page.fill("#upload-form input[name=desc]", "Uploaded in the browser")
    page.click("#upload-form button[type=submit]")
    # Progress shows while the job runs; then the status turns to ready with links.
    page.wait_for_selector("#upload-ready", timeout=90_000)
    assert page.locator("#upload-status").get_attribute("data-job-state") == "done"
    # The overview's lists show the new asset and event without a reload.
    row = page.locator("#owners tr.asset", has_text="Uploaded in the browser")
    row.wait_for(timeout=10_000)
    assert row.get_attribute("data-state") == "ready"
    page.locator("#events .event-summary", has_text="Uploaded in the browser").wait_for(timeout=10_000)
    page.click("#upload-player")
    page.wait_for_function("document.getElementById('player') && document.getElementById('player').currentTime > 0.5")
    assert "Uploaded in the browser" in page.locator("h1").inner_text()
    page.goto(f"{server.base_url}/dashboard/assets")
    row = page.locator("tr.asset", has_text="Uploaded in the browser")
    assert row.get_attribute("data-state") == "ready"
    assert row.locator("img.thumb").evaluate("e => e.naturalWidth") > 0
    page.goto(f"{server.base_url}/dashboard/events")
    assert page.locator("section.event", has_text="Uploaded in the browser").count() == 1


def test_upload_for_another_owner_from_that_owners_page(server, page, synth_clips) -> None:
    page.goto(f"{server.base_url}/dashboard/assets?owner={PARTNER}")
    page.click("#upload-for-owner")
    assert page.locator("#upload-form select[name=owner]").input_value() == PARTNER
    page.set_input_files("#upload-form input[name=file]", str(synth_clips["bars_320x240_24_noaudio.mp4"]))
    page.select_option("#upload-form select[name=target]", "uplynk")
    page.fill("#upload-form input[name=desc]", "For the partner")
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-ready", timeout=90_000)
    page.goto(f"{server.base_url}/dashboard/assets?owner={PARTNER}")
    assert page.locator("tr.asset", has_text="For the partner").get_attribute("data-state") == "ready"


# Every caption item lies inside its tile, and no caption has a "·" separator (a narrow tile wrapped
# "SYSTEM · COMPLETED" after the dot, leaving "SYSTEM ·" alone on a line; the items are laid out apart now).
TILES_FIT = """figs => figs.length > 0 && figs.every(f => {
  const box = f.getBoundingClientRect();
  const inside = [...f.querySelectorAll('figcaption *')].every(e => {
    const r = e.getBoundingClientRect();
    return r.width === 0 || (r.left >= box.left - 0.5 && r.right <= box.right + 0.5);
  });
  return inside && !f.querySelector('figcaption').textContent.includes('·');
})"""


def test_vis_tiles_fit_their_cards_and_videos_have_posters(server, page) -> None:
    for path in ("/", f"/dashboard/events/{_event_id(server.base_url)}"):
        page.goto(f"{server.base_url}{path}")
        figures = "[...document.querySelectorAll('figure.tile')]"
        # The recording's SYSTEM asset is named by a GUID: the longest unbroken name there is.
        assert page.evaluate(f"({TILES_FIT})({figures})"), path
        video = page.locator("figure.tile[data-type=SYSTEM] video").first
        poster = video.get_attribute("poster")
        assert poster and poster.endswith("/vod/thumbnail.jpg"), poster
        image = httpx.get(f"{server.base_url}{poster}")
        assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"  # a JPEG


def test_request_a_gif_from_an_event_and_see_it_appear(server, page) -> None:
    event_id = _event_id(server.base_url)
    page.goto(f"{server.base_url}/dashboard/events/{event_id}")
    gifs_before = page.locator("#event-assets figure[data-type=GIF]").count()
    page.select_option("#asset-form select[name=type]", "gif")
    page.fill("#asset-form input[name=name]", "Browser GIF")
    page.fill("#asset-form input[name=start]", "1")
    page.fill("#asset-form input[name=end]", "2.5")
    page.fill("#asset-form input[name=width]", "240")
    page.click("#asset-form button[type=submit]")
    page.wait_for_selector("#asset-ready", timeout=90_000)
    tile = page.locator("#event-assets figure[data-type=GIF]", has_text="Browser GIF")
    assert tile.get_attribute("data-state") == "COMPLETED"
    img = tile.locator("img")
    page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("e => e.naturalWidth") == 240
    assert img.get_attribute("src").endswith(".gif")
    assert page.locator("#event-assets figure[data-type=GIF]").count() == gifs_before + 1
    # The same asset through the VIS API: completed, and a real GIF at its URL.
    gif = httpx.get(f"{server.base_url}{img.get_attribute('src')}")
    assert gif.status_code == 200 and gif.content[:6] in (b"GIF89a", b"GIF87a")


@pytest.mark.parametrize("source", ["", "mp4"])
def test_test_player_plays_past_one_second(server, page, source: str) -> None:
    page.goto(f"{server.base_url}/dashboard/assets")
    href = page.locator("tr.asset", has_text="E2E bars").locator("a", has_text="test player").get_attribute("href")
    page.goto(f"{server.base_url}{href}" + (f"?source={source}" if source else ""))
    page.wait_for_function("document.getElementById('player').currentTime > 1", timeout=30_000)
    used = page.locator("#player").get_attribute("data-source")
    native_hls = page.evaluate("document.createElement('video').canPlayType('application/vnd.apple.mpegurl') !== ''")
    assert used == (source or ("hls" if native_hls else "mp4"))
    level = page.locator("#player").get_attribute("data-level")
    height = page.evaluate("document.getElementById('player').videoHeight")
    if used == "hls":
        # A 540 px high player needs more than the 360p clip has: the highest rendition, not the lowest.
        assert (level, page.locator("#player").get_attribute("data-levels"), height) == ("360", "360,234", 360)
    else:
        assert level == "mp4" and height == 360  # the MP4 is the highest rendition
    assert page.locator("#player").get_attribute("poster")
    page.wait_for_function(f"({NATURAL_WIDTH_OK})([...document.querySelectorAll('#thumbs img')].slice(0, 3))")
    # The embed player URL listed on the page is a bare player that plays too.
    embed = page.locator("#embed-link").get_attribute("href")
    page.set_viewport_size({"width": 356, "height": 200})  # a small embed needs only the small rendition
    page.goto(f"{server.base_url}{embed}" + (f"?source={source}" if source else ""))
    assert page.locator("body.embed").count() == 1 and page.locator("#thumbs").count() == 0
    page.wait_for_function("document.getElementById('player').currentTime > 1", timeout=30_000)
    if used == "hls":
        assert page.locator("#player").get_attribute("data-level") == "234"
        assert page.evaluate("document.getElementById('player').videoHeight") == 234
