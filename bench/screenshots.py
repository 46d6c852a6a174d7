"""Screenshots of the dashboard's main pages for the README, taken in headless Chromium.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots] [--base-url http://127.0.0.1:8080]

Without --base-url it starts its own lynkflow (demo seed, fresh data dir), waits for the seeded
media to be ingested, requests a GIF and an MP4 clip (with a long file name, as real ones have) from
the demo event so the event page has user assets, and saves dashboard.png, assets.png, owner.png
(the partner owner's page), event.png, player.png and jobs.png. Needs /usr/bin/chromium
(Debian's package) and the `playwright` Python package; never downloads a browser.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lynkflow.config import DEFAULT_VUFLOW_API_KEY  # noqa: E402
from lynkflow.testing.server import LynkflowServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
PARTNER_OWNER = "7061727472657231706172747265723a"  # fixtures/demo/seed.json
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def wait_jobs_done(base: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = httpx.get(f"{base}/dashboard/jobs.json?limit=50").json()["jobs"]
        if jobs and all(j["state"] in ("done", "failed", "cancelled") for j in jobs):
            return
        time.sleep(0.5)
    raise SystemExit(f"jobs still running after {timeout} s")


def first_event(base: str) -> dict:
    events = httpx.get(f"{base}/api/event/", headers={"API-KEY": DEFAULT_VUFLOW_API_KEY}).json()
    results = events.get("results") or events.get("Results") or []
    if not results:
        raise SystemExit("the demo seed made no VIS event")
    return results[0]


def shoot(base: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    event = first_event(base)
    gif = httpx.post(f"{base}/api/asset/gif/", headers={"API-KEY": DEFAULT_VUFLOW_API_KEY},
                     json={"clip": {"eventId": event["id"], "start": "00:00:01", "end": "00:00:03"},
                           "name": "Two seconds of bars", "filename": f"bars-{int(time.time())}", "fps": 12,
                           "width": 320})
    gif.raise_for_status()
    clip = httpx.post(f"{base}/api/asset/video/", headers={"API-KEY": DEFAULT_VUFLOW_API_KEY},
                      json={"clip": {"eventId": event["id"], "start": "00:00:02", "end": "00:00:04"},
                            "name": "Highlight clip", "filename": f"match-highlight-second-half-{int(time.time())}"})
    clip.raise_for_status()
    wait_jobs_done(base)
    httpx.get(f"{base}/api/event/{event['id']}", headers={"API-KEY": DEFAULT_VUFLOW_API_KEY})  # journal
    saved: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(f"{base}/dashboard/assets")
        player_path = page.locator("tr.asset a[href^='/player5/']").first.get_attribute("href")
        shots = [("dashboard.png", "/"), ("assets.png", "/dashboard/assets"),
                 ("owner.png", f"/dashboard/assets?owner={PARTNER_OWNER}"),
                 ("event.png", f"/dashboard/events/{event['id']}"), ("jobs.png", "/dashboard/jobs"),
                 ("player.png", player_path)]
        for name, path in shots:
            page.goto(f"{base}{path}", wait_until="networkidle")
            if name == "player.png":  # playing the rendition it chose for the window (data-level)
                page.wait_for_function("document.getElementById('player').currentTime > 1.5", timeout=20000)
                page.evaluate("document.getElementById('player').pause()")
            target = out / name
            page.screenshot(path=str(target), full_page=name != "player.png")
            saved.append(target)
        browser.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--base-url", help="an already running lynkflow (default: start one with the demo seed)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    if args.base_url:
        saved = shoot(args.base_url.rstrip("/"), args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp, LynkflowServer(
                Path(tmp) / "data", env={"LYNKFLOW_SEED_FILE": str(REPO / "fixtures" / "demo" / "seed.json")}
        ) as server:
            wait_jobs_done(server.base_url)
            saved = shoot(server.base_url, args.out)
    for path in saved:
        print(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
